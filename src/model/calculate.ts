import { Decimal, ONE_HUNDREDTH, amountText, dec, decShared, roundAmount, sum } from './decimal.js';
import type { CalculatedInvoice, DocumentTotals, Invoice, InvoiceLine, LineAllowanceCharge, VatBreakdown, VatCategory } from './invoice.js';

const ZERO = new Decimal(0);
/** Categories whose VAT amount is always zero (EN 16931 BR-Z/E/AE/K/G/O-09). */
const ZERO_TAX_CATEGORIES: ReadonlySet<VatCategory> = new Set(['Z', 'E', 'AE', 'K', 'G', 'O']);

/** Exemption reasons used when the invoice gives none (EN 16931 requires one for these categories). */
const DEFAULT_EXEMPTIONS: Partial<Record<VatCategory, { reason: string; reasonCode: string }>> = {
  AE: { reason: 'Reverse charge', reasonCode: 'VATEX-EU-AE' },
  K: { reason: 'Intra-Community supply', reasonCode: 'VATEX-EU-IC' },
  G: { reason: 'Export outside the EU', reasonCode: 'VATEX-EU-G' },
  O: { reason: 'Not subject to VAT', reasonCode: 'VATEX-EU-O' },
  E: { reason: 'Exempt from VAT', reasonCode: 'VATEX-EU-132' },
};

/** Amount of one line allowance or charge: given, or percentage × base. */
function allowanceChargeAmount(ac: { amount: string; baseAmount?: string; percentage?: string }): Decimal {
  if (ac.amount !== '') return roundAmount(dec(ac.amount));
  return roundAmount(
    dec(ac.baseAmount ?? '0')
      .times(dec(ac.percentage ?? '0'))
      .div(100),
  );
}

/** BT-131: quantity × (net price ÷ base quantity) + charges − allowances, rounded to 2 decimals. */
export function lineNetAmount(line: InvoiceLine): Decimal {
  let net = dec(line.quantity).times(decShared(line.netPrice));
  if (line.baseQuantity !== undefined && line.baseQuantity !== '1') {
    const base = dec(line.baseQuantity);
    if (!base.eq(0)) net = net.div(base);
  }
  if (line.allowanceCharges) for (const ac of line.allowanceCharges) net = applyAllowanceCharge(net, ac);
  return roundAmount(net);
}

function applyAllowanceCharge(net: Decimal, ac: LineAllowanceCharge): Decimal {
  const amount = allowanceChargeAmount(ac);
  return ac.charge ? net.plus(amount) : net.minus(amount);
}

const normalRates = new Map<string, string>();
/** A rate in one text form ("21.00" and "21" are the same rate), cached: a file repeats a few rates. */
function normalRate(rate: string): string {
  let normal = normalRates.get(rate);
  if (normal === undefined) {
    normal = decShared(rate).toFixed();
    if (normalRates.size < 1000) normalRates.set(rate, normal);
  }
  return normal;
}

/** Key for grouping by VAT category and rate: "S|21". */
function vatKey(category: VatCategory, rate: string | undefined): string {
  return `${category}|${rate === undefined ? '' : normalRate(rate)}`;
}

/** Compute line amounts, the VAT breakdown (BG-23) and the document totals (BG-22); line net amounts are set in place. */
export function calculateInvoice(invoice: Invoice): CalculatedInvoice {
  const groups = new Map<string, { category: VatCategory; rate?: string; taxable: Decimal }>();
  const addToGroup = (category: VatCategory, rate: string | undefined, amount: Decimal): void => {
    const key = vatKey(category, rate);
    const group = groups.get(key);
    if (group) group.taxable = group.taxable.plus(amount);
    else groups.set(key, { category, rate: rate === undefined ? undefined : normalRate(rate), taxable: amount });
  };

  // Lines are completed in place rather than copied: a bulk file holds millions of them, and the
  // amounts a source declared were compared by checkInvoice before this runs.
  let lineNet = ZERO;
  const lines = invoice.lines as (InvoiceLine & { netAmount: string })[];
  for (const line of lines) {
    const computed = lineNetAmount(line);
    lineNet = lineNet.plus(computed);
    addToGroup(line.vatCategory, line.vatRate, computed);
    line.netAmount = amountText(computed);
  }

  let allowanceTotal = ZERO;
  let chargeTotal = ZERO;
  for (const ac of invoice.allowanceCharges ?? []) {
    const amount = allowanceChargeAmount(ac);
    if (ac.charge) chargeTotal = chargeTotal.plus(amount);
    else allowanceTotal = allowanceTotal.plus(amount);
    addToGroup(ac.vatCategory, ac.vatRate, ac.charge ? amount : amount.neg());
  }

  const vatBreakdown: VatBreakdown[] = [...groups.values()].map((g) => {
    const taxable = roundAmount(g.taxable);
    const tax = ZERO_TAX_CATEGORIES.has(g.category) || g.rate === undefined ? ZERO : roundAmount(taxable.times(decShared(g.rate)).times(ONE_HUNDREDTH));
    const exemption = invoice.vatExemptions?.find((e) => e.category === g.category) ?? DEFAULT_EXEMPTIONS[g.category];
    return {
      category: g.category,
      ...(g.rate !== undefined ? { rate: g.rate } : {}),
      taxableAmount: amountText(taxable),
      taxAmount: amountText(tax),
      ...(exemption?.reason ? { exemptionReason: exemption.reason } : {}),
      ...(exemption?.reasonCode ? { exemptionReasonCode: exemption.reasonCode } : {}),
    };
  });

  const taxExclusive = lineNet.minus(allowanceTotal).plus(chargeTotal);
  const taxAmount = sum(vatBreakdown.map((b) => dec(b.taxAmount)));
  const taxInclusive = taxExclusive.plus(taxAmount);
  const prepaid = invoice.prepaidAmount ? roundAmount(dec(invoice.prepaidAmount)) : ZERO;
  const rounding = invoice.roundingAmount ? roundAmount(dec(invoice.roundingAmount)) : ZERO;
  const totals: DocumentTotals = {
    lineNetAmount: amountText(lineNet),
    allowanceTotal: amountText(allowanceTotal),
    chargeTotal: amountText(chargeTotal),
    taxExclusiveAmount: amountText(taxExclusive),
    taxAmount: amountText(taxAmount),
    taxInclusiveAmount: amountText(taxInclusive),
    prepaidAmount: amountText(prepaid),
    roundingAmount: amountText(rounding),
    payableAmount: amountText(taxInclusive.minus(prepaid).plus(rounding)),
  };
  return { ...invoice, lines, vatBreakdown, totals };
}
