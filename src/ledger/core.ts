import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { CalculatedInvoice } from '../model/invoice.js';
import type { Delivery } from '../routing/route.js';
import type {
  DeliveryProgress,
  DeliveryRecord,
  ExportBatch,
  ClaimedFile,
  FileRecord,
  FileState,
  InvoiceRecord,
  InvoiceState,
  IssueRequest,
  IssueResult,
  LeaseSettings,
  Ledger,
  LedgerMetrics,
  LedgerStatus,
  NodeRecord,
} from './ledger.js';
import type { LedgerBrowse } from './sql/browse.js';
import { failureKind, LeaseLostError, NodeReplacedError } from '../errors.js';
import { seriesSlot } from './numbering.js';
import { copyKey, numbered } from './keys.js';
import { BATCHED_FORMATS } from '../formats/batched.js';
import {
  batchFromRow,
  deliveryFromRow,
  deliveryRow,
  deliveryRows,
  fileFromRow,
  invoiceFromRow,
  invoiceRow,
  issueDecision,
  leaseLost,
  nodeFromRow,
  searchColumns,
} from './rows.js';
import { metricsFromRows, STATUS_SQL, statusFromRows } from './sql/status-query.js';
import type { Row, SqlExecutor, SqlRunner } from './sql/executor.js';
import { Gatherer } from './gather.js';
import { insertRows, ledgerStatements, type LedgerStatements } from './sql/statements.js';

/** The first call for each id, and the calls for an id seen before (run after, one by one). */
function firstOfEachId<T extends { id: number }>(calls: T[]): { firsts: T[]; again: T[] } {
  const seen = new Set<number>();
  const firsts: T[] = [];
  const again: T[] = [];
  for (const call of calls) {
    if (seen.has(call.id)) again.push(call);
    else {
      seen.add(call.id);
      firsts.push(call);
    }
  }
  return { firsts, again };
}

/** A delivery sent, as markSent records it. */
type SentOutcome = { id: number; result: string; progress: string | null };

/** How a file ended, as finishFile records it. */
type FileEnd = { id: number; state: FileState; finalPath?: string; invoicesFound?: number; invoicesRejected?: number; error?: string };

/** At most this many calls of issue() share one transaction (group commit). */
const CALLS_PER_STORE = 16;

/** Rows per multi-row INSERT: well under either database's limit on parameters, and few statement shapes to cache. */
const ROWS_PER_INSERT = 100;

const num = (v: unknown): number => Number(v);

/** Length of a string in characters, as SQL's substr counts them. */
const charLength = (s: string): number => [...s].length;

/**
 * Splits requests into runs in which no business key, own number or (file, ordinal) repeats: the
 * lookups of one run cannot see its own inserts, the next run's can.
 */
function chunksWithoutRepeats(requests: IssueRequest[]): IssueRequest[][] {
  const chunks: IssueRequest[][] = [];
  let seen = new Set<string>();
  let chunk: IssueRequest[] = [];
  for (const req of requests) {
    const seller = req.invoice.meta.sellerKey;
    const keys = [`s|${req.fileId}|${req.seqInFile}`];
    if (req.businessKey) keys.push(`b|${seller}|${req.businessKey}`);
    if (req.invoice.number) keys.push(`n|${seller}|${req.invoice.number}`);
    if (keys.some((k) => seen.has(k))) {
      chunks.push(chunk);
      chunk = [];
      seen = new Set();
    }
    chunk.push(req);
    for (const k of keys) seen.add(k);
  }
  if (chunk.length) chunks.push(chunk);
  return chunks;
}

/** Groups values by a key: one lookup per file, or per seller. */
function grouped<V>(requests: IssueRequest[], groupOf: (r: IssueRequest) => string, valueOf: (r: IssueRequest) => V): Map<string, V[]> {
  const groups = new Map<string, V[]>();
  for (const r of requests) {
    const list = groups.get(groupOf(r)) ?? [];
    list.push(valueOf(r));
    groups.set(groupOf(r), list);
  }
  return groups;
}

/**
 * The ledger, written once over a tiny SQL executor (SQLite or PostgreSQL). Work is leased to a
 * run of a node (`<node id>#<run>`), leases are timed by the database's clock, and every change a
 * stale holder could make (a store, an outcome, a file's or a batch's end) requires that it still
 * holds the row: a node that was frozen or cut off finds its work taken over and leaves it.
 */
export class LedgerCore implements Ledger {
  readonly nodeId: string;
  readonly singleNode: boolean;
  private readonly leaseMs: number;
  private readonly S: LedgerStatements;
  /** this process's run of the node id, once taken */
  private run: number | undefined;
  private claiming: Promise<NodeRecord | undefined> | undefined;
  /** the database's clock minus this machine's, as last measured */
  private offsetMs = 0;
  /** calls of issue() waiting for the store under way to end (see issue) */
  private readonly issueGatherer = new Gatherer((calls: IssueRequest[][]) => this.issueGroup(calls), CALLS_PER_STORE, {
    run: (requests) => this.issueNow(requests),
    // the database away (not a file taken over): every call waits for it alike, none is tried alone
    when: (err) => failureKind(err) !== 'environment' || err instanceof LeaseLostError,
  });
  private sessionWrites = 0;
  private readonly finishGatherer = new Gatherer((ends: FileEnd[]) => this.finishFilesNow(ends), 64);
  private readonly sentGatherer = new Gatherer((sent: SentOutcome[]) => this.markSentNow(sent), 64);
  /** the shortest round trip a clock reading took so far */
  private bestTrip = Number.POSITIVE_INFINITY;
  private readonly localClock: () => number;

  constructor(
    protected readonly x: SqlExecutor,
    lease: LeaseSettings,
    readonly description: string,
    readonly browse: LedgerBrowse,
  ) {
    this.nodeId = lease.nodeId;
    this.leaseMs = lease.leaseMs;
    this.localClock = lease.clock ?? Date.now;
    this.singleNode = x.dialect.singleWriter;
    this.S = ledgerStatements(x.dialect);
  }

  now(): number {
    return this.localClock() + this.offsetMs;
  }

  private nowIso(): string {
    return new Date(this.now()).toISOString();
  }

  /** The lease holder's name for this run: `<node id>#<run>`; the run is taken on first use. */
  private async me(): Promise<string> {
    if (this.run === undefined) await this.claimNodeId({ replace: true });
    return `${this.nodeId}#${this.run}`;
  }

  /** `[length, prefix]` of the holder names of every run of this node id. */
  private anyRun(): [number, string] {
    const prefix = `${this.nodeId}#`;
    return [charLength(prefix), prefix];
  }

  /**
   * Measures the clock offset from a reading of the database's clock taken between `sentAt` and now.
   * The reading is somewhere in the round trip, so a slow one (a busy machine) says little: it is
   * used only when the trip was short, or about as short as the best one so far.
   */
  private measured(dbNowMs: unknown, sentAt: number): void {
    const back = this.localClock();
    const trip = back - sentAt;
    if (trip > 20 && trip > 2 * this.bestTrip) return;
    this.bestTrip = Math.min(this.bestTrip, trip);
    const offset = Math.round(num(dbNowMs) - (sentAt + back) / 2);
    // below a second it is the reading's own blur, not a clock that is off: due times stay this machine's
    this.offsetMs = Math.abs(offset) < 1_000 ? 0 : offset;
  }

  async ping(): Promise<void> {
    await this.x.all(this.S.ping);
  }

  // --- nodes and leases

  claimNodeId(options: { replace?: boolean } = {}): Promise<NodeRecord | undefined> {
    if (this.run !== undefined) return Promise.resolve(undefined);
    this.claiming ??= this.takeNodeId(options.replace ?? false).finally(() => (this.claiming = undefined));
    return this.claiming;
  }

  private async takeNodeId(replace: boolean): Promise<NodeRecord | undefined> {
    const sentAt = this.localClock();
    const [clock] = await this.x.all(this.S.clock);
    this.measured(clock!['now_ms'], sentAt);
    const won = await this.x.all(this.S.claimNode, [this.nodeId, hostname(), process.pid, Math.round(this.offsetMs), this.leaseMs, replace ? 1 : 0]);
    if (won[0]) {
      this.run = num(won[0]['run']);
      return undefined;
    }
    const [holder] = await this.x.all(this.S.nodeById, [this.nodeId]);
    return holder ? nodeFromRow(holder) : undefined;
  }

  async renewLeases(state: { paused?: string } = {}): Promise<void> {
    const me = await this.me();
    const sentAt = this.localClock();
    const beat = await this.x.all(this.S.heartbeat, [state.paused ?? null, Math.round(this.offsetMs), this.nodeId, this.run]);
    if (!beat[0])
      throw new NodeReplacedError(
        `another process started as gateway node "${this.nodeId}" while this one was silent (frozen, or cut off from the ledger); it has taken over this node's work, and this process stops`,
        {},
      );
    this.measured(beat[0]['now_ms'], sentAt);
    // one statement per kind, each on its own: a renewal never holds one table's rows while it waits for another's
    await this.x.run(this.S.renewFiles, [this.leaseMs, me]);
    await this.x.run(this.S.renewDeliveries, [this.leaseMs, me]);
    await this.x.run(this.S.renewBatches, [this.leaseMs, me]);
  }

  async leave(): Promise<void> {
    if (this.run !== undefined) await this.x.run(this.S.leave, [this.nodeId, this.run]);
  }

  // --- files

  async claimFile(claim: { source: string; name: string; contentHash: string; processingPath: string; arrival?: string }): Promise<ClaimedFile | undefined> {
    const me = await this.me();
    const arrival = claim.arrival ?? null;
    try {
      const rows = await this.x.all(this.S.claimFile, [
        claim.source,
        claim.name,
        claim.contentHash,
        claim.processingPath,
        me,
        this.leaseMs,
        arrival,
        claim.processingPath,
        arrival,
      ]);
      // the duplicate check rides along: the earliest file done with the same content, if any
      if (rows[0]) return { ...fileFromRow(rows[0]), sameContentAs: rows[0]['same_content_as'] == null ? undefined : Number(rows[0]['same_content_as']) };
    } catch (err) {
      // SQLite reports the partial unique index as a constraint error where PostgreSQL does nothing
      if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw err;
    }
    // this run claimed this very file before and the answer was lost (the database went away after
    // the commit): the claim is its own, and is given back instead of leaving the file to nobody
    if (arrival === null) return undefined;
    const [own] = await this.x.all(this.S.ownClaim, [claim.processingPath, arrival, me]);
    return own ? { ...fileFromRow(own), sameContentAs: (await this.findProcessed(claim.source, claim.contentHash))?.id } : undefined;
  }

  async claimedAs(processingPath: string, arrival: string): Promise<boolean> {
    return (await this.x.all(this.S.claimedAs, [processingPath, arrival])).length > 0;
  }

  async findProcessed(source: string, contentHash: string): Promise<FileRecord | undefined> {
    const [row] = await this.x.all(this.S.processed, [source, contentHash]);
    return row ? fileFromRow(row) : undefined;
  }

  async file(id: number): Promise<FileRecord | undefined> {
    const [row] = await this.x.all(this.S.fileById, [id]);
    return row ? fileFromRow(row) : undefined;
  }

  async takeOverFiles(options: { own: boolean }): Promise<FileRecord[]> {
    const me = await this.me();
    const rows = await this.x.all(this.S.takeOverFiles, [me, this.leaseMs, options.own ? 1 : 0, ...this.anyRun()]);
    return rows.map(fileFromRow).sort((a, b) => a.id - b.id);
  }

  async reclaimFile(id: number): Promise<boolean> {
    const me = await this.me();
    return (await this.x.run(this.S.reclaimFile, [me, this.leaseMs, id, me])) === 1;
  }

  async markVanished(id: number, state: 'done' | 'error', note: string): Promise<boolean> {
    return (await this.x.run(this.S.markVanished, [state, note, id, await this.me()])) === 1;
  }

  async forgetAttempt(id: number): Promise<void> {
    await this.x.run(this.S.forgetAttempt, [id, await this.me()]);
  }

  async startAttempt(id: number): Promise<number> {
    const [row] = await this.x.all(this.S.startAttempt, [id, await this.me()]);
    return num(row?.['attempts'] ?? 0);
  }

  async startSoloAttempt(id: number): Promise<number> {
    const [row] = await this.x.all(this.S.startSoloAttempt, [id, await this.me()]);
    return num(row?.['solo_attempts'] ?? 0);
  }

  async finishFile(
    id: number,
    state: FileState,
    d: { finalPath?: string; invoicesFound?: number; invoicesRejected?: number; error?: string },
  ): Promise<boolean> {
    // on PostgreSQL the files that end while one end is being recorded are recorded together, in one statement
    const end = { id, state, ...d };
    return this.x.dialect.rowArrays ? this.finishGatherer.run(end) : this.finishFileAlone(end);
  }

  private async finishFileAlone(e: FileEnd): Promise<boolean> {
    const params = [e.state, e.finalPath ?? null, e.invoicesFound ?? null, e.invoicesRejected ?? null, e.error ?? null, e.id, await this.me()];
    return (await this.x.run(this.S.finishFile, params)) === 1;
  }

  // --- invoices

  /** Takes `count` numbers of a series; the counter row stays locked until the transaction ends, so numbers never gap or repeat. */
  private async takeNumbers(tx: SqlRunner, seller: string, counter: string, count: number): Promise<number> {
    const [row] = await tx.all(this.S.takeNumbers, [seller, counter, count]);
    return num(row!['last_seq']) - count + 1;
  }

  private async insert(tx: SqlRunner, table: string, rows: Record<string, unknown>[], returning: string): Promise<Row[]> {
    const out: Row[] = [];
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      const { sql, params } = insertRows(table, rows.slice(i, i + ROWS_PER_INSERT), returning);
      out.push(...(await tx.all(sql, params)));
    }
    return out;
  }

  /**
   * Stores invoices. The calls of this node's files that come while a store is under way are
   * gathered and stored in one transaction after it (group commit): one take of the number counter
   * and one commit for several files. When that transaction fails, each call is stored on its own,
   * so that one file's trouble (taken over by another node) is never another file's.
   */
  issue(requests: IssueRequest[]): Promise<IssueResult[]> {
    return this.issueGatherer.run(requests);
  }

  /** One transaction for the gathered calls; each call gets back the results of its own requests. */
  private async issueGroup(calls: IssueRequest[][]): Promise<IssueResult[][]> {
    const results = await this.issueNow(calls.flat());
    let at = 0;
    return calls.map((requests) => results.slice(at, (at += requests.length)));
  }

  private async issueNow(requests: IssueRequest[]): Promise<IssueResult[]> {
    const me = await this.me();
    return this.x.transaction(async (tx) => {
      if (this.x.dialect.advisoryLocks) {
        // business keys and the sources' own numbers are checked under locks taken in one order,
        // so two nodes storing the same invoice at the same moment see each other's commit
        const keys = new Set<string>();
        for (const req of requests) {
          const seller = req.invoice.meta.sellerKey;
          if (req.businessKey) keys.add(`bk|${seller}|${req.businessKey}`);
          if (req.invoice.number) keys.add(`no|${seller}|${req.invoice.number}`);
        }
        if (keys.size) await tx.all(this.S.lockKeys, [[...keys].sort()]);
      }
      // the fence: only the holder of a file that is still processing stores for it
      const fileIds = [...new Set(requests.map((r) => r.fileId))];
      const files = new Map((await tx.all(this.S.fence, [fileIds])).map((r) => [num(r['id']), r]));
      for (const id of fileIds) {
        const f = files.get(id);
        if (!f || f['state'] !== 'processing' || f['lease_owner'] !== me)
          throw leaseLost(id, { state: f?.['state'] as string | undefined, holder: f?.['lease_owner'] as string | null | undefined });
      }
      const results: IssueResult[] = [];
      // a chunk holds no key twice, so one round of lookups answers for all of it; a later chunk sees what an earlier one stored
      for (const chunk of chunksWithoutRepeats(requests)) results.push(...(await this.issueChunk(tx, chunk)));
      return results;
    });
  }

  /** Stores a chunk of requests with a handful of statements: lookups, one number range per series, multi-row inserts. */
  private async issueChunk(tx: SqlRunner, requests: IssueRequest[]): Promise<IssueResult[]> {
    const sellerOf = (r: IssueRequest): string => r.invoice.meta.sellerKey;
    // what these files stored before (a resumed file), for all of the chunk's files in one statement
    const storedBy = new Map<string, Row>();
    const files = [...new Set(requests.map((r) => r.fileId))];
    const ordinals = [...new Set(requests.map((r) => r.seqInFile))];
    for (const r of await tx.all(this.S.storedOfFiles, [files, ordinals])) storedBy.set(`${num(r['file_id'])}|${num(r['seq_in_file'])}`, r);
    const beforeBy = new Map<string, Row>();
    for (const [seller, keys] of grouped(
      requests.filter((r) => r.businessKey),
      sellerOf,
      (r) => r.businessKey!,
    ))
      for (const r of await tx.all(this.S.issuedByKey, [keys, seller])) {
        const key = `${String(r['seller'])}|${String(r['business_key'])}`;
        if (!beforeBy.has(key)) beforeBy.set(key, r); // the first issued: rows come in id order
      }
    const clashBy = new Map<string, Row>();
    for (const [seller, numbers] of grouped(
      requests.filter((r) => r.invoice.number),
      sellerOf,
      (r) => r.invoice.number!,
    ))
      for (const r of await tx.all(this.S.numbersOfSeller, [seller, numbers])) clashBy.set(`${String(r['seller'])}|${String(r['number'])}`, r);
    const decisions = requests.map((req) => {
      const s = storedBy.get(`${req.fileId}|${req.seqInFile}`);
      const b = req.businessKey ? beforeBy.get(`${sellerOf(req)}|${req.businessKey}`) : undefined;
      const n = req.invoice.number ? clashBy.get(`${sellerOf(req)}|${req.invoice.number}`) : undefined;
      return issueDecision(req, {
        ...(s ? { stored: { id: num(s['id']), number: s['number'] as string | null } } : {}),
        ...(b ? { before: { id: num(b['id']), number: b['number'] as string | null, fileName: b['name'] as string } } : {}),
        ...(n ? { numberClash: { fileName: n['name'] as string } } : {}),
      });
    });
    // numbers: one range per series, taken in a fixed order (the counter rows stay locked until commit)
    const needs = new Map<string, { seller: string; slot: ReturnType<typeof seriesSlot>; count: number }>();
    const slotOf = requests.map((req, i) => {
      if (decisions[i] !== 'store' || req.hold || req.invoice.number) return undefined;
      const slot = seriesSlot(req.numberFormat, req.invoice.issueDate);
      const key = `${sellerOf(req)}\u0000${slot.counter}`;
      const need = needs.get(key) ?? { seller: sellerOf(req), slot, count: 0 };
      need.count++;
      needs.set(key, need);
      return key;
    });
    const next = new Map<string, { render: (seq: number) => string; seq: number }>();
    for (const key of [...needs.keys()].sort()) {
      const need = needs.get(key)!;
      next.set(key, { render: need.slot.render, seq: await this.takeNumbers(tx, need.seller, need.slot.counter, need.count) });
    }
    const now = this.nowIso();
    const toStore = requests.flatMap((req, i) => {
      if (decisions[i] !== 'store') return [];
      const series = slotOf[i] ? next.get(slotOf[i]!) : undefined;
      const number = req.hold ? undefined : (req.invoice.number ?? series!.render(series!.seq++));
      return [{ req, number }];
    });
    const ids = new Map<string, number>();
    if (toStore.length) {
      const rows = toStore.map(({ req, number }) => invoiceRow(req, number, now));
      for (const r of await this.insert(tx, 'invoices', rows, 'id, file_id, seq_in_file'))
        ids.set(`${num(r['file_id'])}|${num(r['seq_in_file'])}`, num(r['id']));
      const deliveries = toStore.flatMap(({ req, number }) =>
        number ? deliveryRows(ids.get(`${req.fileId}|${req.seqInFile}`)!, sellerOf(req), number, req.deliveries, this.now(), now) : [],
      );
      if (deliveries.length) await this.insert(tx, 'deliveries', deliveries, 'id');
    }
    const numberOf = new Map(toStore.map(({ req, number }) => [req, number]));
    return requests.map((req, i): IssueResult => {
      const decision = decisions[i]!;
      if (decision !== 'store') return decision;
      const invoiceId = ids.get(`${req.fileId}|${req.seqInFile}`)!;
      const number = numberOf.get(req);
      return number ? { status: 'issued', invoiceId, number } : { status: 'held', invoiceId };
    });
  }

  async issueHeld(invoiceId: number, invoice: CalculatedInvoice, deliveries: Delivery[]): Promise<{ number: string } | undefined> {
    return this.x.transaction(async (tx) => {
      // the row lock makes the check-and-issue single-winner across nodes
      const [row] = await tx.all(this.S.invoiceForUpdate, [invoiceId]);
      if (!row || row['state'] !== 'held') return undefined;
      const seller = row['seller'] as string;
      let number = invoice.number;
      if (!number) {
        const slot = seriesSlot(row['number_format'] as string, invoice.issueDate);
        number = slot.render(await this.takeNumbers(tx, seller, slot.counter, 1));
      }
      const document = numbered(invoice, number);
      const search = searchColumns(document);
      await tx.run(this.S.issueHeld, [
        number,
        JSON.stringify(document),
        JSON.stringify(deliveries),
        this.nowIso(),
        search.issue_date,
        search.buyer_name,
        search.buyer_search,
        search.amount,
        invoiceId,
      ]);
      const rows = deliveryRows(invoiceId, seller, number, deliveries, this.now(), this.nowIso());
      if (rows.length) await this.insert(tx, 'deliveries', rows, 'id');
      return { number };
    });
  }

  async rejectHeld(invoiceId: number, reason: string): Promise<void> {
    await this.x.transaction(async (tx) => {
      if (await tx.run(this.S.rejectHeld, [invoiceId])) await this.event(tx, 'held-rejected', { invoiceId, reason });
    });
  }

  async updateHeld(invoiceId: number, invoice: CalculatedInvoice, deliveries: Delivery[]): Promise<void> {
    const search = searchColumns(invoice);
    await this.x.run(this.S.updateHeld, [
      JSON.stringify(invoice),
      JSON.stringify(deliveries),
      invoice.totals.payableAmount,
      search.issue_date,
      search.buyer_name,
      search.buyer_search,
      search.amount,
      invoiceId,
    ]);
  }

  private async invoiceWhere(sql: string, params: unknown[]): Promise<InvoiceRecord | undefined> {
    const [row] = await this.x.all(sql, params);
    return row ? invoiceFromRow(row) : undefined;
  }

  heldForOrder(orderKey: string): Promise<InvoiceRecord | undefined> {
    return this.invoiceWhere(this.S.heldForOrder, [orderKey]);
  }

  issuedForOrder(orderKey: string): Promise<InvoiceRecord | undefined> {
    return this.invoiceWhere(this.S.issuedForOrder, [orderKey]);
  }

  invoiceByNumber(seller: string, number: string): Promise<InvoiceRecord | undefined> {
    return this.invoiceWhere(this.S.invoiceByNumber, [seller, number]);
  }

  async consoleSecret(): Promise<string> {
    // the first node's offer stands; every later one reads it
    await this.x.run(this.S.consoleSecretOffer, [randomBytes(32).toString('hex')]);
    const [row] = await this.x.all(this.S.consoleSecret, []);
    return String(row!['value']);
  }

  async sessionGet(id: string): Promise<string | undefined> {
    const [row] = await this.x.all(this.S.sessionGet, [id]);
    return row ? String(row['data']) : undefined;
  }

  async sessionSet(id: string, data: string, ttlMs: number): Promise<void> {
    await this.x.run(this.S.sessionSet, [id, data, Math.max(0, Math.round(ttlMs))]);
    if (++this.sessionWrites % 100 === 1) await this.x.run(this.S.sessionsExpired, []);
  }

  async sessionDestroy(id: string): Promise<void> {
    await this.x.run(this.S.sessionDestroy, [id]);
  }

  invoiceById(id: number): Promise<InvoiceRecord | undefined> {
    return this.invoiceWhere(this.S.invoiceById, [id]);
  }

  async invoicesByIds(ids: number[]): Promise<Map<number, InvoiceRecord>> {
    if (!ids.length) return new Map();
    const rows = await this.x.all(this.S.invoicesByIds, [[...new Set(ids)]]);
    return new Map(rows.map(invoiceFromRow).map((r) => [r.id, r]));
  }

  async claimDueHeld(now: number, limit = 500): Promise<InvoiceRecord[]> {
    const me = await this.me();
    const rows = await this.x.all(this.S.claimDueHeld, [me, this.leaseMs, now, me, limit]);
    return rows.map(invoiceFromRow).sort((a, b) => a.id - b.id);
  }

  async sellersOfNumber(number: string): Promise<string[]> {
    return (await this.x.all(this.S.sellersOfNumber, [number])).map((r) => r['seller'] as string);
  }

  async invoicesOfFile(fileId: number): Promise<{ number?: string; state: InvoiceState; sourceKey: string }[]> {
    return (await this.x.all(this.S.invoicesOfFile, [fileId])).map((r) => ({
      state: r['state'] as InvoiceState,
      sourceKey: r['source_key'] as string,
      ...(r['number'] ? { number: r['number'] as string } : {}),
    }));
  }

  // --- deliveries

  async claimDueDeliveries(now: number, limit: number, busyTargets: string[] = [], staleAfter = Number.MAX_SAFE_INTEGER): Promise<DeliveryRecord[]> {
    // SKIP LOCKED (PostgreSQL): a row another node is claiming right now is passed over, never waited for or taken twice
    // each state is read a few times the limit deep: rows another node is locking right now are passed over
    const sendable = [BATCHED_FORMATS, busyTargets, limit * 4];
    const rows = await this.x.all(this.S.claimDueDeliveries, [
      await this.me(),
      this.leaseMs,
      ...[now, ...sendable],
      ...[now, staleAfter, ...sendable],
      ...sendable,
      ...[now, staleAfter, limit],
    ]);
    return rows.map(deliveryFromRow).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.id - b.id);
  }

  async markSent(id: number, result: string, progress?: DeliveryProgress): Promise<boolean> {
    // on PostgreSQL the sends that finish while one is being recorded are recorded together, in one statement
    const sent = { id, result, progress: progress ?? null };
    return this.x.dialect.rowArrays ? this.sentGatherer.run(sent) : this.markSentAlone(sent);
  }

  private async markSentAlone(s: SentOutcome): Promise<boolean> {
    return (await this.x.run(this.S.markSent, [this.nowIso(), s.result, s.progress, s.id, await this.me(), BATCHED_FORMATS])) === 1;
  }

  private async finishFilesNow(all: FileEnd[]): Promise<boolean[]> {
    return this.eachIdOnce(
      all,
      async (ends) =>
        this.x.all(this.S.finishFiles, [
          ends.map((e) => e.id),
          ends.map((e) => e.state),
          ends.map((e) => e.finalPath ?? null),
          ends.map((e) => e.invoicesFound ?? null),
          ends.map((e) => e.invoicesRejected ?? null),
          ends.map((e) => e.error ?? null),
          await this.me(),
        ]),
      (e) => this.finishFileAlone(e),
    );
  }

  private async markSentNow(all: SentOutcome[]): Promise<boolean[]> {
    return this.eachIdOnce(
      all,
      async (sent) =>
        this.x.all(this.S.markSentMany, [
          this.nowIso(),
          sent.map((s) => s.id),
          sent.map((s) => s.result),
          sent.map((s) => s.progress),
          await this.me(),
          BATCHED_FORMATS,
        ]),
      (s) => this.markSentAlone(s),
    );
  }

  /**
   * Gathered calls written in one statement that answers the ids it changed; a second call for an id
   * already in the group (a race) runs after it, alone, and finds the row changed.
   */
  private async eachIdOnce<T extends { id: number }>(
    all: T[],
    together: (firsts: T[]) => Promise<Row[]>,
    alone: (call: T) => Promise<boolean>,
  ): Promise<boolean[]> {
    const { firsts, again } = firstOfEachId(all);
    const changed = new Set((await together(firsts)).map((r) => num(r['id'])));
    const outcomes = new Map(firsts.map((call) => [call, changed.has(call.id)]));
    for (const call of again) outcomes.set(call, await alone(call));
    return all.map((call) => outcomes.get(call)!);
  }

  async amendResult(id: number, result: string, progress?: DeliveryProgress): Promise<void> {
    await this.x.run(this.S.amendResult, [result, progress ?? null, id]);
  }

  async markFailed(id: number, error: string, nextAttemptAt: number, dead: boolean): Promise<boolean> {
    return (await this.x.run(this.S.markFailed, [dead ? 'dead' : 'failed', error, nextAttemptAt, id, await this.me(), BATCHED_FORMATS])) === 1;
  }

  async markDeferred(id: number, note: string, nextAttemptAt: number): Promise<boolean> {
    return (await this.x.run(this.S.markDeferred, [note, nextAttemptAt, id, await this.me(), BATCHED_FORMATS])) === 1;
  }

  async mailActivity(since: string): Promise<{ sent: number; first?: string; waiting: number }> {
    const [row] = await this.x.all(this.S.mailSince, [since]);
    const [waiting] = await this.x.all(this.S.mailWaiting);
    const first = row?.['first'];
    return { sent: num(row?.['n'] ?? 0), ...(first ? { first: String(first) } : {}), waiting: num(waiting?.['n'] ?? 0) };
  }

  async markBounced(idempotencyKey: string, reason: string): Promise<number | undefined> {
    return this.x.transaction(async (tx) => {
      const [row] = await tx.all(this.S.markBounced, [reason, idempotencyKey]);
      if (!row) return undefined;
      await this.event(tx, 'bounced', { delivery: num(row['id']), reason });
      return num(row['id']);
    });
  }

  async releaseOwnSending(): Promise<number> {
    return this.x.run(this.S.releaseOwnSending, [...this.anyRun(), BATCHED_FORMATS]);
  }

  async retry(selector: { deliveryId?: number; fileId?: number; to?: string }): Promise<number> {
    if (selector.deliveryId !== undefined && selector.to !== undefined)
      return this.x.run(this.S.retryDeliveryTo, [selector.to, this.now(), selector.deliveryId]);
    if (selector.deliveryId !== undefined) return this.x.run(this.S.retryDelivery, [this.now(), selector.deliveryId]);
    if (selector.fileId !== undefined) return this.x.run(this.S.retryFile, [this.now(), selector.fileId]);
    return 0;
  }

  /** One more delivery over a route, with a key of its own (`<key>.<why>-<n>`): a deliberate, logged copy. */
  private async insertDeliberateCopy(tx: SqlRunner, invoiceId: number, seller: string, invoiceNumber: string, route: Delivery, why: 'resend' | 'reexport') {
    const [count] = await tx.all(this.S.countCopies, [invoiceId, route.routeId]);
    const row = deliveryRow(invoiceId, route, copyKey(seller, invoiceNumber, route.routeId, why, num(count!['n'])), this.now(), this.nowIso());
    await this.insert(tx, 'deliveries', [row], 'id');
  }

  async resend(seller: string, invoiceNumber: string, reason: string, by = 'unknown'): Promise<number> {
    return this.x.transaction(async (tx) => {
      const [row] = await tx.all(this.S.invoiceByNumberForUpdate, [seller, invoiceNumber]);
      if (!row || row['state'] !== 'issued') return 0;
      const invoice = invoiceFromRow(row);
      // a resend is a new, deliberate copy: its own key, so the target sees a new message
      for (const d of invoice.deliveries) await this.insertDeliberateCopy(tx, invoice.id, seller, invoiceNumber, d, 'resend');
      await this.event(tx, 'resend', { seller, invoice: invoiceNumber, deliveries: invoice.deliveries.length, reason, by });
      return invoice.deliveries.length;
    });
  }

  async deliveryById(id: number): Promise<DeliveryRecord | undefined> {
    const [row] = await this.x.all(this.S.deliveryById, [id]);
    return row ? deliveryFromRow(row) : undefined;
  }

  async deliveryStatesOfFile(fileId: number): Promise<{ total: number; sent: number; dead: number; failed: number }> {
    const [r = {}] = await this.x.all(this.S.deliveryStatesOfFile, [fileId]);
    return { total: Number(r['total'] ?? 0), sent: Number(r['sent'] ?? 0), dead: Number(r['dead'] ?? 0), failed: Number(r['failed'] ?? 0) };
  }

  async deliveriesOfInvoice(invoiceId: number): Promise<DeliveryRecord[]> {
    return (await this.x.all(this.S.deliveriesOfInvoice, [invoiceId])).map(deliveryFromRow);
  }

  // --- accounting batches

  async pendingExports(format: string, administration: string, now: number): Promise<DeliveryRecord[]> {
    return (await this.x.all(this.S.pendingExports, [format, administration, now])).map(deliveryFromRow);
  }

  async openBatch(batch: {
    format: string;
    administration: string;
    fileName: string;
    contentHash: string;
    deliveryIds: number[];
  }): Promise<number | undefined> {
    const me = await this.me();
    return this.x.transaction(async (tx) => {
      // another node is batching (or batched) one of them: this batch is not recorded, that node writes it
      if ((await tx.all(this.S.batchable, [batch.deliveryIds])).length !== batch.deliveryIds.length) return undefined;
      await tx.run(this.S.leaseForBatch, [me, this.leaseMs, batch.deliveryIds]);
      const [row] = await tx.all(this.S.openBatch, [
        batch.format,
        batch.administration,
        batch.fileName,
        batch.contentHash,
        JSON.stringify(batch.deliveryIds),
        this.nowIso(),
        me,
        this.leaseMs,
      ]);
      return num(row!['id']);
    });
  }

  async finishBatch(batchId: number, exported: { invoiceNumber: string; contentHash: string }[]): Promise<boolean> {
    const me = await this.me();
    return this.x.transaction(async (tx) => {
      const [b] = await tx.all(this.S.heldBatch, [batchId, me]);
      // another node took the batch over (this one was cut off): it writes the same file and records it
      if (!b) return false;
      const at = this.nowIso();
      for (const e of exported) await tx.run(this.S.recordExport, [b['format'], b['administration'], e.invoiceNumber, e.contentHash, batchId, at]);
      await tx.run(this.S.batchSent, [at, `${String(b['file_name'])} (batch ${batchId})`, JSON.parse(b['delivery_ids'] as string) as number[]]);
      await tx.run(this.S.batchDone, [at, batchId]);
      return true;
    });
  }

  async takeOverBatches(): Promise<ExportBatch[]> {
    const rows = await this.x.all(this.S.takeOverBatches, [await this.me(), this.leaseMs, ...this.anyRun()]);
    return rows.map(batchFromRow).sort((a, b) => a.id - b.id);
  }

  async exportedIn(format: string, administration: string, invoiceNumber: string): Promise<number | undefined> {
    const [row] = await this.x.all(this.S.exportedIn, [format, administration, invoiceNumber]);
    return row ? num(row['batch_id']) : undefined;
  }

  async reexport(seller: string, invoiceNumber: string, format: string, administration: string, reason: string, by = 'unknown'): Promise<boolean> {
    return this.x.transaction(async (tx) => {
      const [invoice] = await tx.all(this.S.invoiceByNumberForUpdate, [seller, invoiceNumber]);
      if (!invoice) return false;
      const route = (JSON.parse(invoice['routes'] as string) as Delivery[]).find((d) => d.format === format && d.target === administration);
      if (!route) return false;
      const removed = await tx.run(this.S.forgetExport, [format, administration, invoiceNumber]);
      await this.insertDeliberateCopy(tx, num(invoice['id']), seller, invoiceNumber, route, 'reexport');
      await this.event(tx, 'reexport', { seller, invoice: invoiceNumber, format, administration, reason, by, previousExportRemoved: removed > 0 });
      return true;
    });
  }

  // --- reading

  async status(now: number): Promise<LedgerStatus> {
    const counts = async (table: 'files' | 'invoices' | 'deliveries'): Promise<Record<string, number>> =>
      Object.fromEntries((await this.x.all(this.S.countsOf(table))).map((r) => [r['state'] as string, Number(r['n'])]));
    return statusFromRows(now, {
      files: await counts('files'),
      invoices: await counts('invoices'),
      deliveries: await counts('deliveries'),
      oldest: (await this.x.all(STATUS_SQL.oldest))[0],
      failures: await this.x.all(STATUS_SQL.failures),
      filesInError: await this.x.all(STATUS_SQL.filesInError),
      runs: await this.x.all(STATUS_SQL.runs),
      nodes: await this.x.all(this.S.nodes),
      numberSeries: await this.x.all(STATUS_SQL.numberSeries),
    });
  }

  async metrics(): Promise<LedgerMetrics> {
    return metricsFromRows(
      await this.x.all(this.S.metricsFiles),
      await this.x.all(this.S.metricsInvoices),
      await this.x.all(this.S.metricsDeliveries),
      (await this.x.all(STATUS_SQL.metricsOldest))[0],
    );
  }

  async nodes(): Promise<NodeRecord[]> {
    return (await this.x.all(this.S.nodes)).map(nodeFromRow);
  }

  // --- the audit trail and the cache

  private async event(tx: SqlRunner, kind: string, detail: Record<string, unknown>): Promise<void> {
    await tx.run(this.S.event, [this.nowIso(), kind, JSON.stringify(detail), this.nodeId]);
  }

  async logEvent(kind: string, detail: Record<string, unknown>): Promise<void> {
    await this.event(this.x, kind, detail);
  }

  async cacheGet(key: string, now: number): Promise<string | undefined> {
    const [row] = await this.x.all(this.S.cacheGet, [key, now]);
    return row ? String(row['value']) : undefined;
  }

  async cachePut(key: string, value: string, expiresAt: number): Promise<void> {
    await this.x.run(this.S.cachePut, [key, value, expiresAt]);
    // expired answers go as new ones come: the table stays as small as what is in use
    await this.x.run(this.S.cacheExpire, [this.now()]);
  }

  // --- Peppol

  async submission(instanceId: string): Promise<string | undefined> {
    const [row] = await this.x.all(this.S.peppolSubmission, [instanceId]);
    return row ? String(row['state']) : undefined;
  }

  async recordSubmission(instanceId: string, state: string): Promise<void> {
    await this.x.run(this.S.recordPeppolSubmission, [instanceId, state]);
  }

  async addFollowUp(deliveryId: number, entry: string, untilMs: number): Promise<void> {
    await this.x.run(this.S.addFollowUp, [deliveryId, entry, untilMs]);
  }

  async followUps(now: number, limit: number): Promise<{ deliveryId: number; entry: string }[]> {
    // the ones nobody will ask about any more go as the open ones are read
    await this.x.run(this.S.expireFollowUps, [now]);
    return (await this.x.all(this.S.followUps, [now, limit])).map((r) => ({ deliveryId: num(r['delivery_id']), entry: String(r['entry']) }));
  }

  async dropFollowUp(deliveryId: number): Promise<void> {
    await this.x.run(this.S.dropFollowUp, [deliveryId]);
  }

  async close(): Promise<void> {
    await this.x.close();
  }
}
