import iconv from 'iconv-lite';
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { dec } from '../../model/decimal.js';
import { isCreditNote, type CalculatedInvoice } from '../../model/invoice.js';
import { BATCHED_FORMATS, type BatchedFormat } from '../batched.js';
import { outputFormat } from '../../kinds/formats.js';
import { bookingLines, debtorCodeOf, ExportError, periodOf, type AdministrationConfig, type BookingLine } from './admin.js';
import { lineBreaks, literal } from '../text.js';

/** The accounting formats. */
export type AccountingFormat = BatchedFormat;
export const ACCOUNTING_FORMATS = BATCHED_FORMATS;

/** What accounting checks after the import: counts, totals per VAT code, the invoice number range. */
export interface BatchSummary {
  format: AccountingFormat;
  administration: string;
  entries: number;
  firstInvoice: string;
  lastInvoice: string;
  perVatCode: Record<string, { base: string; vat: string }>;
  totalExclVat: string;
  totalVat: string;
}

/** One import file: its content and summary. */
export interface ImportFile {
  extension: string;
  content: Buffer;
  summary: BatchSummary;
}

/** What a batch needs to know about the administration. */
export interface BatchContext {
  name: string;
  admin: AdministrationConfig;
  /** customer key → debtor code */
  debtorCodes: Record<string, string | undefined>;
}

const isCredit = (inv: CalculatedInvoice) => isCreditNote(inv);
/** Signed for the package: an invoice's revenue is a credit, a credit note's a debit. */
const signed = (amount: string, credit: boolean) => (credit ? amount : dec(amount).neg().toFixed(2));

function summarise(format: AccountingFormat, ctx: BatchContext, entries: { invoice: CalculatedInvoice; lines: BookingLine[] }[]): BatchSummary {
  const per: Record<string, { base: ReturnType<typeof dec>; vat: ReturnType<typeof dec> }> = {};
  let excl = dec('0');
  let vat = dec('0');
  for (const { invoice, lines } of entries) {
    const sign = isCredit(invoice) ? -1 : 1;
    for (const l of lines) {
      const slot = (per[l.vatCode] ??= { base: dec('0'), vat: dec('0') });
      const a = dec(l.amount).times(sign);
      const v = dec(l.vatAmount).times(sign);
      slot.base = slot.base.plus(a);
      slot.vat = slot.vat.plus(v);
      excl = excl.plus(a);
      vat = vat.plus(v);
    }
  }
  const numbers = entries.map((e) => e.invoice.number ?? '').sort();
  return {
    format,
    administration: ctx.name,
    entries: entries.length,
    firstInvoice: numbers[0] ?? '',
    lastInvoice: numbers[numbers.length - 1] ?? '',
    perVatCode: Object.fromEntries(
      Object.entries(per)
        .sort()
        .map(([code, t]) => [code, { base: t.base.toFixed(2), vat: t.vat.toFixed(2) }]),
    ),
    totalExclVat: excl.toFixed(2),
    totalVat: vat.toFixed(2),
  };
}

function entriesOf(invoices: CalculatedInvoice[], ctx: BatchContext): { invoice: CalculatedInvoice; lines: BookingLine[]; debtor: string }[] {
  return invoices.map((invoice) => {
    if (invoice.currency !== 'EUR')
      throw new ExportError(
        `invoice ${invoice.number}: currency ${invoice.currency}; the import files are written in EUR only (foreign-currency bookings need the exchange rate of the administration)`,
        { field: 'currency' },
        invoice.number,
      );
    return { invoice, lines: bookingLines(invoice, ctx.admin, ctx.name), debtor: debtorCodeOf(invoice, ctx.debtorCodes) };
  });
}

/**
 * An eExact file written one entry at a time: each entry is built, serialised and removed again, so a
 * batch of 10,000 invoices never sits in memory as one DOM (that took 1.5 GB).
 */
function eExactFile<T>(schema: string, listName: string, entries: T[], write: (parent: XMLBuilder, entry: T) => void): string {
  const holder = create().ele('holder');
  const items = entries.map((entry) => {
    write(holder, entry);
    const node = holder.first();
    const text = node.toString({ prettyPrint: true, offset: 2 });
    node.remove();
    return text;
  });
  const list = items.length ? `  <${listName}>\n${items.join('\n')}\n  </${listName}>` : `  <${listName}/>`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<eExact xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="${schema}">\n${list}\n</eExact>`;
}

/** Exact Online eExact XML, topic GLTransactions: sales entries (20) and sales credit notes (21). */
export function exactOnlineXml(invoices: CalculatedInvoice[], ctx: BatchContext): ImportFile {
  const entries = entriesOf(invoices, ctx);
  const xml = eExactFile('eExact-XML.xsd', 'GLTransactions', entries, (parent, { invoice, lines, debtor }) => {
    const credit = isCredit(invoice);
    const { year, period } = periodOf(ctx.admin, invoice.issueDate);
    const tx = parent.ele('GLTransaction');
    tx.ele('TransactionType', { number: credit ? '21' : '20' });
    tx.ele('Journal', { code: ctx.admin.journal });
    tx.ele('Date').txt(literal(invoice.issueDate));
    tx.ele('FinYear', { number: String(year) });
    tx.ele('FinPeriod', { number: String(period) });
    tx.ele('Description').txt(literal(`${credit ? 'Creditnota' : 'Factuur'} ${invoice.number} ${invoice.buyer.name}`.slice(0, 255)));
    lines.forEach((l, i) => {
      const line = tx.ele('GLTransactionLine', { type: credit ? '21' : '20', line: String(i + 1), status: '20' });
      line.ele('Date').txt(literal(invoice.issueDate));
      line.ele('FinYear', { number: String(year) });
      line.ele('FinPeriod', { number: String(period) });
      line.ele('GLAccount', { code: l.account });
      line.ele('Description').txt(literal(lineBreaks(l.description, ' ').slice(0, 255)));
      if (invoice.dueDate) line.ele('DueDate').txt(literal(invoice.dueDate));
      line.ele('Account', { code: debtor });
      const amount = line.ele('Amount');
      amount.ele('Currency', { code: invoice.currency });
      amount.ele('Value').txt(literal(signed(l.amount, credit)));
      amount.ele('VAT', { code: l.vatCode });
      const refs = line.ele('References');
      refs.ele('InvoiceNumber').txt(literal(invoice.number ?? ''));
      const yourRef = invoice.buyerReference ?? invoice.orderReference;
      if (yourRef) refs.ele('YourRef').txt(literal(yourRef));
    });
  });
  return { extension: outputFormat('exact-online')!.extension, content: Buffer.from(xml), summary: summarise('exact-online', ctx, entries) };
}

/** Exact Globe / Synergy eExact XML: GLEntries with FinEntryLines, sales journal type V, credit notes as subtype C. */
export function exactGlobeXml(invoices: CalculatedInvoice[], ctx: BatchContext): ImportFile {
  const entries = entriesOf(invoices, ctx);
  const xml = eExactFile('eExact-Schema.xsd', 'GLEntries', entries, (parent, { invoice, lines, debtor }) => {
    const credit = isCredit(invoice);
    const { year, period } = periodOf(ctx.admin, invoice.issueDate);
    if (debtor.length > 20)
      throw new ExportError(`invoice ${invoice.number}: debtor code ${debtor} is too long for Exact Globe (20)`, { field: 'customer' }, invoice.number);
    const entry = parent.ele('GLEntry', { status: 'E' });
    entry.ele('Description').txt(literal(`${credit ? 'Creditnota' : 'Factuur'} ${invoice.number}`.slice(0, 60)));
    entry.ele('Date').txt(literal(invoice.issueDate));
    entry.ele('DocumentDate').txt(literal(invoice.issueDate));
    entry.ele('Journal', { code: ctx.admin.journal, type: 'V' });
    lines.forEach((l, i) => {
      const line = entry.ele('FinEntryLine', { number: String(i + 1), type: 'N', subtype: credit ? 'C' : 'K' });
      line.ele('Date').txt(literal(invoice.issueDate));
      line.ele('FinYear', { number: String(year) });
      line.ele('FinPeriod', { number: String(period) });
      line.ele('GLAccount', { code: l.account });
      line.ele('Description').txt(literal(lineBreaks(l.description, ' ').slice(0, 60)));
      line.ele('Debtor', { code: debtor });
      const amount = line.ele('Amount');
      amount.ele('Currency', { code: invoice.currency });
      // an invoice's revenue is a credit, a credit note's a debit; an allowance line turns it round
      const revenueCredit = credit ? dec(l.amount).lt(0) : !dec(l.amount).lt(0);
      const abs = dec(l.amount).abs().toFixed(2);
      amount.ele('Debit').txt(literal(revenueCredit ? '0' : abs));
      amount.ele('Credit').txt(literal(revenueCredit ? abs : '0'));
      amount.ele('VAT', { code: l.vatCode });
      const vat = line.ele('VATTransaction', { code: l.vatCode });
      vat.ele('VATAmount').txt(literal(dec(l.vatAmount).abs().toFixed(2)));
      vat.ele('VATBaseAmount').txt(literal(abs));
      const pay = line.ele('Payment');
      if (invoice.dueDate) pay.ele('InvoiceDueDate').txt(literal(invoice.dueDate));
      const refs = line.ele('FinReferences', { TransactionOrigin: 'I' });
      refs.ele('YourRef').txt(literal(invoice.number ?? ''));
      refs.ele('DocumentDate').txt(literal(invoice.issueDate));
    });
  });
  return { extension: outputFormat('exact-globe')!.extension, content: Buffer.from(xml), summary: summarise('exact-globe', ctx, entries) };
}

/** A cell that a spreadsheet would take for a formula (=, +, -, @, tab, CR) gets a leading apostrophe. */
export function neutraliseFormula(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

function csvCell(value: string, separator: string, numeric = false): string {
  const flat = value.replace(/[\r\n]+/g, ' ');
  const v = numeric && /^-?\d+([.,]\d+)?$/.test(flat) ? flat : neutraliseFormula(flat);
  return v.includes(separator) || v.includes('"') ? `"${v.replace(/"/g, '""')}"` : v;
}

function dateIn(iso: string, format: string): string {
  const [y, m, d] = iso.split('-') as [string, string, string];
  return format.replace('yyyy', y).replace('yy', y.slice(2)).replace('mm', m).replace('dd', d);
}

/**
 * AccountView CSV for a one-time import definition (Mutatie-import, verkoopboekingen): one row per
 * booking line; layout in the README. Identifiers that do not fit AccountView's fields fail the
 * export instead of being cut.
 */
export function accountViewCsv(invoices: CalculatedInvoice[], ctx: BatchContext): ImportFile {
  const entries = entriesOf(invoices, ctx);
  const o = ctx.admin.accountView ?? {};
  const sep = o.separator ?? ';';
  const mark = o.decimalMark ?? '.';
  const dateFormat = o.dateFormat ?? 'dd-mm-yyyy';
  const journal = ctx.admin.accountViewJournal ?? ctx.admin.journal;
  const num = (v: string) => (mark === ',' ? v.replace('.', ',') : v);
  const rows = [
    [
      'Regelnummer',
      'Dagboekcode',
      'Factuurnummer',
      'Boekingsdatum',
      'Vervaldatum',
      'Periodenummer',
      'Debiteurnummer',
      'Grootboekrekening',
      'Kostenplaats',
      'Kostensoort',
      'Omschrijving',
      'Bedrag',
      'BTW-code',
      'BTW-bedrag',
    ],
  ];
  let n = 0;
  for (const { invoice, lines, debtor } of entries) {
    const number = invoice.number ?? '';
    if (number.length > 12)
      throw new ExportError(
        `invoice number ${number} is longer than AccountView's 12 characters (INV_NR); it is not cut off: shorten the number series for this administration`,
        { field: 'number' },
        number,
      );
    if (journal.length > 3) throw new ExportError(`journal code ${journal} is longer than AccountView's 3 characters`, { field: 'accountViewJournal' });
    const credit = isCredit(invoice);
    const { period } = periodOf(ctx.admin, invoice.issueDate);
    for (const l of lines) {
      if (l.vatCode.length > 2) throw new ExportError(`VAT code ${l.vatCode} is longer than AccountView's 2 characters`, { field: 'vatCodes' }, number);
      if (l.account.length > 10) throw new ExportError(`account ${l.account} is longer than AccountView's 10 characters`, { field: 'revenueAccounts' }, number);
      const description = l.description.length > 40 ? `${l.description.slice(0, 39)}…` : l.description;
      const amount = credit ? dec(l.amount).neg().toFixed(2) : l.amount;
      const vat = credit ? dec(l.vatAmount).neg().toFixed(2) : l.vatAmount;
      rows.push([
        String(++n),
        journal,
        number,
        dateIn(invoice.issueDate, dateFormat),
        invoice.dueDate ? dateIn(invoice.dueDate, dateFormat) : '',
        String(period),
        debtor,
        l.account,
        '',
        '',
        description,
        num(amount),
        l.vatCode,
        num(vat),
      ]);
    }
  }
  // numbers stay numbers: the formula guard is for text (an apostrophe before -9.00 breaks every credit note)
  const numeric = new Set(['Regelnummer', 'Periodenummer', 'Bedrag', 'BTW-bedrag']);
  const isNumeric = rows[0]!.map((name) => numeric.has(name));
  const text = `${rows.map((r, row) => r.map((c, i) => csvCell(c, sep, row > 0 && isNumeric[i]!)).join(sep)).join('\r\n')}\r\n`;
  const encoding = o.encoding ?? 'windows-1252';
  return {
    extension: outputFormat('accountview')!.extension,
    content: encoding.toLowerCase() === 'utf-8' ? Buffer.from(`\uFEFF${text}`) : iconv.encode(text, encoding),
    summary: summarise('accountview', ctx, entries),
  };
}

/** The import file of a format. */
export function importFile(format: AccountingFormat, invoices: CalculatedInvoice[], ctx: BatchContext): ImportFile {
  switch (format) {
    case 'exact-online':
      return exactOnlineXml(invoices, ctx);
    case 'exact-globe':
      return exactGlobeXml(invoices, ctx);
    case 'accountview':
      return accountViewCsv(invoices, ctx);
  }
}

/** The summary as text for people: count, number range, totals per VAT code. */
export function summaryText(s: BatchSummary, fileName: string): string {
  return [
    `Import file: ${fileName}`,
    `Package: ${s.format}, administration ${s.administration}`,
    `Entries: ${s.entries} (invoice numbers ${s.firstInvoice} … ${s.lastInvoice})`,
    'Totals per VAT code (base / VAT):',
    ...Object.entries(s.perVatCode).map(([code, t]) => `  ${code.padEnd(4)} ${t.base.padStart(14)} ${t.vat.padStart(12)}`),
    `Total excl. VAT: ${s.totalExclVat}`,
    `Total VAT:       ${s.totalVat}`,
    'Check these totals against the journal in the package after the import.',
    '',
  ].join('\n');
}
