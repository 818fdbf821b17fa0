import type { CalculatedInvoice } from '../model/invoice.js';

/**
 * The invoice as numbered: its number, and the number as payment reference (BT-83) when it has
 * none. A document passed through as it came (a dropped UBL file) keeps its payment instructions:
 * a PaymentID its sender did not write is not added.
 */
export function numbered(invoice: CalculatedInvoice, number: string): CalculatedInvoice {
  const document: CalculatedInvoice = { ...invoice, number };
  if (document.payment && !document.payment.paymentReference && !document.meta.amountsDeclared)
    document.payment = { ...document.payment, paymentReference: number };
  return document;
}

/**
 * The idempotency key of an invoice's delivery over a route: pickup file names and Message-IDs
 * derive from it, so a retry is recognised. Numbers are unique per seller only, so the seller is in it.
 */
export function deliveryKey(seller: string, number: string, routeId: string): string {
  return `${seller}.${number}.${routeId}`;
}

/** The key of a deliberate further copy (a resend or a reexport): new, so the target sees a new document. */
export function copyKey(seller: string, number: string, routeId: string, why: 'resend' | 'reexport', n: number): string {
  return `${deliveryKey(seller, number, routeId)}.${why}-${n}`;
}

/** The resend a key stands for, if any (its document gets a name of its own). */
export function resendOf(key: string): number | undefined {
  const m = /\.resend-(\d+)$/.exec(key);
  return m ? Number(m[1]) : undefined;
}

/** The order an invoice belongs to, for deferred invoicing and "already invoiced" checks. */
export function orderKeyOf(invoice: CalculatedInvoice): string {
  return `${invoice.meta.sellerKey}|${invoice.salesOrderReference ?? invoice.orderReference ?? invoice.meta.sourceKey}`;
}

/**
 * The business key of an invoice: what makes it the same invoice when a file is dropped again
 * (a corrected file re-sends the orders that were issued from the first one): the group key of
 * its source (order number, member number, the source's own invoice number) with the invoicing
 * period when it has one, per source and kind; the seller is stored beside it.
 */
export function businessKeyOf(invoice: CalculatedInvoice, source: string): string {
  // a membership run bills the same member every period: the invoicing period (BG-14) is part of the key
  const period = invoice.period ? `|${invoice.period.start ?? ''}..${invoice.period.end ?? ''}` : '';
  return `${source}|${invoice.kind}|${invoice.meta.sourceKey}${period}`;
}
