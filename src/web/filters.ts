import type { DeliveryFilter, EventFilter, FileFilter, InvoiceFilter, PageRequest } from '../ledger/sql/browse.js';
import type { DeliveryState, FileState, InvoiceState } from '../ledger/ledger.js';
import { ActionError } from './console-service.js';

/** The query string of a list request, as Fastify parsed it. */
export type Query = Record<string, string | string[] | undefined>;

export const FILE_STATES: FileState[] = ['processing', 'done', 'partial', 'error', 'duplicate'];
export const INVOICE_STATES: InvoiceState[] = ['issued', 'held', 'rejected'];
export const DELIVERY_STATES: DeliveryState[] = ['pending', 'sending', 'sent', 'failed', 'dead', 'bounced'];

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function text(q: Query, name: string, max = 200): string | undefined {
  const raw = q[name];
  const v = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!v) return undefined;
  if (v.length > max) throw new ActionError(400, `${name}: at most ${max} characters`);
  return v;
}

function oneOf<T extends string>(q: Query, name: string, allowed: readonly T[]): T | undefined {
  const v = text(q, name);
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw new ActionError(400, `${name}: "${v}" is not one of ${allowed.join(', ')}`);
  return v as T;
}

function day(q: Query, name: string): string | undefined {
  const v = text(q, name);
  if (v !== undefined && (!DAY.test(v) || Number.isNaN(Date.parse(v)))) throw new ActionError(400, `${name}: "${v}" is not a date (YYYY-MM-DD)`);
  return v;
}

function count(q: Query, name: string): number | undefined {
  const v = text(q, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new ActionError(400, `${name}: "${v}" is not a positive whole number`);
  return n;
}

/** An amount as people type it: 1234.50, 1234,50 or 1.234,50. */
function amount(q: Query, name: string): number | undefined {
  const v = text(q, name, 30);
  if (v === undefined) return undefined;
  const normal = /,\d{1,2}$/.test(v) ? v.replace(/\./g, '').replace(',', '.') : v.replace(/,/g, '');
  const n = Number(normal);
  if (!Number.isFinite(n)) throw new ActionError(400, `${name}: "${v}" is not an amount`);
  return n;
}

const page = (q: Query): PageRequest => ({ ...opt('before', count(q, 'before')), ...opt('limit', count(q, 'limit')) });
const opt = <K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : ({ [key]: v } as { [P in K]: V }));

/** The filter of the files list. */
export function fileFilter(q: Query): FileFilter {
  return {
    ...page(q),
    ...opt('source', text(q, 'source')),
    ...opt('state', oneOf(q, 'state', FILE_STATES)),
    ...opt('from', day(q, 'from')),
    ...opt('to', day(q, 'to')),
  };
}

/** The filter of the invoice search. */
export function invoiceFilter(q: Query): InvoiceFilter {
  return {
    ...page(q),
    ...opt('number', text(q, 'number')),
    ...opt('customer', text(q, 'customer')),
    ...opt('from', day(q, 'from')),
    ...opt('to', day(q, 'to')),
    ...opt('min', amount(q, 'min')),
    ...opt('max', amount(q, 'max')),
    ...opt('state', oneOf(q, 'state', INVOICE_STATES)),
    ...opt('fileId', count(q, 'file')),
  };
}

/** The filter of the deliveries list. */
export function deliveryFilter(q: Query): DeliveryFilter {
  return {
    ...page(q),
    ...opt('state', oneOf(q, 'state', DELIVERY_STATES)),
    ...opt('transport', text(q, 'transport')),
    ...opt('invoiceId', count(q, 'invoice')),
  };
}

/** The filter of the audit log. */
export function eventFilter(q: Query): EventFilter {
  const kind = text(q, 'kind');
  return { ...page(q), ...(kind ? { kinds: [kind] } : {}) };
}

/** A page request alone. */
export function pageOf(q: Query): PageRequest {
  return page(q);
}

/** A positive whole number from a path parameter. */
export function idParam(params: unknown, name = 'id'): number {
  const v = (params as Record<string, string>)[name];
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new ActionError(404, `"${v}" is not an id`);
  return n;
}

/** The delivery ids of a retry: one or many `id` fields (a form) or an `ids` array (JSON). */
export function deliveryIds(body: Record<string, unknown>): number[] {
  const raw = body['ids'] ?? body['id'];
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return list.map((v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new ActionError(400, `"${String(v)}" is not a delivery id`);
    return n;
  });
}
