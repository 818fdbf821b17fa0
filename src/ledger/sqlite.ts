import { BrowseQueries, type LedgerBrowse } from './browse.js';
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { CalculatedInvoice } from '../model/invoice.js';
import type { Delivery } from '../routing/route.js';
import type {
  DeliveryRecord,
  ExportBatch,
  FileRecord,
  FileState,
  InvoiceRecord,
  InvoiceState,
  IssueRequest,
  IssueResult,
  Ledger,
  LedgerMetrics,
  LeaseSettings,
  LedgerStatus,
  NodeRecord,
  DeliveryProgress,
} from './ledger.js';
import { MIGRATIONS } from './migrations.js';
import { EnvironmentError } from '../errors.js';
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
  searchColumns,
  issueDecision,
  leaseLost,
  nodeFromRow,
  nowIso,
  type Row,
} from './rows.js';
import { metricsFromRows, STATUS_SQL, statusFromRows } from './status-query.js';

/** The batched (accounting) formats as an SQL list: their deliveries go out in batches, not one by one. */
const BATCHED_SQL = BATCHED_FORMATS.map((f) => `'${f}'`).join(', ');

/** Named-parameter INSERT for a row object. */
function insertSql(table: string, row: Record<string, unknown>): string {
  const cols = Object.keys(row);
  return `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`;
}

/**
 * The ledger on a SQLite file (WAL): the embedded default for one node. One writer at a time,
 * transactions for claims and numbering; the same leases as on PostgreSQL, so the contract is one.
 */
export class SqliteLedger implements Ledger {
  private readonly db: Database.Database;
  private readonly stmts: Record<string, Database.Statement>;
  readonly nodeId: string;
  readonly description: string;
  readonly browse: LedgerBrowse;
  private readonly leaseMs: number;
  private readonly startedAt = nowIso();

  constructor(
    readonly path: string,
    lease: LeaseSettings = { nodeId: hostname(), leaseMs: 60_000 },
  ) {
    this.nodeId = lease.nodeId;
    this.leaseMs = lease.leaseMs;
    this.description = `sqlite ${path}`;
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { timeout: 15_000 });
    this.checkIntegrity();
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
    this.browse = new BrowseQueries('sqlite', async (sql, params) => this.db.prepare(sql).all(...params) as Row[]);
    const s = (sql: string): Database.Statement => this.db.prepare(sql);
    this.stmts = {
      insertFile: s(`INSERT INTO files (source, name, content_hash, state, processing_path, claimed_at, lease_owner, lease_until, attempts)
        SELECT ?, ?, ?, 'processing', ?, ?, ?, ?, 1 WHERE NOT EXISTS (SELECT 1 FROM files WHERE processing_path = ? AND claimed_at >= ?)`),
      fileById: s('SELECT * FROM files WHERE id = ?'),
      processed: s(`SELECT * FROM files WHERE source = ? AND content_hash = ? AND state IN ('done', 'partial') ORDER BY id LIMIT 1`),
      finishFile: s(
        'UPDATE files SET state = ?, final_path = ?, invoices_found = ?, invoices_rejected = ?, error = ?, finished_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?',
      ),
      invoiceBySeq: s('SELECT id, number FROM invoices WHERE file_id = ? AND seq_in_file = ?'),
      invoiceByBusinessKey: s(`SELECT i.id, i.number, f.name FROM invoices i JOIN files f ON f.id = i.file_id
        WHERE i.seller = ? AND i.business_key = ? AND i.state IN ('issued', 'held') ORDER BY i.id LIMIT 1`),
      invoiceByNumber: s('SELECT * FROM invoices WHERE seller = ? AND number = ?'),
      invoiceById: s('SELECT * FROM invoices WHERE id = ?'),
      fileName: s('SELECT f.name FROM invoices i JOIN files f ON f.id = i.file_id WHERE i.seller = ? AND i.number = ?'),
      takeSeq: s(
        'INSERT INTO number_series (seller, counter, last_seq) VALUES (?, ?, 1) ON CONFLICT (seller, counter) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq',
      ),
      issueHeld: s(
        `UPDATE invoices SET number = ?, state = 'issued', document = ?, routes = ?, issued_at = ?, hold_until = NULL, hold_status = NULL, lease_owner = NULL, lease_until = NULL,
        issue_date = @issue_date, buyer_name = @buyer_name, buyer_search = @buyer_search, amount = @amount WHERE id = ? AND state = 'held'`,
      ),
      updateHeld: s(
        `UPDATE invoices SET document = ?, routes = ?, payable = ?, issue_date = @issue_date, buyer_name = @buyer_name, buyer_search = @buyer_search, amount = @amount
        WHERE id = ? AND state = 'held'`,
      ),
      heldForOrder: s(`SELECT * FROM invoices WHERE order_key = ? AND state = 'held' ORDER BY id LIMIT 1`),
      issuedForOrder: s(`SELECT * FROM invoices WHERE order_key = ? AND state = 'issued' ORDER BY id LIMIT 1`),
      invoicesOfFile: s('SELECT number, state, source_key FROM invoices WHERE file_id = ? ORDER BY seq_in_file'),
      markSent: s(
        `UPDATE deliveries SET state = 'sent', sent_at = ?, result = ?, progress = ?, last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE id = ?`,
      ),
      markFailed: s(`UPDATE deliveries SET state = ?, last_error = ?, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?`),
      deliveriesOfInvoice: s('SELECT d.*, i.number FROM deliveries d JOIN invoices i ON i.id = d.invoice_id WHERE d.invoice_id = ? ORDER BY d.id'),
      countKeys: s(`SELECT COUNT(*) AS n FROM deliveries WHERE invoice_id = ? AND route_id = ?`),
      event: s('INSERT INTO events (at, kind, detail, node) VALUES (?, ?, ?, ?)'),
    };
  }

  /** Refuses a ledger file that is not a sound SQLite database (garbage written into it, a torn copy). */
  private checkIntegrity(): void {
    let verdict: string;
    try {
      verdict = (this.db.pragma('quick_check', { simple: false }) as { quick_check: string }[]).map((r) => r.quick_check).join('; ');
    } catch (err) {
      this.db.close();
      throw new EnvironmentError(
        `the ledger ${this.path} is not a readable SQLite database (${(err as Error).message}); restore it from a backup, or move it aside to start an empty one. Nothing was numbered`,
        { file: this.path },
      );
    }
    if (verdict !== 'ok') {
      this.db.close();
      throw new EnvironmentError(
        `the ledger ${this.path} is damaged (SQLite quick_check: ${verdict.slice(0, 300)}); restore it from a backup. The gateway does not number invoices on a damaged ledger`,
        { file: this.path },
      );
    }
  }

  /** Applies pending migrations; the version is read inside the write lock, so two starting processes never both apply one. */
  private migrate(): void {
    const step = this.db.transaction((): boolean => {
      const version = this.db.pragma('user_version', { simple: true }) as number;
      if (version >= MIGRATIONS.length) return false;
      this.db.exec(MIGRATIONS[version]!);
      this.db.pragma(`user_version = ${version + 1}`);
      return true;
    });
    while (step.immediate()) {
      /* next migration */
    }
  }

  private tx<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  private leaseUntil(): number {
    return Date.now() + this.leaseMs;
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async cacheGet(key: string, now: number): Promise<string | undefined> {
    const row = this.db.prepare('SELECT value FROM cache WHERE key = ? AND expires_at > ?').get(key, now) as { value: string } | undefined;
    return row?.value;
  }

  async cacheList(prefix: string, now: number, limit: number): Promise<{ key: string; value: string }[]> {
    // a range on the primary key instead of LIKE: the prefix may hold % or _
    return this.db
      .prepare('SELECT key, value FROM cache WHERE key >= ? AND key < ? AND expires_at > ? ORDER BY rowid LIMIT ?')
      .all(prefix, `${prefix}\uffff`, now, limit) as { key: string; value: string }[];
  }

  async cacheDelete(key: string): Promise<void> {
    this.db.prepare('DELETE FROM cache WHERE key = ?').run(key);
  }

  async cachePut(key: string, value: string, expiresAt: number): Promise<void> {
    this.tx(() => {
      this.db
        .prepare(
          'INSERT INTO cache (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at',
        )
        .run(key, value, expiresAt);
      // expired answers go as new ones come: the table stays as small as what is in use
      this.db.prepare('DELETE FROM cache WHERE expires_at <= ?').run(Date.now());
    });
  }

  async renewLeases(state: { paused?: string } = {}): Promise<void> {
    const until = this.leaseUntil();
    this.tx(() => {
      this.db.prepare(`UPDATE files SET lease_until = ? WHERE lease_owner = ? AND state = 'processing'`).run(until, this.nodeId);
      this.db.prepare(`UPDATE deliveries SET lease_until = ? WHERE lease_owner = ? AND state = 'sending'`).run(until, this.nodeId);
      this.db.prepare(`UPDATE export_batches SET lease_until = ? WHERE lease_owner = ? AND state = 'writing'`).run(until, this.nodeId);
      this.db
        .prepare(
          `INSERT INTO nodes (id, host, pid, started_at, heartbeat_at, paused) VALUES (?, ?, ?, ?, ?, ?)
          ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, paused = excluded.paused`,
        )
        .run(this.nodeId, hostname(), process.pid, this.startedAt, nowIso(), state.paused ?? null);
    });
  }

  async claimNodeId(staleBefore: string): Promise<NodeRecord | undefined> {
    return this.tx(() => {
      const won = this.db
        .prepare(
          `INSERT INTO nodes (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)
          ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, paused = NULL
          WHERE nodes.heartbeat_at < ? OR (nodes.host = excluded.host AND nodes.pid = excluded.pid) RETURNING id`,
        )
        .get(this.nodeId, hostname(), process.pid, this.startedAt, nowIso(), staleBefore);
      if (won) return undefined;
      return nodeFromRow(this.db.prepare('SELECT * FROM nodes WHERE id = ?').get(this.nodeId) as Row);
    });
  }

  async leave(): Promise<void> {
    this.db.prepare('DELETE FROM nodes WHERE id = ?').run(this.nodeId);
  }

  async claimFile(claim: { source: string; name: string; contentHash: string; processingPath: string; arrivedAt?: string }): Promise<FileRecord | undefined> {
    try {
      const c = claim;
      const info = this.stmts['insertFile']!.run(
        c.source,
        c.name,
        c.contentHash,
        c.processingPath,
        nowIso(),
        this.nodeId,
        this.leaseUntil(),
        c.processingPath,
        c.arrivedAt ?? '~',
      );
      if (info.changes !== 1) return undefined;
      return this.fileSync(Number(info.lastInsertRowid));
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return undefined;
      throw err;
    }
  }

  async findProcessed(source: string, contentHash: string): Promise<FileRecord | undefined> {
    const row = this.stmts['processed']!.get(source, contentHash) as Row | undefined;
    return row ? fileFromRow(row) : undefined;
  }

  private fileSync(id: number): FileRecord | undefined {
    const row = this.stmts['fileById']!.get(id) as Row | undefined;
    return row ? fileFromRow(row) : undefined;
  }

  async file(id: number): Promise<FileRecord | undefined> {
    return this.fileSync(id);
  }

  async takeOverFiles(options: { own: boolean }): Promise<FileRecord[]> {
    const now = Date.now();
    const rows = this.db
      .prepare(
        `UPDATE files SET lease_owner = ?, lease_until = ? WHERE state = 'processing'
        AND ((? = 1 AND lease_owner = ?) OR lease_owner IS NULL OR lease_until < ?) RETURNING *`,
      )
      .all(this.nodeId, this.leaseUntil(), options.own ? 1 : 0, this.nodeId, now) as Row[];
    return rows.map(fileFromRow).sort((a, b) => a.id - b.id);
  }

  async claimedSince(processingPath: string, sinceIso: string): Promise<boolean> {
    return this.db.prepare('SELECT 1 FROM files WHERE processing_path = ? AND claimed_at >= ? LIMIT 1').get(processingPath, sinceIso) !== undefined;
  }

  async markVanished(id: number, state: 'done' | 'error', note: string): Promise<boolean> {
    return (
      this.db
        .prepare(
          `UPDATE files SET state = ?, error = ?, finished_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND state = 'processing' AND lease_owner = ?`,
        )
        .run(state, note, nowIso(), id, this.nodeId).changes === 1
    );
  }

  async reclaimFile(id: number): Promise<boolean> {
    const now = Date.now();
    return (
      this.db
        .prepare(
          `UPDATE files SET lease_owner = ?, lease_until = ? WHERE id = ? AND state = 'processing' AND (lease_owner = ? OR lease_owner IS NULL OR lease_until < ?)`,
        )
        .run(this.nodeId, this.leaseUntil(), id, this.nodeId, now).changes === 1
    );
  }

  async forgetAttempt(id: number): Promise<void> {
    this.db.prepare('UPDATE files SET attempts = MAX(attempts - 1, 0) WHERE id = ?').run(id);
  }

  async startAttempt(id: number): Promise<number> {
    const row = this.db.prepare('UPDATE files SET attempts = attempts + 1 WHERE id = ? RETURNING attempts').get(id) as { attempts: number } | undefined;
    return row?.attempts ?? 0;
  }

  async finishFile(id: number, state: FileState, d: { finalPath?: string; invoicesFound?: number; invoicesRejected?: number; error?: string }): Promise<void> {
    this.stmts['finishFile']!.run(state, d.finalPath ?? null, d.invoicesFound ?? null, d.invoicesRejected ?? null, d.error ?? null, nowIso(), id);
  }

  /** Takes the next number of a series; only ever called inside a write transaction, so a rollback takes it back. */
  private takeNumber(seller: string, format: string, issueDate: string): string {
    const slot = seriesSlot(format, issueDate);
    const row = this.stmts['takeSeq']!.get(seller, slot.counter) as { last_seq: number };
    return slot.render(row.last_seq);
  }

  private insertDeliveries(invoiceId: number, seller: string, number: string, deliveries: Delivery[]): void {
    for (const row of deliveryRows(invoiceId, seller, number, deliveries, Date.now(), nowIso())) this.db.prepare(insertSql('deliveries', row)).run(row);
  }

  async issue(requests: IssueRequest[]): Promise<IssueResult[]> {
    return this.tx(() => {
      this.checkFileLeases(requests);
      return requests.map((req): IssueResult => {
        const seller = req.invoice.meta.sellerKey;
        const stored = this.stmts['invoiceBySeq']!.get(req.fileId, req.seqInFile) as { id: number; number: string | null } | undefined;
        const before = req.businessKey
          ? (this.stmts['invoiceByBusinessKey']!.get(seller, req.businessKey) as { id: number; number: string | null; name: string } | undefined)
          : undefined;
        const clash = req.invoice.number ? (this.stmts['fileName']!.get(seller, req.invoice.number) as { name: string } | undefined) : undefined;
        const decision = issueDecision(req, {
          ...(stored ? { stored } : {}),
          ...(before ? { before: { id: before.id, number: before.number, fileName: before.name } } : {}),
          ...(clash ? { numberClash: { fileName: clash.name } } : {}),
        });
        if (decision !== 'store') return decision;
        const number = req.hold ? undefined : (req.invoice.number ?? this.takeNumber(seller, req.numberFormat, req.invoice.issueDate));
        const row = invoiceRow(req, number, nowIso());
        const invoiceId = Number(this.db.prepare(insertSql('invoices', row)).run(row).lastInsertRowid);
        if (!number) return { status: 'held', invoiceId };
        this.insertDeliveries(invoiceId, seller, number, req.deliveries);
        return { status: 'issued', invoiceId, number };
      });
    });
  }

  /** Refuses to store for a file another node now holds (this node's lease on it expired and was taken over). */
  private checkFileLeases(requests: IssueRequest[]): void {
    for (const fileId of new Set(requests.map((r) => r.fileId))) {
      const row = this.db.prepare('SELECT lease_owner FROM files WHERE id = ?').get(fileId) as { lease_owner: string | null } | undefined;
      if (row?.lease_owner && row.lease_owner !== this.nodeId) throw leaseLost(fileId, row.lease_owner);
    }
  }

  async issueHeld(invoiceId: number, invoice: CalculatedInvoice, deliveries: Delivery[]): Promise<{ number: string } | undefined> {
    return this.tx(() => {
      const row = this.stmts['invoiceById']!.get(invoiceId) as Row | undefined;
      if (!row || row['state'] !== 'held') return undefined;
      const seller = row['seller'] as string;
      const number = invoice.number ?? this.takeNumber(seller, row['number_format'] as string, invoice.issueDate);
      const document = numbered(invoice, number);
      this.stmts['issueHeld']!.run(number, JSON.stringify(document), JSON.stringify(deliveries), nowIso(), invoiceId, searchColumns(document));
      this.insertDeliveries(invoiceId, seller, number, deliveries);
      return { number };
    });
  }

  async rejectHeld(invoiceId: number, reason: string): Promise<void> {
    this.tx(() => {
      const changed = this.db
        .prepare(`UPDATE invoices SET state = 'rejected', hold_until = NULL, lease_owner = NULL, lease_until = NULL WHERE id = ? AND state = 'held'`)
        .run(invoiceId).changes;
      if (changed) this.event('held-rejected', { invoiceId, reason });
    });
  }

  async updateHeld(invoiceId: number, invoice: CalculatedInvoice, deliveries: Delivery[]): Promise<void> {
    this.stmts['updateHeld']!.run(JSON.stringify(invoice), JSON.stringify(deliveries), invoice.totals.payableAmount, invoiceId, searchColumns(invoice));
  }

  async heldForOrder(orderKey: string): Promise<InvoiceRecord | undefined> {
    const row = this.stmts['heldForOrder']!.get(orderKey) as Row | undefined;
    return row ? invoiceFromRow(row) : undefined;
  }

  async issuedForOrder(orderKey: string): Promise<InvoiceRecord | undefined> {
    const row = this.stmts['issuedForOrder']!.get(orderKey) as Row | undefined;
    return row ? invoiceFromRow(row) : undefined;
  }

  async claimDueHeld(now: number, limit = 500): Promise<InvoiceRecord[]> {
    const rows = this.db
      .prepare(
        `UPDATE invoices SET lease_owner = ?, lease_until = ? WHERE id IN (
          SELECT id FROM invoices WHERE state = 'held' AND hold_until IS NOT NULL AND hold_until <= ?
            AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?) ORDER BY id LIMIT ?)
        RETURNING *`,
      )
      .all(this.nodeId, this.leaseUntil(), now, this.nodeId, now, limit) as Row[];
    return rows.map(invoiceFromRow).sort((a, b) => a.id - b.id);
  }

  async invoiceByNumber(seller: string, number: string): Promise<InvoiceRecord | undefined> {
    const row = this.stmts['invoiceByNumber']!.get(seller, number) as Row | undefined;
    return row ? invoiceFromRow(row) : undefined;
  }

  async sellersOfNumber(number: string): Promise<string[]> {
    return (this.db.prepare('SELECT DISTINCT seller FROM invoices WHERE number = ? ORDER BY seller').all(number) as { seller: string }[]).map((r) => r.seller);
  }

  async invoiceById(id: number): Promise<InvoiceRecord | undefined> {
    const row = this.stmts['invoiceById']!.get(id) as Row | undefined;
    return row ? invoiceFromRow(row) : undefined;
  }

  async invoicesOfFile(fileId: number): Promise<{ number?: string; state: InvoiceState; sourceKey: string }[]> {
    return (this.stmts['invoicesOfFile']!.all(fileId) as Row[]).map((r) => ({
      state: r['state'] as InvoiceState,
      sourceKey: r['source_key'] as string,
      ...(r['number'] ? { number: r['number'] as string } : {}),
    }));
  }

  async claimDueDeliveries(now: number, limit: number, busyTargets: string[] = [], staleAfter = Number.MAX_SAFE_INTEGER): Promise<DeliveryRecord[]> {
    // targets whose slots are full are skipped, so the deliveries behind them are not starved;
    // a delivery whose lease expired (its node died while sending) is due again
    const rows = this.db
      .prepare(
        `UPDATE deliveries SET state = 'sending', attempts = attempts + 1, lease_owner = ?, lease_until = ? WHERE id IN (
          SELECT d.id FROM deliveries d
          WHERE ((d.state IN ('pending', 'failed') AND d.next_attempt_at <= ?) OR (d.state = 'failed' AND d.next_attempt_at > ?) OR (d.state = 'sending' AND COALESCE(d.lease_until, 0) < ?))
            AND d.format NOT IN (${BATCHED_SQL})
            AND (CASE WHEN d.transport = 'email' THEN 'email' ELSE d.transport || ':' || d.target END) NOT IN (SELECT value FROM json_each(?))
          ORDER BY d.next_attempt_at, d.id LIMIT ?)
        RETURNING *, (SELECT number FROM invoices i WHERE i.id = invoice_id) AS number`,
      )
      .all(this.nodeId, this.leaseUntil(), now, staleAfter, now, JSON.stringify(busyTargets), limit) as Row[];
    return rows.map(deliveryFromRow).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.id - b.id);
  }

  async markSent(id: number, result: string, progress?: DeliveryProgress): Promise<void> {
    this.stmts['markSent']!.run(nowIso(), result, progress ?? null, id);
  }

  async amendResult(id: number, result: string, progress?: DeliveryProgress): Promise<void> {
    this.db.prepare(`UPDATE deliveries SET result = ?, progress = COALESCE(?, progress) WHERE id = ? AND state = 'sent'`).run(result, progress ?? null, id);
  }

  async markFailed(id: number, error: string, nextAttemptAt: number, dead: boolean): Promise<void> {
    this.stmts['markFailed']!.run(dead ? 'dead' : 'failed', error, nextAttemptAt, id);
  }

  async releaseOwnSending(): Promise<number> {
    return this.db
      .prepare(
        `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_until = NULL
        WHERE state = 'sending' AND (lease_owner = ? OR lease_owner IS NULL) AND format NOT IN (${BATCHED_SQL})`,
      )
      .run(this.nodeId).changes;
  }

  async retry(selector: { deliveryId?: number; fileId?: number }): Promise<number> {
    const now = Date.now();
    const set = `UPDATE deliveries SET state = 'pending', next_attempt_at = ?, attempts = 0 WHERE state IN ('failed', 'dead')`;
    if (selector.deliveryId !== undefined) return this.db.prepare(`${set} AND id = ?`).run(now, selector.deliveryId).changes;
    if (selector.fileId !== undefined)
      return this.db.prepare(`${set} AND invoice_id IN (SELECT id FROM invoices WHERE file_id = ?)`).run(now, selector.fileId).changes;
    return 0;
  }

  /** One more delivery over a route, with a key of its own (`<key>.<why>-<n>`): a deliberate, logged copy. */
  private insertDeliberateCopy(invoiceId: number, seller: string, invoiceNumber: string, route: Delivery, why: 'resend' | 'reexport'): void {
    const n = (this.stmts['countKeys']!.get(invoiceId, route.routeId) as { n: number }).n;
    const row = deliveryRow(invoiceId, route, copyKey(seller, invoiceNumber, route.routeId, why, n), Date.now(), nowIso());
    this.db.prepare(insertSql('deliveries', row)).run(row);
  }

  async resend(seller: string, invoiceNumber: string, reason: string, by = 'unknown'): Promise<number> {
    return this.tx(() => {
      const row = this.stmts['invoiceByNumber']!.get(seller, invoiceNumber) as Row | undefined;
      if (!row || row['state'] !== 'issued') return 0;
      const invoice = invoiceFromRow(row);
      // a resend is a new, deliberate copy: its own key, so the target sees a new message
      for (const d of invoice.deliveries) this.insertDeliberateCopy(invoice.id, seller, invoiceNumber, d, 'resend');
      this.event('resend', { seller, invoice: invoiceNumber, deliveries: invoice.deliveries.length, reason, by });
      return invoice.deliveries.length;
    });
  }

  async deliveryById(id: number): Promise<DeliveryRecord | undefined> {
    const row = this.db.prepare('SELECT d.*, i.number FROM deliveries d JOIN invoices i ON i.id = d.invoice_id WHERE d.id = ?').get(id) as Row | undefined;
    return row ? deliveryFromRow(row) : undefined;
  }

  async deliveryStatesOfFile(fileId: number): Promise<{ total: number; sent: number; dead: number; failed: number }> {
    const row = this.db
      .prepare(
        `SELECT COUNT(*) AS total, SUM(d.state = 'sent') AS sent, SUM(d.state = 'dead') AS dead, SUM(d.state = 'failed') AS failed
      FROM deliveries d JOIN invoices i ON i.id = d.invoice_id WHERE i.file_id = ?`,
      )
      .get(fileId) as Record<string, number | null>;
    return { total: row['total'] ?? 0, sent: row['sent'] ?? 0, dead: row['dead'] ?? 0, failed: row['failed'] ?? 0 };
  }

  async deliveriesOfInvoice(invoiceId: number): Promise<DeliveryRecord[]> {
    return (this.stmts['deliveriesOfInvoice']!.all(invoiceId) as Row[]).map(deliveryFromRow);
  }

  async pendingExports(format: string, administration: string, now: number): Promise<DeliveryRecord[]> {
    return (
      this.db
        .prepare(
          `SELECT d.*, i.number FROM deliveries d JOIN invoices i ON i.id = d.invoice_id
      WHERE d.format = ? AND d.target = ? AND d.state IN ('pending', 'failed') AND d.next_attempt_at <= ? ORDER BY i.number, d.id`,
        )
        .all(format, administration, now) as Row[]
    ).map(deliveryFromRow);
  }

  async openBatch(batch: {
    format: string;
    administration: string;
    fileName: string;
    contentHash: string;
    deliveryIds: number[];
  }): Promise<number | undefined> {
    const open = (): number => {
      const claim = this.db.prepare(
        `UPDATE deliveries SET state = 'sending', attempts = attempts + 1, lease_owner = ?, lease_until = ? WHERE id = ? AND state IN ('pending', 'failed')`,
      );
      const until = this.leaseUntil();
      for (const id of batch.deliveryIds) {
        // another node batched it first: nothing of this batch is recorded
        if (claim.run(this.nodeId, until, id).changes !== 1) throw new BatchTaken();
      }
      const info = this.db
        .prepare(
          `INSERT INTO export_batches (format, administration, file_name, content_hash, delivery_ids, state, created_at, lease_owner, lease_until)
          VALUES (?, ?, ?, ?, ?, 'writing', ?, ?, ?)`,
        )
        .run(batch.format, batch.administration, batch.fileName, batch.contentHash, JSON.stringify(batch.deliveryIds), nowIso(), this.nodeId, until);
      return Number(info.lastInsertRowid);
    };
    try {
      return this.tx(open);
    } catch (err) {
      if (err instanceof BatchTaken) return undefined;
      throw err;
    }
  }

  async finishBatch(batchId: number, exported: { invoiceNumber: string; contentHash: string }[]): Promise<void> {
    this.tx(() => {
      const b = this.db.prepare('SELECT * FROM export_batches WHERE id = ?').get(batchId) as Row;
      const insert = this.db.prepare(
        `INSERT OR IGNORE INTO exports (format, administration, invoice_number, content_hash, batch_id, exported_at) VALUES (?, ?, ?, ?, ?, ?)`,
      );
      for (const e of exported) insert.run(b['format'], b['administration'], e.invoiceNumber, e.contentHash, batchId, nowIso());
      const sent = this.stmts['markSent']!;
      for (const id of JSON.parse(b['delivery_ids'] as string) as number[]) sent.run(nowIso(), `${b['file_name']} (batch ${batchId})`, null, id);
      this.db.prepare(`UPDATE export_batches SET state = 'done', finished_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?`).run(nowIso(), batchId);
    });
  }

  async takeOverBatches(): Promise<ExportBatch[]> {
    const rows = this.db
      .prepare(
        `UPDATE export_batches SET lease_owner = ?, lease_until = ? WHERE state = 'writing'
        AND (lease_owner = ? OR lease_owner IS NULL OR lease_until < ?) RETURNING *`,
      )
      .all(this.nodeId, this.leaseUntil(), this.nodeId, Date.now()) as Row[];
    return rows.map(batchFromRow).sort((a, b) => a.id - b.id);
  }

  async exportedIn(format: string, administration: string, invoiceNumber: string): Promise<number | undefined> {
    const row = this.db
      .prepare('SELECT batch_id FROM exports WHERE format = ? AND administration = ? AND invoice_number = ?')
      .get(format, administration, invoiceNumber) as { batch_id: number } | undefined;
    return row?.batch_id;
  }

  async reexport(seller: string, invoiceNumber: string, format: string, administration: string, reason: string, by = 'unknown'): Promise<boolean> {
    return this.tx(() => {
      const invoice = this.stmts['invoiceByNumber']!.get(seller, invoiceNumber) as Row | undefined;
      if (!invoice) return false;
      const route = (JSON.parse(invoice['routes'] as string) as Delivery[]).find((d) => d.format === format && d.target === administration);
      if (!route) return false;
      const removed = this.db
        .prepare('DELETE FROM exports WHERE format = ? AND administration = ? AND invoice_number = ?')
        .run(format, administration, invoiceNumber).changes;
      this.insertDeliberateCopy(invoice['id'] as number, seller, invoiceNumber, route, 'reexport');
      this.event('reexport', { seller, invoice: invoiceNumber, format, administration, reason, by, previousExportRemoved: removed > 0 });
      return true;
    });
  }

  async status(now: number): Promise<LedgerStatus> {
    const all = (sql: string): Row[] => this.db.prepare(sql).all() as Row[];
    const counts = (sql: string): Record<string, number> => Object.fromEntries(all(sql).map((r) => [r['state'] as string, r['n'] as number]));
    // the counts per state are kept by triggers (migration 6): reading them does not scan the tables
    const kept = (tbl: string): Record<string, number> =>
      counts(`SELECT state, SUM(n) AS n FROM state_counts WHERE tbl = '${tbl}' GROUP BY state HAVING SUM(n) > 0`);
    return statusFromRows(now, {
      files: kept('files'),
      invoices: kept('invoices'),
      deliveries: kept('deliveries'),
      oldest: all(STATUS_SQL.oldest)[0],
      failures: all(STATUS_SQL.failures),
      filesInError: all(STATUS_SQL.filesInError),
      runs: all(STATUS_SQL.runs),
      nodes: all(STATUS_SQL.nodes),
    });
  }

  async metrics(): Promise<LedgerMetrics> {
    const all = (sql: string): Row[] => this.db.prepare(sql).all() as Row[];
    return metricsFromRows(
      all(`SELECT part AS source, state, n FROM state_counts WHERE tbl = 'files' AND n > 0`),
      all(`SELECT state, n FROM state_counts WHERE tbl = 'invoices' AND n > 0`),
      all(`SELECT state, part AS transport, n FROM state_counts WHERE tbl = 'deliveries' AND n > 0`),
      all(STATUS_SQL.metricsOldest)[0],
    );
  }

  async nodes(): Promise<NodeRecord[]> {
    return (this.db.prepare(STATUS_SQL.nodes).all() as Row[]).map(nodeFromRow);
  }

  private event(kind: string, detail: Record<string, unknown>): void {
    this.stmts['event']!.run(nowIso(), kind, JSON.stringify(detail), this.nodeId);
  }

  async logEvent(kind: string, detail: Record<string, unknown>): Promise<void> {
    this.event(kind, detail);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** Thrown inside openBatch's transaction to roll it back when another node took a delivery first. */
class BatchTaken extends Error {}
