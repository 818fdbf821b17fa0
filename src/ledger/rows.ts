import type { CalculatedInvoice } from '../model/invoice.js';
import type { Delivery } from '../routing/route.js';
import type { DeliveryProgress, DeliveryRecord, ExportBatch, FileRecord, FileState, InvoiceRecord, IssueRequest, IssueResult, NodeRecord } from './ledger.js';
import { deliveryKey, numbered, orderKeyOf } from './keys.js';
import { LeaseLostError } from '../errors.js';

/**
 * What both SQL ledgers share: rows to records, and the issuing decision. The tables have the
 * same columns in SQLite and PostgreSQL, so one mapper serves both.
 */
export type Row = Record<string, unknown>;

const num = (v: unknown): number => (typeof v === 'string' ? Number(v) : (v as number));
const present = (v: unknown): boolean => v !== null && v !== undefined;

/** A files row as a FileRecord. */
export function fileFromRow(r: Row): FileRecord {
  return {
    id: num(r['id']),
    source: r['source'] as string,
    name: r['name'] as string,
    contentHash: r['content_hash'] as string,
    state: r['state'] as FileState,
    processingPath: r['processing_path'] as string,
    claimedAt: r['claimed_at'] as string,
    ...(r['arrival'] ? { arrival: r['arrival'] as string } : {}),
    ...(r['final_path'] ? { finalPath: r['final_path'] as string } : {}),
    ...(present(r['invoices_found']) ? { invoicesFound: num(r['invoices_found']) } : {}),
    ...(present(r['invoices_rejected']) ? { invoicesRejected: num(r['invoices_rejected']) } : {}),
    ...(r['error'] ? { error: r['error'] as string } : {}),
  };
}

/** An invoices row as an InvoiceRecord. */
export function invoiceFromRow(r: Row): InvoiceRecord {
  return {
    id: num(r['id']),
    fileId: num(r['file_id']),
    seller: r['seller'] as string,
    state: r['state'] as InvoiceRecord['state'],
    numberFormat: r['number_format'] as string,
    invoice: JSON.parse(r['document'] as string) as CalculatedInvoice,
    deliveries: JSON.parse(r['routes'] as string) as Delivery[],
    ...(r['number'] ? { number: r['number'] as string } : {}),
    ...(r['order_key'] ? { orderKey: r['order_key'] as string } : {}),
    ...(present(r['hold_until']) ? { holdUntil: num(r['hold_until']) } : {}),
    ...(r['hold_status'] ? { holdStatus: r['hold_status'] as string } : {}),
  };
}

/** A deliveries row (joined with its invoice's number) as a DeliveryRecord. */
export function deliveryFromRow(r: Row): DeliveryRecord {
  return {
    id: num(r['id']),
    invoiceId: num(r['invoice_id']),
    invoiceNumber: r['number'] as string,
    routeId: r['route_id'] as string,
    format: r['format'] as string,
    transport: r['transport'] as string,
    target: r['target'] as string,
    options: JSON.parse(r['options'] as string) as Delivery['options'],
    state: r['state'] as DeliveryRecord['state'],
    attempts: num(r['attempts']),
    nextAttemptAt: num(r['next_attempt_at']),
    idempotencyKey: r['idempotency_key'] as string,
    ...(r['last_error'] ? { lastError: r['last_error'] as string } : {}),
    ...(r['progress'] ? { progress: r['progress'] as DeliveryProgress } : {}),
  };
}

/** An export_batches row as an ExportBatch. */
export function batchFromRow(r: Row): ExportBatch {
  return {
    id: num(r['id']),
    format: r['format'] as string,
    administration: r['administration'] as string,
    fileName: r['file_name'] as string,
    contentHash: r['content_hash'] as string,
    deliveryIds: JSON.parse(r['delivery_ids'] as string) as number[],
  };
}

/** A nodes row as a NodeRecord. */
export function nodeFromRow(r: Row): NodeRecord {
  return {
    id: r['id'] as string,
    host: r['host'] as string,
    pid: num(r['pid']),
    startedAt: r['started_at'] as string,
    heartbeatAt: r['heartbeat_at'] as string,
    ...(r['paused'] ? { paused: r['paused'] as string } : {}),
    ...(present(r['heartbeat_age_ms']) ? { heartbeatAgeMs: num(r['heartbeat_age_ms']) } : {}),
    ...(present(r['clock_offset_ms']) ? { clockOffsetMs: num(r['clock_offset_ms']) } : {}),
    ...(present(r['run']) ? { run: num(r['run']) } : {}),
  };
}

/** The error of a store refused because another node holds the file's lease now. */
export function leaseLost(fileId: number, file: { state?: string; holder?: string | null }): LeaseLostError {
  if (file.state && file.state !== 'processing')
    return new LeaseLostError(
      `file #${fileId} was finished (${file.state}) by another node while this node was cut off from the ledger; this node stores nothing for it`,
      {},
    );
  return new LeaseLostError(
    `file #${fileId} was taken over by ${file.holder ? `node ${file.holder}` : 'another node'} while this node was cut off from the ledger; this node leaves it`,
    {},
  );
}

/** What the ledger already knows that decides whether a request is stored. */
export interface IssueFindings {
  /** the invoice this (file, ordinal) stored before a restart */
  stored?: { id: number; number?: string | null };
  /** an issued or held invoice with the same business key, and the file it came from */
  before?: { id: number; number?: string | null; fileName: string };
  /** the file of an invoice of this seller that carries the number the source gave */
  numberClash?: { fileName: string };
}

/**
 * The issuing decision, the same on every database: a resumed file gets back what it stored, a
 * business key issued before is not issued again (unless asked), a number is never used twice;
 * otherwise the request is stored ('store').
 */
export function issueDecision(req: IssueRequest, found: IssueFindings): IssueResult | 'store' {
  if (found.stored) return { status: 'existing', invoiceId: found.stored.id, ...(found.stored.number ? { number: found.stored.number } : {}) };
  if (req.businessKey && !req.issueAgain && found.before) {
    const b = found.before;
    return { status: 'issued-before', invoiceId: b.id, ...(b.number ? { number: b.number } : {}), existingFile: b.fileName };
  }
  if (req.invoice.number && found.numberClash) return { status: 'duplicate-number', number: req.invoice.number, existingFile: found.numberClash.fileName };
  return 'store';
}

/** The columns the console searches an invoice by, kept beside its document. */
export function searchColumns(inv: CalculatedInvoice): { issue_date: string; buyer_name: string | null; buyer_search: string | null; amount: number } {
  const name = inv.buyer.name ?? null;
  return { issue_date: inv.issueDate, buyer_name: name, buyer_search: name?.toLowerCase() ?? null, amount: Number(inv.totals.payableAmount) };
}

/** The invoices row of a request: numbered (and its payment reference set) unless it is held. */
export function invoiceRow(req: IssueRequest, number: string | undefined, nowIso: string): Record<string, string | number | null> {
  const inv = req.invoice;
  const held = req.hold !== undefined;
  const document: CalculatedInvoice = number ? numbered(inv, number) : inv;
  return {
    file_id: req.fileId,
    seq_in_file: req.seqInFile,
    source_key: inv.meta.sourceKey,
    business_key: req.businessKey ?? null,
    seller: inv.meta.sellerKey,
    kind: inv.kind,
    type_code: inv.typeCode,
    number: number ?? null,
    state: held ? 'held' : 'issued',
    order_key: req.hold?.orderKey ?? orderKeyOf(inv),
    hold_until: req.hold?.until ?? null,
    hold_status: req.hold?.status ?? null,
    customer: inv.meta.customerKey ?? null,
    currency: inv.currency,
    payable: inv.totals.payableAmount,
    ...searchColumns(inv),
    number_format: req.numberFormat,
    document: JSON.stringify(document),
    routes: JSON.stringify(req.deliveries),
    created_at: nowIso,
    issued_at: held ? null : nowIso,
  };
}

/** A deliveries row: one invoice over one route, under the given idempotency key. */
export function deliveryRow(invoiceId: number, d: Delivery, key: string, dueAt: number, nowIso: string): Record<string, string | number> {
  return {
    invoice_id: invoiceId,
    route_id: d.routeId,
    format: d.format,
    transport: d.transport,
    target: d.target,
    options: JSON.stringify(d.options),
    state: 'pending',
    next_attempt_at: dueAt,
    idempotency_key: key,
    created_at: nowIso,
  };
}

/** The deliveries rows of a numbered invoice: one per route, keyed so that a retry is recognised. */
export function deliveryRows(
  invoiceId: number,
  seller: string,
  number: string,
  deliveries: Delivery[],
  dueAt: number,
  nowIso: string,
): Record<string, string | number>[] {
  return deliveries.map((d) => deliveryRow(invoiceId, d, deliveryKey(seller, number, d.routeId), dueAt, nowIso));
}
