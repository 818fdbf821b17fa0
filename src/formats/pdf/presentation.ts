import { formatDecimal, formatMoney } from '../../model/display.js';
import { isCreditNote, type CalculatedInvoice } from '../../model/invoice.js';
import { fill, LABELS, type Labels } from './labels.js';

/** Units as people say them on an invoice; a code without a name here is shown as it is. */
const UNIT_NAMES: Record<string, { nl: string; en: string }> = {
  C62: { nl: 'st', en: 'pcs' },
  H87: { nl: 'st', en: 'pcs' },
  EA: { nl: 'st', en: 'ea' },
  KGM: { nl: 'kg', en: 'kg' },
  GRM: { nl: 'g', en: 'g' },
  HUR: { nl: 'uur', en: 'hr' },
  MIN: { nl: 'min', en: 'min' },
  XBX: { nl: 'doos', en: 'box' },
  XPK: { nl: 'pak', en: 'pack' },
  XPA: { nl: 'pak', en: 'pack' },
  MTR: { nl: 'm', en: 'm' },
  MTK: { nl: 'm²', en: 'm²' },
  MTQ: { nl: 'm³', en: 'm³' },
  KMT: { nl: 'km', en: 'km' },
  LTR: { nl: 'l', en: 'l' },
  DAY: { nl: 'dag', en: 'day' },
  WEE: { nl: 'week', en: 'week' },
  MON: { nl: 'mnd', en: 'month' },
  ANN: { nl: 'jaar', en: 'year' },
  LS: { nl: 'post', en: 'lump sum' },
  KWH: { nl: 'kWh', en: 'kWh' },
};

/** A unit code (UN/ECE Rec. 20) as a reader says it: "kg", "st", "uur". */
export function unitName(code: string, language: 'nl' | 'en'): string {
  return UNIT_NAMES[code]?.[language] ?? code;
}

/** One invoice line as the reader sees it: its texts (name, description, each discount or charge) and formatted figures. */
export interface PresentedLine {
  id: string;
  texts: string[];
  quantity: string;
  unit: string;
  price: string;
  vat: string;
  amount: string;
}

/** One row under the lines: a label and its amount; `strong` rows are the totals a reader looks for. */
export interface TotalRow {
  label: string;
  amount: string;
  strong: boolean;
}

/** What a reader sees of an invoice: its kind, its lines and the rows from the subtotal to what is due. */
export interface Presentation {
  title: string;
  lines: PresentedLine[];
  totals: TotalRow[];
}

function presentLine(line: CalculatedInvoice['lines'][number], language: 'nl' | 'en', l: Labels, money: (v: string) => string): PresentedLine {
  return {
    id: line.id,
    texts: [
      line.itemName,
      line.description,
      ...(line.allowanceCharges ?? []).map(
        (ac) =>
          `${ac.charge ? l.charge : l.discount}${ac.percentage ? ` ${formatDecimal(ac.percentage, language, 0)}%` : ''}: ${money(ac.amount)}${ac.reason && !/^(korting|toeslag|discount|charge)$/i.test(ac.reason) ? ` (${ac.reason})` : ''}`,
      ),
    ].filter((t): t is string => Boolean(t)),
    quantity: formatDecimal(line.quantity, language, 0),
    unit: unitName(line.unitCode, language),
    price: formatDecimal(line.netPrice, language, 2),
    vat: line.vatCategory === 'S' || line.vatCategory === 'Z' ? `${formatDecimal(line.vatRate ?? '0', language, 0)}%` : line.vatCategory,
    amount: formatDecimal(line.netAmount, language, 2),
  };
}

/**
 * The invoice as the PDF shows it, in the PDF's order: lines, then subtotal, document charges and
 * allowances, total excluding VAT, VAT per rate, total including VAT, what was paid already, and
 * what is due (or credited). The PDF and the console both draw it from here, so they cannot differ.
 */
export function present(inv: CalculatedInvoice, language: 'nl' | 'en'): Presentation {
  const l = LABELS[language];
  const money = (v: string): string => formatMoney(v, inv.currency, language);
  const isQuote = inv.kind === 'quote';
  const isCredit = isCreditNote(inv);
  const totals: TotalRow[] = [{ label: l.subtotal, amount: money(inv.totals.lineNetAmount), strong: false }];
  for (const ac of inv.allowanceCharges ?? [])
    totals.push({ label: `${ac.reason ?? (ac.charge ? l.charge : l.discount)}`, amount: money(ac.charge ? ac.amount : `-${ac.amount}`), strong: false });
  totals.push({ label: l.totalExcl, amount: money(inv.totals.taxExclusiveAmount), strong: false });
  for (const b of inv.vatBreakdown) {
    const label =
      b.category === 'S' || b.category === 'Z'
        ? fill(l.vatOn, { rate: formatDecimal(b.rate ?? '0', language, 0), base: money(b.taxableAmount) })
        : fill(l.vatCategory, { category: l[`cat${b.category}` as keyof Labels] ?? b.category, base: money(b.taxableAmount) });
    totals.push({ label, amount: money(b.taxAmount), strong: false });
  }
  totals.push({ label: l.totalIncl, amount: money(inv.totals.taxInclusiveAmount), strong: true });
  if (inv.totals.prepaidAmount !== '0.00') totals.push({ label: l.paid, amount: money(`-${inv.totals.prepaidAmount}`), strong: false });
  if (!isQuote) totals.push({ label: isCredit ? l.credited : l.due, amount: money(inv.totals.payableAmount), strong: true });
  return {
    title: isQuote ? l.quote : isCredit ? l.creditNote : l.invoice,
    lines: inv.lines.map((line) => presentLine(line, language, l, money)),
    totals,
  };
}
