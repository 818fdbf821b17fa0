import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
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
  LedgerStatus,
} from './ledger.js';
import { MIGRATIONS } from './migrations.js';
import { EnvironmentError } from '../errors.js';
import { seriesSlot } from './numbering.js';
import { copyKey, deliveryKey, numbered, orderKeyOf } from './keys.js';
import { BATCHED_FORMATS } from '../formats/batched.js';

type Row = Record<string, unknown>;

/** The batched (accounting) formats as an SQL list: their deliveries go out in batches, not one by one. */
const BATCHED_SQL = BATCHED_FORMATS.map((f) => `'${f}'`).join(', ');

const nowIso = (): string => new Date().toISOString();

function fileFromRow(r: Row): FileRecord {
  return {
    id: r['id'] as number,
    source: r['source'] as string,
    name: r['name'] as string,
    contentHash: r['content_hash'] as string,
    state: r['state'] as FileState,
    processingPath: r['processing_path'] as string,
    claimedAt: r['claimed_at'] as string,
    ...(r['final_path'] ? { finalPath: r['final_path'] as string } : {}),
    ...(r['invoices_found'] !== null && r['invoices_found'] !== undefined ? { invoicesFound: r['invoices_found'] as number } : {}),
    ...(r['invoices_rejected'] !== null && r['invoices_rejected'] !== undefined ? { invoicesRejected: r['invoices_rejected'] as number } : {}),
    ...(r['error'] ? { error: r['error'] as string } : {}),
  };
}

function invoiceFromRow(r: Row): InvoiceRecord {
  return {
    id: r['id'] as number,
    fileId: r['file_id'] as number,
    seller: r['seller'] as string,
    state: r['state'] as InvoiceRecord['state'],
    numberFormat: r['number_format'] as string,
    invoice: JSON.parse(r['document'] as string) as CalculatedInvoice,
    deliveries: JSON.parse(r['routes'] as string) as Delivery[],
    ...(r['number'] ? { number: r['number'] as string } : {}),
    ...(r['order_key'] ? { orderKey: r['order_key'] as string } : {}),
    ...(r['hold_until'] !== null ? { holdUntil: r['hold_until'] as number } : {}),
    ...(r['hold_status'] ? { holdStatus: r['hold_status'] as string } : {}),
  };
}

function deliveryFromRow(r: Row): DeliveryRecord {
  return {
    id: r['id'] as number,
    invoiceId: r['invoice_id'] as number,
    invoiceNumber: r['number'] as string,
    routeId: r['route_id'] as string,
    format: r['format'] as string,
    transport: r['transport'] as string,
    target: r['target'] as string,
    options: JSON.parse(r['options'] as string) as Delivery['options'],
    state: r['state'] as DeliveryRecord['state'],
    attempts: r['attempts'] as number,
    nextAttemptAt: r['next_attempt_at'] as number,
    idempotencyKey: r['idempotency_key'] as string,
    ...(r['last_error'] ? { lastError: r['last_error'] as string } : {}),
  };
}

/** The ledger on a SQLite file (WAL): one writer at a time, transactions for claims and numbering. */
export class SqliteLedger implements Ledger {
  private readonly db: Database.Database;
  private readonly stmts: Record<string, Database.Statement>;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { timeout: 15_000 });
    this.checkIntegrity();
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
    const s = (sql: string): Database.Statement => this.db.prepare(sql);
    this.stmts = {
      insertFile: s(`INSERT INTO files (source, name, content_hash, state, processing_path, claimed_at) VALUES (?, ?, ?, 'processing', ?, ?)`),
      fileById: s('SELECT * FROM files WHERE id = ?'),
      processed: s(`SELECT * FROM files WHERE source = ? AND content_hash = ? AND state IN ('done', 'partial') ORDER BY id LIMIT 1`),
      unfinished: s(`SELECT * FROM files WHERE state = 'processing' ORDER BY id`),
      finishFile: s('UPDATE files SET state = ?, final_path = ?, invoices_found = ?, invoices_rejected = ?, error = ?, finished_at = ? WHERE id = ?'),
      invoiceBySeq: s('SELECT id, number FROM invoices WHERE file_id = ? AND seq_in_file = ?'),
      invoiceByBusinessKey: s(`SELECT i.id, i.number, i.state, f.name FROM invoices i JOIN files f ON f.id = i.file_id
        WHERE i.seller = ? AND i.business_key = ? AND i.state IN ('issued', 'held') ORDER BY i.id LIMIT 1`),
      invoiceByNumber: s('SELECT * FROM invoices WHERE seller = ? AND number = ?'),
      invoiceById: s('SELECT * FROM invoices WHERE id = ?'),
      fileName: s('SELECT f.name FROM invoices i JOIN files f ON f.id = i.file_id WHERE i.seller = ? AND i.number = ?'),
      seriesGet: s('SELECT last_seq FROM number_series WHERE seller = ? AND counter = ?'),
      seriesSet: s(
        'INSERT INTO number_series (seller, counter, last_seq) VALUES (?, ?, ?) ON CONFLICT (seller, counter) DO UPDATE SET last_seq = excluded.last_seq',
      ),
      insertInvoice:
        s(`INSERT INTO invoices (file_id, seq_in_file, source_key, business_key, seller, kind, type_code, number, state, order_key, hold_until, hold_status, customer, currency, payable, number_format, document, routes, created_at, issued_at)
        VALUES (@fileId, @seq, @sourceKey, @businessKey, @seller, @kind, @typeCode, @number, @state, @orderKey, @holdUntil, @holdStatus, @customer, @currency, @payable, @numberFormat, @document, @routes, @now, @issuedAt)`),
      issueHeld: s(
        `UPDATE invoices SET number = ?, state = 'issued', document = ?, routes = ?, issued_at = ?, hold_until = NULL, hold_status = NULL WHERE id = ? AND state = 'held'`,
      ),
      updateHeld: s(`UPDATE invoices SET document = ?, routes = ?, payable = ? WHERE id = ? AND state = 'held'`),
      heldForOrder: s(`SELECT * FROM invoices WHERE order_key = ? AND state = 'held' ORDER BY id LIMIT 1`),
      issuedForOrder: s(`SELECT * FROM invoices WHERE order_key = ? AND state = 'issued' ORDER BY id LIMIT 1`),
      dueHeld: s(`SELECT * FROM invoices WHERE state = 'held' AND hold_until IS NOT NULL AND hold_until <= ? ORDER BY id LIMIT 500`),
      invoicesOfFile: s('SELECT number, state, source_key FROM invoices WHERE file_id = ? ORDER BY seq_in_file'),
      insertDelivery: s(`INSERT INTO deliveries (invoice_id, route_id, format, transport, target, options, state, next_attempt_at, idempotency_key, created_at)
        VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`),
      dueDeliveries: s(`SELECT d.*, i.number FROM deliveries d JOIN invoices i ON i.id = d.invoice_id
        WHERE d.state IN ('pending', 'failed') AND d.next_attempt_at <= ? AND d.format NOT IN (${BATCHED_SQL})
        ORDER BY d.next_attempt_at, d.id LIMIT ?`),
      claimDelivery: s(`UPDATE deliveries SET state = 'sending', attempts = attempts + 1 WHERE id = ? AND state IN ('pending', 'failed')`),
      markSent: s(`UPDATE deliveries SET state = 'sent', sent_at = ?, result = ?, last_error = NULL WHERE id = ?`),
      markFailed: s(`UPDATE deliveries SET state = ?, last_error = ?, next_attempt_at = ? WHERE id = ?`),
      releaseSending: s(`UPDATE deliveries SET state = 'pending' WHERE state = 'sending'`),
      retryById: s(`UPDATE deliveries SET state = 'pending', next_attempt_at = ?, attempts = 0 WHERE id = ? AND state IN ('failed', 'dead')`),
      retryByFile: s(
        `UPDATE deliveries SET state = 'pending', next_attempt_at = ?, attempts = 0 WHERE state IN ('failed', 'dead') AND invoice_id IN (SELECT id FROM invoices WHERE file_id = ?)`,
      ),
      deliveriesOfInvoice: s('SELECT d.*, i.number FROM deliveries d JOIN invoices i ON i.id = d.invoice_id WHERE d.invoice_id = ? ORDER BY d.id'),
      countKeys: s(`SELECT COUNT(*) AS n FROM deliveries WHERE invoice_id = ? AND route_id = ?`),
      event: s('INSERT INTO events (at, kind, detail) VALUES (?, ?, ?)'),
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

  /** Applies pending migrations; the version is read inside the write lock, so two starting nodes never both apply one. */
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

  claimFile(claim: { source: string; name: string; contentHash: string; processingPath: string }): FileRecord | undefined {
    try {
      const info = this.stmts['insertFile']!.run(claim.source, claim.name, claim.contentHash, claim.processingPath, nowIso());
      return this.file(Number(info.lastInsertRowid));
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return undefined;
      throw err;
    }
  }

  findProcessed(source: string, contentHash: string): FileRecord | undefined {
    const row = this.stmts['processed']!.get(source, contentHash) as Row | undefined;
    return row ? fileFromRow(row) : undefined;
  }

  file(id: number): FileRecord | undefined {
    const row = this.stmts['fileById']!.get(id) as Row | undefined;
    return row ? fileFromRow(row) : undefined;
  }

  unfinishedFiles(): FileRecord[] {
    return (this.stmts['unfinished']!.all() as Row[]).map(fileFromRow);
  }

  startAttempt(id: number): number {
    const row = this.db.prepare('UPDATE files SET attempts = attempts + 1 WHERE id = ? RETURNING attempts').get(id) as { attempts: number } | undefined;
    return row?.attempts ?? 0;
  }

  finishFile(id: number, state: FileState, d: { finalPath?: string; invoicesFound?: number; invoicesRejected?: number; error?: string }): void {
    this.stmts['finishFile']!.run(state, d.finalPath ?? null, d.invoicesFound ?? null, d.invoicesRejected ?? null, d.error ?? null, nowIso(), id);
  }

  /** Takes the next number of a series; only ever called inside a write transaction. */
  private takeNumber(seller: string, format: string, issueDate: string): string {
    const slot = seriesSlot(format, issueDate);
    const row = this.stmts['seriesGet']!.get(seller, slot.counter) as { last_seq: number } | undefined;
    const seq = (row?.last_seq ?? 0) + 1;
    this.stmts['seriesSet']!.run(seller, slot.counter, seq);
    return slot.render(seq);
  }

  private insertDeliveries(invoiceId: number, seller: string, number: string, deliveries: Delivery[], now: number): void {
    const created = nowIso();
    for (const d of deliveries) {
      this.stmts['insertDelivery']!.run(
        invoiceId,
        d.routeId,
        d.format,
        d.transport,
        d.target,
        JSON.stringify(d.options),
        now,
        deliveryKey(seller, number, d.routeId),
        created,
      );
    }
  }

  issue(requests: IssueRequest[]): IssueResult[] {
    const run = this.db.transaction((reqs: IssueRequest[]): IssueResult[] => {
      const now = Date.now();
      return reqs.map((req): IssueResult => {
        const existing = this.stmts['invoiceBySeq']!.get(req.fileId, req.seqInFile) as { id: number; number: string | null } | undefined;
        if (existing) return { status: 'existing', invoiceId: existing.id, ...(existing.number ? { number: existing.number } : {}) };
        const inv = req.invoice;
        const seller = inv.meta.sellerKey;
        if (req.businessKey && !req.issueAgain) {
          const before = this.stmts['invoiceByBusinessKey']!.get(seller, req.businessKey) as
            { id: number; number: string | null; state: string; name: string } | undefined;
          if (before) return { status: 'issued-before', invoiceId: before.id, ...(before.number ? { number: before.number } : {}), existingFile: before.name };
        }
        if (inv.number) {
          const clash = this.stmts['fileName']!.get(seller, inv.number) as { name: string } | undefined;
          if (clash) return { status: 'duplicate-number', number: inv.number, existingFile: clash.name };
        }
        const held = req.hold !== undefined;
        const number = held ? undefined : (inv.number ?? this.takeNumber(seller, req.numberFormat, inv.issueDate));
        const document: CalculatedInvoice = number ? numbered(inv, number) : inv;
        const info = this.stmts['insertInvoice']!.run({
          fileId: req.fileId,
          seq: req.seqInFile,
          sourceKey: inv.meta.sourceKey,
          businessKey: req.businessKey ?? null,
          seller,
          kind: inv.kind,
          typeCode: inv.typeCode,
          number: number ?? null,
          state: held ? 'held' : 'issued',
          orderKey: req.hold?.orderKey ?? orderKeyOf(inv),
          holdUntil: req.hold?.until ?? null,
          holdStatus: req.hold?.status ?? null,
          customer: inv.meta.customerKey ?? null,
          currency: inv.currency,
          payable: inv.totals.payableAmount,
          numberFormat: req.numberFormat,
          document: JSON.stringify(document),
          routes: JSON.stringify(req.deliveries),
          now: nowIso(),
          issuedAt: held ? null : nowIso(),
        });
        const invoiceId = Number(info.lastInsertRowid);
        if (!number) return { status: 'held', invoiceId };
        this.insertDeliveries(invoiceId, seller, number, req.deliveries, now);
        return { status: 'issued', invoiceId, number };
      });
    });
    return run.immediate(requests);
  }

  issueHeld(invoiceId: number, invoice: CalculatedInvoice, deliveries: Delivery[]): { number: string } | undefined {
    return this.db
      .transaction(() => {
        const row = this.stmts['invoiceById']!.get(invoiceId) as Row | undefined;
        if (!row || row['state'] !== 'held') return undefined;
        const number = invoice.number ?? this.takeNumber(row['seller'] as string, row['number_format'] as string, invoice.issueDate);
        const document = numbered(invoice, number);
        this.stmts['issueHeld']!.run(number, JSON.stringify(document), JSON.stringify(deliveries), nowIso(), invoiceId);
        this.insertDeliveries(invoiceId, row['seller'] as string, number, deliveries, Date.now());
        return { number };
      })
      .immediate();
  }

  rejectHeld(invoiceId: number, reason: string): void {
    this.db
      .transaction(() => {
        if (this.db.prepare(`UPDATE invoices SET state = 'rejected', hold_until = NULL WHERE id = ? AND state = 'held'`).run(invoiceId).changes) {
          this.logEvent('held-rejected', { invoiceId, reason });
        }
      })
      .immediate();
  }

  updateHeld(invoiceId: number, invoice: CalculatedInvoice, deliveries: Delivery[]): void {
    this.stmts['updateHeld']!.run(JSON.stringify(invoice), JSON.stringify(deliveries), invoice.totals.payableAmount, invoiceId);
  }

  heldForOrder(orderKey: string): InvoiceRecord | undefined {
    const row = this.stmts['heldForOrder']!.get(orderKey) as Row | undefined;
    return row ? invoiceFromRow(row) : undefined;
  }

  issuedForOrder(orderKey: string): InvoiceRecord | undefined {
    const row = this.stmts['issuedForOrder']!.get(orderKey) as Row | undefined;
    return row ? invoiceFromRow(row) : undefined;
  }

  dueHeld(now: number): InvoiceRecord[] {
    return (this.stmts['dueHeld']!.all(now) as Row[]).map(invoiceFromRow);
  }

  invoiceByNumber(seller: string, number: string): InvoiceRecord | undefined {
    const row = this.stmts['invoiceByNumber']!.get(seller, number) as Row | undefined;
    return row ? invoiceFromRow(row) : undefined;
  }

  sellersOfNumber(number: string): string[] {
    return (this.db.prepare('SELECT DISTINCT seller FROM invoices WHERE number = ? ORDER BY seller').all(number) as { seller: string }[]).map((r) => r.seller);
  }

  invoiceById(id: number): InvoiceRecord | undefined {
    const row = this.stmts['invoiceById']!.get(id) as Row | undefined;
    return row ? invoiceFromRow(row) : undefined;
  }

  invoicesOfFile(fileId: number): { number?: string; state: InvoiceState; sourceKey: string }[] {
    return (this.stmts['invoicesOfFile']!.all(fileId) as Row[]).map((r) => ({
      state: r['state'] as InvoiceState,
      sourceKey: r['source_key'] as string,
      ...(r['number'] ? { number: r['number'] as string } : {}),
    }));
  }

  claimDueDeliveries(now: number, limit: number, busyTargets: string[] = []): DeliveryRecord[] {
    return this.db
      .transaction(() => {
        // targets whose slots are full are skipped, so the deliveries behind them are not starved
        const rows = (
          busyTargets.length
            ? this.db
                .prepare(
                  `SELECT d.*, i.number FROM deliveries d JOIN invoices i ON i.id = d.invoice_id
            WHERE d.state IN ('pending', 'failed') AND d.next_attempt_at <= ? AND d.format NOT IN (${BATCHED_SQL})
              AND (CASE WHEN d.transport = 'email' THEN 'email' ELSE d.transport || ':' || d.target END) NOT IN (SELECT value FROM json_each(?))
            ORDER BY d.next_attempt_at, d.id LIMIT ?`,
                )
                .all(now, JSON.stringify(busyTargets), limit)
            : this.stmts['dueDeliveries']!.all(now, limit)
        ) as Row[];
        const claimed: DeliveryRecord[] = [];
        for (const row of rows) {
          if (this.stmts['claimDelivery']!.run(row['id']).changes === 1) {
            claimed.push(deliveryFromRow({ ...row, state: 'sending', attempts: (row['attempts'] as number) + 1 }));
          }
        }
        return claimed;
      })
      .immediate();
  }

  markSent(id: number, result: string): void {
    this.stmts['markSent']!.run(nowIso(), result, id);
  }

  markFailed(id: number, error: string, nextAttemptAt: number, dead: boolean): void {
    this.stmts['markFailed']!.run(dead ? 'dead' : 'failed', error, nextAttemptAt, id);
  }

  releaseSending(): number {
    return this.stmts['releaseSending']!.run().changes;
  }

  retry(selector: { deliveryId?: number; fileId?: number }): number {
    const now = Date.now();
    if (selector.deliveryId !== undefined) return this.stmts['retryById']!.run(now, selector.deliveryId).changes;
    if (selector.fileId !== undefined) return this.stmts['retryByFile']!.run(now, selector.fileId).changes;
    return 0;
  }

  /** One more delivery over a route, with a key of its own (`<number>.<route>.<why>-<n>`): a deliberate, logged copy. */
  private insertDeliberateCopy(invoiceId: number, seller: string, invoiceNumber: string, route: Delivery, why: 'resend' | 'reexport'): void {
    const n = (this.stmts['countKeys']!.get(invoiceId, route.routeId) as { n: number }).n;
    const key = copyKey(seller, invoiceNumber, route.routeId, why, n);
    this.stmts['insertDelivery']!.run(
      invoiceId,
      route.routeId,
      route.format,
      route.transport,
      route.target,
      JSON.stringify(route.options),
      Date.now(),
      key,
      nowIso(),
    );
  }

  resend(seller: string, invoiceNumber: string, reason: string): number {
    return this.db
      .transaction(() => {
        const row = this.stmts['invoiceByNumber']!.get(seller, invoiceNumber) as Row | undefined;
        if (!row || row['state'] !== 'issued') return 0;
        const invoice = invoiceFromRow(row);
        let count = 0;
        for (const d of invoice.deliveries) {
          // A resend is a new, deliberate copy: its own key, so the target sees a new message.
          this.insertDeliberateCopy(invoice.id, seller, invoiceNumber, d, 'resend');
          count++;
        }
        this.logEvent('resend', { seller, invoice: invoiceNumber, deliveries: count, reason });
        return count;
      })
      .immediate();
  }

  deliveryById(id: number): DeliveryRecord | undefined {
    const row = this.db.prepare('SELECT d.*, i.number FROM deliveries d JOIN invoices i ON i.id = d.invoice_id WHERE d.id = ?').get(id) as Row | undefined;
    return row ? deliveryFromRow(row) : undefined;
  }

  deliveryStatesOfFile(fileId: number): { total: number; sent: number; dead: number; failed: number } {
    const row = this.db
      .prepare(
        `SELECT COUNT(*) AS total, SUM(d.state = 'sent') AS sent, SUM(d.state = 'dead') AS dead, SUM(d.state = 'failed') AS failed
      FROM deliveries d JOIN invoices i ON i.id = d.invoice_id WHERE i.file_id = ?`,
      )
      .get(fileId) as Record<string, number | null>;
    return { total: row['total'] ?? 0, sent: row['sent'] ?? 0, dead: row['dead'] ?? 0, failed: row['failed'] ?? 0 };
  }

  deliveriesOfInvoice(invoiceId: number): DeliveryRecord[] {
    return (this.stmts['deliveriesOfInvoice']!.all(invoiceId) as Row[]).map(deliveryFromRow);
  }

  pendingExports(format: string, administration: string, now: number): DeliveryRecord[] {
    return (
      this.db
        .prepare(
          `SELECT d.*, i.number FROM deliveries d JOIN invoices i ON i.id = d.invoice_id
      WHERE d.format = ? AND d.target = ? AND d.state IN ('pending', 'failed') AND d.next_attempt_at <= ? ORDER BY i.number, d.id`,
        )
        .all(format, administration, now) as Row[]
    ).map(deliveryFromRow);
  }

  openBatch(batch: { format: string; administration: string; fileName: string; contentHash: string; deliveryIds: number[] }): number {
    return this.db
      .transaction(() => {
        const info = this.db
          .prepare(
            `INSERT INTO export_batches (format, administration, file_name, content_hash, delivery_ids, state, created_at) VALUES (?, ?, ?, ?, ?, 'writing', ?)`,
          )
          .run(batch.format, batch.administration, batch.fileName, batch.contentHash, JSON.stringify(batch.deliveryIds), nowIso());
        const claim = this.db.prepare(`UPDATE deliveries SET state = 'sending', attempts = attempts + 1 WHERE id = ?`);
        for (const id of batch.deliveryIds) claim.run(id);
        return Number(info.lastInsertRowid);
      })
      .immediate();
  }

  finishBatch(batchId: number, exported: { invoiceNumber: string; contentHash: string }[]): void {
    this.db
      .transaction(() => {
        const b = this.db.prepare('SELECT * FROM export_batches WHERE id = ?').get(batchId) as Row;
        const insert = this.db.prepare(
          `INSERT OR IGNORE INTO exports (format, administration, invoice_number, content_hash, batch_id, exported_at) VALUES (?, ?, ?, ?, ?, ?)`,
        );
        for (const e of exported) insert.run(b['format'], b['administration'], e.invoiceNumber, e.contentHash, batchId, nowIso());
        const sent = this.stmts['markSent']!;
        for (const id of JSON.parse(b['delivery_ids'] as string) as number[]) sent.run(nowIso(), `${b['file_name']} (batch ${batchId})`, id);
        this.db.prepare(`UPDATE export_batches SET state = 'done', finished_at = ? WHERE id = ?`).run(nowIso(), batchId);
      })
      .immediate();
  }

  unfinishedBatches(): ExportBatch[] {
    return (this.db.prepare(`SELECT * FROM export_batches WHERE state = 'writing' ORDER BY id`).all() as Row[]).map((r) => ({
      id: r['id'] as number,
      format: r['format'] as string,
      administration: r['administration'] as string,
      fileName: r['file_name'] as string,
      contentHash: r['content_hash'] as string,
      deliveryIds: JSON.parse(r['delivery_ids'] as string) as number[],
    }));
  }

  exportedIn(format: string, administration: string, invoiceNumber: string): number | undefined {
    const row = this.db
      .prepare('SELECT batch_id FROM exports WHERE format = ? AND administration = ? AND invoice_number = ?')
      .get(format, administration, invoiceNumber) as { batch_id: number } | undefined;
    return row?.batch_id;
  }

  reexport(seller: string, invoiceNumber: string, format: string, administration: string, reason: string): boolean {
    return this.db
      .transaction(() => {
        const invoice = this.stmts['invoiceByNumber']!.get(seller, invoiceNumber) as Row | undefined;
        if (!invoice) return false;
        const removed = this.db
          .prepare('DELETE FROM exports WHERE format = ? AND administration = ? AND invoice_number = ?')
          .run(format, administration, invoiceNumber).changes;
        const route = (JSON.parse(invoice['routes'] as string) as Delivery[]).find((d) => d.format === format && d.target === administration);
        if (!route) return false;
        this.insertDeliberateCopy(invoice['id'] as number, seller, invoiceNumber, route, 'reexport');
        this.logEvent('reexport', { seller, invoice: invoiceNumber, format, administration, reason, previousExportRemoved: removed > 0 });
        return true;
      })
      .immediate();
  }

  status(now: number): LedgerStatus {
    const counts = (sql: string): Record<string, number> =>
      Object.fromEntries((this.db.prepare(sql).all() as { state: string; n: number }[]).map((r) => [r.state, r.n]));
    const oldest = this.db
      .prepare(
        `SELECT d.id, i.number, d.created_at FROM deliveries d JOIN invoices i ON i.id = d.invoice_id
      WHERE d.state IN ('pending', 'failed', 'sending') ORDER BY d.created_at, d.id LIMIT 1`,
      )
      .get() as { id: number; number: string; created_at: string } | undefined;
    const failures = this.db
      .prepare(
        `SELECT d.id, i.number, d.route_id, d.state, d.attempts, d.last_error, COALESCE(d.sent_at, d.created_at) AS at
      FROM deliveries d JOIN invoices i ON i.id = d.invoice_id WHERE d.last_error IS NOT NULL AND d.state IN ('failed', 'dead') ORDER BY d.id DESC LIMIT 10`,
      )
      .all() as Row[];
    const runs = this.db
      .prepare(
        `SELECT f.id, f.name, f.claimed_at, COUNT(d.id) AS total,
        SUM(CASE WHEN d.state = 'sent' THEN 1 ELSE 0 END) AS done, SUM(CASE WHEN d.state = 'dead' THEN 1 ELSE 0 END) AS dead, MAX(d.sent_at) AS last_sent
      FROM files f JOIN invoices i ON i.file_id = f.id JOIN deliveries d ON d.invoice_id = i.id
      WHERE f.id IN (SELECT file_id FROM invoices i2 JOIN deliveries d2 ON d2.invoice_id = i2.id WHERE d2.state IN ('pending', 'failed', 'sending'))
        OR f.id = (SELECT MAX(id) FROM files)
      GROUP BY f.id ORDER BY f.id DESC LIMIT 10`,
      )
      .all() as Row[];
    void now;
    return {
      files: counts('SELECT state, COUNT(*) AS n FROM files GROUP BY state'),
      invoices: counts('SELECT state, COUNT(*) AS n FROM invoices GROUP BY state'),
      deliveries: counts('SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state'),
      ...(oldest ? { oldestPending: { id: oldest.id, invoiceNumber: oldest.number, since: oldest.created_at } } : {}),
      filesInError: (
        this.db
          .prepare(
            `SELECT id, source, name, error, final_path, COALESCE(finished_at, claimed_at) AS at FROM files WHERE state = 'error' ORDER BY id DESC LIMIT 10`,
          )
          .all() as Row[]
      ).map((r) => ({
        id: r['id'] as number,
        source: r['source'] as string,
        name: r['name'] as string,
        error: String(r['error'] ?? '').slice(0, 300),
        at: r['at'] as string,
        ...(r['final_path'] ? { finalPath: r['final_path'] as string } : {}),
      })),
      recentFailures: failures.map((r) => ({
        id: r['id'] as number,
        invoiceNumber: r['number'] as string,
        routeId: r['route_id'] as string,
        state: r['state'] as string,
        attempts: r['attempts'] as number,
        error: r['last_error'] as string,
        at: r['at'] as string,
      })),
      runs: runs.map((r) => ({
        fileId: r['id'] as number,
        name: r['name'] as string,
        total: r['total'] as number,
        done: (r['done'] as number) ?? 0,
        dead: (r['dead'] as number) ?? 0,
        startedAt: r['claimed_at'] as string,
        ...(r['last_sent'] ? { lastSentAt: r['last_sent'] as string } : {}),
      })),
    };
  }

  logEvent(kind: string, detail: Record<string, unknown>): void {
    this.stmts['event']!.run(nowIso(), kind, JSON.stringify(detail));
  }

  close(): void {
    this.db.close();
  }
}
