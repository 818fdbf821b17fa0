import { durationMs } from '../config/duration.js';
import type { SendRule } from '../config/types.js';
import type { HoldRule } from '../ledger/ledger.js';
import { orderKeyOf } from '../ledger/keys.js';
import type { CalculatedInvoice } from '../model/invoice.js';
import { localIsoDate } from '../model/limits.js';
import type { Delivery } from '../routing/route.js';

/** The send rule that applies to an invoice: its mapping's, else the first of its routes that has one. */
export function sendRuleFor(mappingRule: SendRule | undefined, deliveries: Delivery[]): SendRule | undefined {
  return mappingRule ?? deliveries.find((d) => d.options.send)?.options.send;
}

/** The next moment the local clock shows hh:mm (today if still ahead, else tomorrow). */
export function nextDailyTime(hhmm: string, now: Date): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  const at = new Date(now);
  at.setHours(h, m, 0, 0);
  if (at.getTime() <= now.getTime()) at.setDate(at.getDate() + 1);
  return at.getTime();
}

/**
 * How an invoice is held back under a send rule, or undefined to issue it now.
 * A status rule that the invoice already meets issues it at once.
 */
export function holdFor(rule: SendRule | undefined, invoice: CalculatedInvoice, now: Date): HoldRule | undefined {
  if (!rule) return undefined;
  const orderKey = orderKeyOf(invoice);
  if (rule.when) {
    if (invoice.meta.orderStatus === rule.when.status) return undefined;
    return { orderKey, status: rule.when.status, ...(rule.when.maxWait ? { until: now.getTime() + durationMs(rule.when.maxWait, 0) } : {}) };
  }
  if (rule.after) return { orderKey, until: now.getTime() + durationMs(rule.after.replace(/\s/g, ''), 0) };
  if (rule.at) return { orderKey, until: nextDailyTime(rule.at, now) };
  return undefined;
}

/** A held invoice as issued today: issue date today, the due date moved by the same number of days. */
export function asIssuedToday(invoice: CalculatedInvoice, now: Date): CalculatedInvoice {
  const today = localIsoDate(now);
  if (invoice.issueDate === today) return invoice;
  const days = invoice.dueDate ? Math.round((Date.parse(invoice.dueDate) - Date.parse(invoice.issueDate)) / 86_400_000) : undefined;
  const due = days !== undefined ? new Date(Date.parse(today) + days * 86_400_000).toISOString().slice(0, 10) : undefined;
  return { ...invoice, issueDate: today, ...(due ? { dueDate: due } : {}) };
}
