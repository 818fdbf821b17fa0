import type { CalculatedInvoice } from '../model/invoice.js';
import type { Delivery } from '../routing/route.js';

/** States of a dropped file in the ledger. */
export type FileState = 'processing' | 'done' | 'partial' | 'error' | 'duplicate';
/** States of an invoice: held back (deferred, no number yet), issued (numbered), or rejected when its moment came. */
export type InvoiceState = 'held' | 'issued' | 'rejected';
/** States of one delivery in the outbox. */
export type DeliveryState = 'pending' | 'sending' | 'sent' | 'failed' | 'dead';

/** A file as the ledger knows it. */
export interface FileRecord {
  id: number;
  source: string;
  name: string;
  contentHash: string;
  state: FileState;
  processingPath: string;
  finalPath?: string;
  claimedAt: string;
  invoicesFound?: number;
  invoicesRejected?: number;
  error?: string;
}

/** When a held invoice is to be issued. */
export interface HoldRule {
  /** epoch ms; issue at or after this time */
  until?: number;
  /** issue when a later drop for the same order carries this status */
  status?: string;
  /** the order this invoice is for, to match later drops */
  orderKey: string;
}

/** One invoice to store: issued now (numbered in the same transaction) or held. */
export interface IssueRequest {
  fileId: number;
  /** ordinal of the invoice in its file; (fileId, seqInFile) is unique, so a resumed file skips what it stored */
  seqInFile: number;
  invoice: CalculatedInvoice;
  deliveries: Delivery[];
  /** the number format to use when the invoice carries no number of its own */
  numberFormat: string;
  hold?: HoldRule;
  /** what makes it the same invoice in a later drop (see businessKeyOf); an issued one is not issued again */
  businessKey?: string;
  /** issue even when the business key was issued before (a deliberate reissue) */
  issueAgain?: boolean;
}

/** What happened to one IssueRequest. */
export type IssueResult =
  | { status: 'issued'; invoiceId: number; number: string }
  | { status: 'held'; invoiceId: number }
  | { status: 'existing'; invoiceId: number; number?: string }
  | { status: 'duplicate-number'; number: string; existingFile?: string }
  | { status: 'issued-before'; invoiceId: number; number?: string; existingFile: string };

/** An invoice row. */
export interface InvoiceRecord {
  id: number;
  fileId: number;
  seller: string;
  number?: string;
  state: InvoiceState;
  orderKey?: string;
  holdUntil?: number;
  holdStatus?: string;
  invoice: CalculatedInvoice;
  deliveries: Delivery[];
  numberFormat: string;
}

/** A delivery row: one invoice over one route. */
export interface DeliveryRecord {
  id: number;
  invoiceId: number;
  invoiceNumber: string;
  routeId: string;
  format: string;
  transport: string;
  target: string;
  options: Delivery['options'];
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  lastError?: string;
  /** deterministic key: file names and Message-IDs derive from it, so a retry is recognised */
  idempotencyKey: string;
}

/** An accounting import file as the ledger knows it. */
export interface ExportBatch {
  id: number;
  format: string;
  administration: string;
  fileName: string;
  contentHash: string;
  deliveryIds: number[];
}

/** Counts and recent problems for `invoice-gateway status`. */
export interface LedgerStatus {
  files: Record<string, number>;
  invoices: Record<string, number>;
  deliveries: Record<string, number>;
  oldestPending?: { id: number; invoiceNumber: string; since: string };
  recentFailures: { id: number; invoiceNumber: string; routeId: string; state: string; attempts: number; error: string; at: string }[];
  /** the latest files that went to error/, with the first reason */
  filesInError: { id: number; source: string; name: string; error: string; at: string; finalPath?: string }[];
  runs: { fileId: number; name: string; total: number; done: number; dead: number; startedAt: string; lastSentAt?: string }[];
}

/**
 * The gateway's durable memory. SQLite now; the interface is what a server database would
 * implement for several nodes: claims are single-winner and numbering is transactional.
 */
export interface Ledger {
  /** Records the claim of a file; returns undefined when another claim of the same processing path won. */
  claimFile(claim: { source: string; name: string; contentHash: string; processingPath: string }): FileRecord | undefined;
  /** An earlier file of this source with the same content that issued invoices, if any. */
  findProcessed(source: string, contentHash: string): FileRecord | undefined;
  file(id: number): FileRecord | undefined;
  /** Files claimed but not finished (a crash interrupted them). */
  unfinishedFiles(): FileRecord[];
  /** Counts a start of processing of a file; returns how many there have been, this one included. */
  startAttempt(id: number): number;
  finishFile(id: number, state: FileState, details: { finalPath?: string; invoicesFound?: number; invoicesRejected?: number; error?: string }): void;

  /** Stores invoices, numbering each in the same transaction that stores it; all or nothing per call. */
  issue(requests: IssueRequest[]): IssueResult[];
  /** Issues a held invoice now (with the latest content), numbering it in the same transaction. */
  issueHeld(invoiceId: number, invoice: CalculatedInvoice, deliveries: Delivery[]): { number: string } | undefined;
  /** A held invoice that failed its checks when its moment came: it stays unnumbered, out of the schedule. */
  rejectHeld(invoiceId: number, reason: string): void;
  /** Replaces the content of a held invoice (a later drop for the same order). */
  updateHeld(invoiceId: number, invoice: CalculatedInvoice, deliveries: Delivery[]): void;
  /** Held invoices for an order. */
  heldForOrder(orderKey: string): InvoiceRecord | undefined;
  /** Whether an order was already invoiced (issued). */
  issuedForOrder(orderKey: string): InvoiceRecord | undefined;
  /** Held invoices whose time has come. */
  dueHeld(now: number): InvoiceRecord[];
  /** An invoice by its number: numbers are unique per seller, not across sellers. */
  invoiceByNumber(seller: string, number: string): InvoiceRecord | undefined;
  /** The sellers that issued an invoice with this number (to resolve a number a person gives). */
  sellersOfNumber(number: string): string[];
  invoiceById(id: number): InvoiceRecord | undefined;
  invoicesOfFile(fileId: number): { number?: string; state: InvoiceState; sourceKey: string }[];

  /** Deliveries due at `now`, claimed (state sending) for this worker; none for the busy targets (see targetKey). */
  claimDueDeliveries(now: number, limit: number, busyTargets?: string[]): DeliveryRecord[];
  markSent(id: number, result: string): void;
  markFailed(id: number, error: string, nextAttemptAt: number, dead: boolean): void;
  /** After a crash: deliveries left in "sending" become due again (their idempotency key prevents a second copy). */
  releaseSending(): number;
  /** Makes failed or dead deliveries due now, by delivery id or by file; returns how many. */
  retry(selector: { deliveryId?: number; fileId?: number }): number;
  /** New deliveries for an issued invoice (explicit resend): new idempotency keys, logged. */
  resend(seller: string, invoiceNumber: string, reason: string): number;
  deliveriesOfInvoice(invoiceId: number): DeliveryRecord[];
  deliveryById(id: number): DeliveryRecord | undefined;
  /** Delivery counts of one file's invoices, for progress. */
  deliveryStatesOfFile(fileId: number): { total: number; sent: number; dead: number; failed: number };

  /** Accounting deliveries waiting for a batch of this format and administration. */
  pendingExports(format: string, administration: string, now: number): DeliveryRecord[];
  /** Records a batch before its file is written, claiming its deliveries (crash-safe: see finishBatch). */
  openBatch(batch: { format: string; administration: string; fileName: string; contentHash: string; deliveryIds: number[] }): number;
  /** After the file is written: every invoice recorded as exported, its deliveries sent, the batch done. */
  finishBatch(batchId: number, exported: { invoiceNumber: string; contentHash: string }[]): void;
  /** Batches whose file may or may not have been written when the process stopped. */
  unfinishedBatches(): ExportBatch[];
  /** The batch that exported an invoice to an administration, if any. */
  exportedIn(format: string, administration: string, invoiceNumber: string): number | undefined;
  /** Forgets an export and queues the route again: an explicit, logged re-issue. */
  reexport(seller: string, invoiceNumber: string, format: string, administration: string, reason: string): boolean;

  status(now: number): LedgerStatus;
  logEvent(kind: string, detail: Record<string, unknown>): void;
  close(): void;
}
