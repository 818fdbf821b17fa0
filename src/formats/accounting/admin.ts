import type { AccountingFileSchema } from '../../config/schema-types.js';
import { GatewayError, type ErrorLocation } from '../../errors.js';
import { dec, decShared } from '../../model/decimal.js';
import type { CalculatedInvoice, InvoiceLine, VatCategory } from '../../model/invoice.js';

/** One administration in config/accounting.yaml (its schema's shape). */
export type AdministrationConfig = AccountingFileSchema.AccountingFile['administrations'][string];

/** An invoice that cannot be expressed in the target (no VAT code, a number too long): never truncated. */
export class ExportError extends GatewayError {
  constructor(
    message: string,
    location: ErrorLocation,
    readonly invoiceNumber?: string,
  ) {
    super(message, location);
  }
}

/** The administration's VAT code for a category and rate; an unmapped one is an error, not a guess. */
export function vatCodeFor(admin: AdministrationConfig, name: string, category: VatCategory, rate: string | undefined, invoice: string): string {
  const hit = admin.vatCodes.find(
    (v) =>
      v.category === category &&
      (v.rate === undefined || rate === undefined ? v.rate === rate || (v.rate ?? '0') === (rate ?? '0') : decShared(v.rate).eq(decShared(rate))),
  );
  if (!hit)
    throw new ExportError(
      `invoice ${invoice}: administration ${name} has no VAT code for category ${category}${rate !== undefined ? ` at ${rate}%` : ''}; add it under vatCodes in config/accounting.yaml`,
      { field: 'vatCodes' },
      invoice,
    );
  if (hit.inclusive)
    throw new ExportError(
      `invoice ${invoice}: VAT code ${hit.code} of administration ${name} is inclusive, but the gateway books amounts excluding VAT; use an exclusive code`,
      { field: 'vatCodes' },
      invoice,
    );
  return hit.code;
}

/** The revenue account of a line: by item group, else by VAT rate. */
export function revenueAccountFor(admin: AdministrationConfig, name: string, line: Pick<InvoiceLine, 'classification' | 'vatRate'>, invoice: string): string {
  const group = line.classification?.id;
  if (group && admin.itemGroupAccounts?.[group]) return admin.itemGroupAccounts[group]!;
  const rate = line.vatRate === undefined ? '0' : decShared(line.vatRate).toFixed();
  const account = admin.revenueAccounts[rate] ?? admin.revenueAccounts['default'];
  if (!account)
    throw new ExportError(
      `invoice ${invoice}: administration ${name} has no revenue account for ${rate}% (revenueAccounts)`,
      { field: 'revenueAccounts' },
      invoice,
    );
  return account;
}

/** Financial year and period of a date: calendar months, or thirteen four-week periods. */
export function periodOf(admin: AdministrationConfig, isoDate: string): { year: number; period: number } {
  const [y, m, d] = isoDate.split('-').map(Number) as [number, number, number];
  if (admin.periods === '13') {
    const day = Math.floor((Date.UTC(y, m - 1, d) - Date.UTC(y, 0, 1)) / 86_400_000);
    return { year: y, period: Math.min(13, Math.floor(day / 28) + 1) };
  }
  return { year: y, period: m };
}

/** The debtor code of an invoice's customer, required by every package. */
export function debtorCodeOf(invoice: CalculatedInvoice, debtorCodes: Record<string, string | undefined>): string {
  const key = invoice.meta.customerKey;
  const code = (key && (debtorCodes[key] ?? key)) || undefined;
  if (!code)
    throw new ExportError(
      `invoice ${invoice.number}: no debtor code (the invoice names no customer from customers.yaml)`,
      { field: 'customer' },
      invoice.number,
    );
  return code;
}

/** One booking line: revenue excl. VAT on an account with a VAT code, and its share of the VAT. */
export interface BookingLine {
  account: string;
  description: string;
  vatCode: string;
  vatRate?: string;
  /** net amount, positive for an invoice line, as the invoice states it */
  amount: string;
  vatAmount: string;
}

/**
 * The booking lines of an invoice: its lines and document charges/allowances, each with the VAT
 * code of its category and rate, and the VAT of each rate group spread over its lines so that the
 * line VAT adds up to the invoice's VAT exactly (largest remainder).
 */
export function bookingLines(invoice: CalculatedInvoice, admin: AdministrationConfig, name: string): BookingLine[] {
  const number = invoice.number ?? '?';
  const raw: (BookingLine & { key: string })[] = invoice.lines.map((l) => ({
    key: `${l.vatCategory}|${l.vatRate ?? ''}`,
    vatCode: vatCodeFor(admin, name, l.vatCategory, l.vatRate, number),
    account: revenueAccountFor(admin, name, l, number),
    description: l.itemName,
    ...(l.vatRate !== undefined ? { vatRate: l.vatRate } : {}),
    amount: l.netAmount,
    vatAmount: '0.00',
  }));
  for (const ac of invoice.allowanceCharges ?? []) {
    raw.push({
      key: `${ac.vatCategory}|${ac.vatRate ?? ''}`,
      account: revenueAccountFor(admin, name, { vatRate: ac.vatRate }, number),
      description: ac.reason ?? (ac.charge ? 'Toeslag' : 'Korting'),
      vatCode: vatCodeFor(admin, name, ac.vatCategory, ac.vatRate, number),
      ...(ac.vatRate !== undefined ? { vatRate: ac.vatRate } : {}),
      amount: ac.charge ? ac.amount : dec(ac.amount).neg().toFixed(2),
      vatAmount: '0.00',
    });
  }
  for (const group of invoice.vatBreakdown) {
    const key = `${group.category}|${group.rate ?? ''}`;
    const members = raw.filter(
      (r) =>
        r.key === key ||
        (r.key.split('|')[0] === group.category &&
          r.key.split('|')[1] !== '' &&
          group.rate !== undefined &&
          decShared(r.key.split('|')[1]!).eq(decShared(group.rate))),
    );
    const base = members.reduce((s, m) => s.plus(dec(m.amount)), dec('0'));
    const total = dec(group.taxAmount);
    if (base.eq(0) || total.eq(0)) continue;
    let assigned = dec('0');
    const shares = members.map((m) => {
      const exact = total.times(dec(m.amount)).div(base);
      const rounded = exact.round(2, 0);
      assigned = assigned.plus(rounded);
      return { m, rounded, remainder: exact.minus(rounded).abs() };
    });
    let left = total.minus(assigned);
    const step = dec(left.lt(0) ? '-0.01' : '0.01');
    for (const s of [...shares].sort((a, b) => b.remainder.cmp(a.remainder))) {
      if (left.eq(0)) break;
      s.rounded = s.rounded.plus(step);
      left = left.minus(step);
    }
    for (const s of shares) s.m.vatAmount = s.rounded.toFixed(2);
  }
  return raw.map(({ key: _key, ...line }) => line);
}
