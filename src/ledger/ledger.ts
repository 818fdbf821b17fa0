import type { CalculatedInvoice } from '../model/invoice.js';
import type { Delivery } from '../routing/route.js';
import type { LedgerBrowse } from './sql/browse.js';

/** States of a dropped file in the ledger. */
export type FileState = 'processing' | 'done' | 'partial' | 'error' | 'duplicate';
/** States of an invoice: held back (deferred, no number yet), issued (numbered), or rejected when its moment came. */
export type InvoiceState = 'held' | 'issued' | 'rejected';
/** States of one delivery in the outbox. */
export type DeliveryState = 'pending' | 'sending' | 'sent' | 'failed' | 'dead' | 'bounced';

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
  /** what named this very file at its claim (see claimFile): inode and modification time */
  arrival?: string;
  invoicesFound?: number;
  invoicesRejected?: number;
  error?: string;
}

/** A file just claimed, with the duplicate check made in the same statement. */
export interface ClaimedFile extends FileRecord {
  /** the earliest file of this source with the same content that issued invoices (undefined: none, or not known) */
  sameContentAs?: number;
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
  /** how far a sent delivery got beyond its transport, where the transport tells (Peppol) */
  progress?: DeliveryProgress;
}

/**
 * Beyond "sent", where the transport reports it: accepted by a Peppol access point, then delivered
 * to the receiver's access point.
 */
export type DeliveryProgress = 'accepted' | 'delivered';

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
  /** the gateway processes on this ledger: their last heartbeat and whether they are paused */
  nodes: NodeRecord[];
  /** every number series in use: the last sequence number taken per seller and counter ("2026-{seq:5}") */
  numberSeries: { seller: string; counter: string; last: number }[];
}

/** The ledger's counts as /metrics exposes them. */
export interface LedgerMetrics {
  files: { source: string; state: string; n: number }[];
  invoices: { state: string; n: number }[];
  deliveries: { state: string; transport: string; n: number }[];
  /** when the oldest delivery still waiting (pending, failed or sending) was created */
  oldestWaitingSince?: string;
}

/** A gateway process as the ledger knows it (heartbeat written while it renews its leases). */
export interface NodeRecord {
  id: string;
  host: string;
  pid: number;
  startedAt: string;
  heartbeatAt: string;
  /** why the node paused (the ledger was unreachable), as it last reported */
  paused?: string;
  /** how long ago its last heartbeat was, on the database's clock (a node's own clock may be off) */
  heartbeatAgeMs?: number;
  /** how far the node's own clock is from the database's (positive: the node's is behind), as it last measured */
  clockOffsetMs?: number;
  /** which start of a process under this id it is (a stalled earlier one is fenced off by the next) */
  run?: number;
}

/** Settings of a ledger connection: who this node is and how long its leases last. */
export interface LeaseSettings {
  nodeId: string;
  leaseMs: number;
  /** this machine's clock (a test gives a node one that is off); leases never go by it, only by the database's */
  clock?: () => number;
}

/** The work a node holds under lease: renewed while it works, taken over by another node when it expires. */
export interface Leases {
  /** this process's node id: leases, heartbeats and the audit log carry it */
  readonly nodeId: string;
  /**
   * Extends the leases this node holds (files, deliveries, batches, held invoices) and records its
   * heartbeat; a NodeReplacedError when another process has started under this id meanwhile.
   */
  renewLeases(state?: { paused?: string }): Promise<void>;
  /**
   * Takes this node id at start, as a new run of it: unless another process holds the id with a
   * heartbeat younger than a lease (on the database's clock); returns that holder when it does (two
   * starting at once: one wins). `replace` takes it regardless (its holder is known to be gone).
   */
  claimNodeId(options?: { replace?: boolean }): Promise<NodeRecord | undefined>;
  /** The ledger's clock (the database's, as this node last measured it), in epoch ms: due times are set and compared on it. */
  now(): number;
  /** A graceful stop: this node's heartbeat row is removed (it holds no work any more). */
  leave(): Promise<void>;
  /** A cheap round trip: resolves when the ledger answers, throws an EnvironmentError when it does not. */
  ping(): Promise<void>;
}

/** Dropped files: single-winner claims, resumed or taken over after a stop. */
export interface FileClaims {
  /**
   * Records the claim of a file (leased to this node); undefined when another claim of the same
   * processing path won, or when one was made for the same `arrival` (what tells this very file
   * from another of the same name: device, inode, change time): then another node has (had) it.
   */
  claimFile(claim: { source: string; name: string; contentHash: string; processingPath: string; arrival?: string }): Promise<ClaimedFile | undefined>;
  /** An earlier file of this source with the same content that issued invoices, if any. */
  findProcessed(source: string, contentHash: string): Promise<FileRecord | undefined>;
  file(id: number): Promise<FileRecord | undefined>;
  /**
   * Files claimed but not finished, now leased to this node: its own leftovers (`own`, at start)
   * and those whose lease expired (a node died). Each is taken by exactly one node.
   */
  takeOverFiles(options: { own: boolean }): Promise<FileRecord[]>;
  /**
   * Whether this very file (its `arrival`) in processing/ was claimed: a file no claim points to was
   * left by a node that died between moving and claiming it.
   */
  claimedAs(processingPath: string, arrival: string): Promise<boolean>;
  /**
   * Re-takes the lease on a file this node worked on before a pause (the ledger was unreachable):
   * false when another node took it over meanwhile, and this node must leave it alone.
   */
  reclaimFile(id: number): Promise<boolean>;
  /** Counts a start of processing of a file; returns how many there have been, this one included (a claim counts the first). */
  startAttempt(id: number): Promise<number>;
  /** Counts a start of a file processed alone (nothing else under way on the node); returns how many there have been. */
  startSoloAttempt(id: number): Promise<number>;
  /** Takes back the last counted start (the stop or the wait that followed was not the file's doing). */
  forgetAttempt(id: number): Promise<void>;
  /**
   * Records that a file this node took over is gone from processing/: only while it is still
   * unfinished and leased to this node (its first node may have finished it and be about to say so).
   */
  markVanished(id: number, state: 'done' | 'error', note: string): Promise<boolean>;
  /** Records a file's end; false when this node no longer holds it (another node took it over, or finished it). */
  finishFile(
    id: number,
    state: FileState,
    details: { finalPath?: string; invoicesFound?: number; invoicesRejected?: number; error?: string },
  ): Promise<boolean>;
}

/** Invoices: stored and numbered in one transaction, held ones issued by exactly one node. */
export interface InvoiceBook {
  /** Stores invoices, numbering each in the same transaction that stores it; all or nothing per call. */
  issue(requests: IssueRequest[]): Promise<IssueResult[]>;
  /** Issues a held invoice now (with the latest content), numbering it in the same transaction; undefined when it is no longer held. */
  issueHeld(invoiceId: number, invoice: CalculatedInvoice, deliveries: Delivery[]): Promise<{ number: string } | undefined>;
  /** A held invoice that failed its checks when its moment came: it stays unnumbered, out of the schedule. */
  rejectHeld(invoiceId: number, reason: string): Promise<void>;
  /** Replaces the content of a held invoice (a later drop for the same order). */
  updateHeld(invoiceId: number, invoice: CalculatedInvoice, deliveries: Delivery[]): Promise<void>;
  /** The held invoice of an order. */
  heldForOrder(orderKey: string): Promise<InvoiceRecord | undefined>;
  /** Whether an order was already invoiced (issued). */
  issuedForOrder(orderKey: string): Promise<InvoiceRecord | undefined>;
  /** Held invoices whose time has come, leased to this node so that no other node checks them at the same time. */
  claimDueHeld(now: number, limit?: number): Promise<InvoiceRecord[]>;
  /** An invoice by its number: numbers are unique per seller, not across sellers. */
  invoiceByNumber(seller: string, number: string): Promise<InvoiceRecord | undefined>;
  /** The sellers that issued an invoice with this number (to resolve a number a person gives). */
  sellersOfNumber(number: string): Promise<string[]>;
  invoiceById(id: number): Promise<InvoiceRecord | undefined>;
  /** Several invoices by id in one look (the outbox reads a round of deliveries' invoices at once). */
  invoicesByIds(ids: number[]): Promise<Map<number, InvoiceRecord>>;
  invoicesOfFile(fileId: number): Promise<{ number?: string; state: InvoiceState; sourceKey: string }[]>;
}

/** The transactional outbox: deliveries claimed under lease, sent, retried. */
export interface DeliveryQueue {
  /**
   * Deliveries due at `now` (and those whose lease expired), leased to this node in state sending;
   * none for the busy targets (see targetKey). Two nodes never get the same delivery. A failed
   * delivery due after `staleAfter` is due now too: no retry waits that long, so it was timed by a
   * clock that has since been set back.
   */
  claimDueDeliveries(now: number, limit: number, busyTargets?: string[], staleAfter?: number): Promise<DeliveryRecord[]>;
  /**
   * Records a send; false when the outcome is stale (another node took the delivery over, or sent
   * it): it is then left as that node recorded it.
   */
  markSent(id: number, result: string, progress?: DeliveryProgress): Promise<boolean>;
  /** What became of a sent delivery later (an access point's delivery evidence); its state stays sent. */
  amendResult(id: number, result: string, progress?: DeliveryProgress): Promise<void>;
  /** Records a failed send and when to try again; false when the outcome is stale (as markSent). */
  markFailed(id: number, error: string, nextAttemptAt: number, dead: boolean): Promise<boolean>;
  /**
   * Not a failure: the target asked us to come back later (a mailbox's daily limit, throttling).
   * The delivery is pending again at `nextAttemptAt` with the note, and the attempt is not counted.
   */
  markDeferred(id: number, note: string, nextAttemptAt: number): Promise<boolean>;
  /** E-mail since a time (ISO): how many went out, when the first of them did, and how many wait to go. */
  mailActivity(since: string): Promise<{ sent: number; first?: string; waiting: number }>;
  /** At start: this node's deliveries left in "sending" become due again (their idempotency key prevents a second copy); other nodes' are left alone. */
  releaseOwnSending(): Promise<number>;
  /** Makes failed, dead or bounced deliveries due now, by delivery id or by file (an e-mail one to the corrected address `to`); returns how many. */
  retry(selector: { deliveryId?: number; fileId?: number; to?: string }): Promise<number>;
  /**
   * A sent mail reported undeliverable (a bounce read from the sender's mailbox), by its delivery
   * key: the delivery becomes "bounced" with the reason, logged; undefined when no sent e-mail
   * delivery has that key (not ours, or already marked).
   */
  markBounced(idempotencyKey: string, reason: string): Promise<number | undefined>;
  /** New deliveries for an issued invoice (explicit resend): new idempotency keys, logged. */
  resend(seller: string, invoiceNumber: string, reason: string, by?: string): Promise<number>;
  deliveriesOfInvoice(invoiceId: number): Promise<DeliveryRecord[]>;
  deliveryById(id: number): Promise<DeliveryRecord | undefined>;
  /** Delivery counts of one file's invoices, for progress. */
  deliveryStatesOfFile(fileId: number): Promise<{ total: number; sent: number; dead: number; failed: number }>;
}

/** Accounting import files: each batch written by exactly one node. */
export interface ExportBatches {
  /** Accounting deliveries waiting for a batch of this format and administration. */
  pendingExports(format: string, administration: string, now: number): Promise<DeliveryRecord[]>;
  /**
   * Records a batch before its file is written and leases its deliveries to this node (crash-safe:
   * see finishBatch); undefined when another node took one of them first (nothing recorded).
   */
  openBatch(batch: { format: string; administration: string; fileName: string; contentHash: string; deliveryIds: number[] }): Promise<number | undefined>;
  /** After the file is written: every invoice recorded as exported, its deliveries sent, the batch done; false when another node holds the batch now. */
  finishBatch(batchId: number, exported: { invoiceNumber: string; contentHash: string }[]): Promise<boolean>;
  /** Batches whose file may or may not have been written when their node stopped: this node's, and those whose lease expired, now leased to this node. */
  takeOverBatches(): Promise<ExportBatch[]>;
  /** The batch that exported an invoice to an administration, if any. */
  exportedIn(format: string, administration: string, invoiceNumber: string): Promise<number | undefined>;
  /** Forgets an export and queues the route again: an explicit, logged re-issue. */
  reexport(seller: string, invoiceNumber: string, format: string, administration: string, reason: string, by?: string): Promise<boolean>;
}

/** The audit trail: what was done on purpose (resend, retry, reexport), by whom and why. */
export interface EventLog {
  logEvent(kind: string, detail: Record<string, unknown>): Promise<void>;
}

/** Answers worth keeping for a while (Peppol lookups), shared by every node; nothing in it is needed for correctness. */
export interface KeyValueCache {
  /** the value, unless it expired before `now` */
  cacheGet(key: string, now: number): Promise<string | undefined>;
  cachePut(key: string, value: string, expiresAt: number): Promise<void>;
}

/**
 * What the Peppol transport must remember beyond any cache: what it submitted under a message
 * instance id (so a retry after a crash is never a second submission), and the accepted messages
 * whose delivery it still asks the access point about.
 */
export interface PeppolBook {
  /** the state of a submission ('submitting', 'failed', or 'done:' and its outcome), if there was one */
  submission(instanceId: string): Promise<string | undefined>;
  recordSubmission(instanceId: string, state: string): Promise<void>;
  /** asks about an accepted message until `untilMs` (the entry is the transport's own JSON) */
  addFollowUp(deliveryId: number, entry: string, untilMs: number): Promise<void>;
  /** the follow-ups still open at `now`, oldest first */
  followUps(now: number, limit: number): Promise<{ deliveryId: number; entry: string }[]>;
  dropFollowUp(deliveryId: number): Promise<void>;
}

/** The read side for `status` (and an operator console). */
export interface LedgerQueries {
  status(now: number): Promise<LedgerStatus>;
  /** The gateway processes on this ledger, with their last heartbeat. */
  nodes(): Promise<NodeRecord[]>;
  /** Counts for Prometheus: files per source and state, invoices per state, deliveries per state and transport, the oldest waiting delivery. */
  metrics(): Promise<LedgerMetrics>;
}

/**
 * The gateway's durable memory, on SQLite (one node) or PostgreSQL (several nodes). Claims are
 * single-winner leases, numbering is transactional; the domain rules (keys, payment reference,
 * batched formats) live in keys.ts and formats/batched.ts, not in the SQL classes.
 */
/** The console's sessions, kept where every node finds them. */
export interface ConsoleSessions {
  /** the key that signs the session cookies: made by the first node that asks, the same for all */
  consoleSecret(): Promise<string>;
  /** a session's data (JSON) while it has not expired */
  sessionGet(id: string): Promise<string | undefined>;
  /** keeps a session for `ttlMs` from now (the database's now); an expired one is forgotten now and then */
  sessionSet(id: string, data: string, ttlMs: number): Promise<void>;
  sessionDestroy(id: string): Promise<void>;
}

export interface Ledger
  extends Leases, FileClaims, InvoiceBook, DeliveryQueue, ExportBatches, EventLog, LedgerQueries, KeyValueCache, PeppolBook, ConsoleSessions {
  /** which database holds it, for logs and status ("sqlite /path", "postgres host/db") */
  readonly description: string;
  /** one node only (SQLite: one writer, and the process lock keeps others out): a file no claim points to is its own */
  readonly singleNode: boolean;
  /** lists and searches for the console and the HTTP API */
  readonly browse: LedgerBrowse;
  close(): Promise<void>;
}
