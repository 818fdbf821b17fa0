import { BrowseQueries, numberedPlaceholders, type LedgerBrowse } from './browse.js';
import pg from 'pg';
import { hostname } from 'node:os';
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
import { PG_MIGRATIONS } from './pg-migrations.js';

/** int8 (COUNT, ids, epoch ms) as a JS number: every value the ledger keeps is far below 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** Error codes that mean "the database is not there" (network, shutdown, restart), not "the statement is wrong". */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', '57P01', '57P02', '57P03']);

/** Whether a pg error means the server cannot be reached (so the node pauses and waits). */
export function isUnreachable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (e.code && (UNREACHABLE.has(e.code) || e.code.startsWith('08'))) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|terminating connection/i.test(e.message ?? '');
}

/** A transaction lost to another one (deadlock, serialization): it is rolled back entirely and can run again. */
const RETRYABLE = new Set(['40P01', '40001']);

/** Named-parameter free INSERT: columns and $n placeholders for a row object. */
function insertSql(table: string, row: Record<string, unknown>): { text: string; values: unknown[] } {
  const cols = Object.keys(row);
  return { text: `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`, values: Object.values(row) };
}

/** A multi-row INSERT of rows with the same columns, returning `returning`. */
function multiInsertSql(table: string, rows: Record<string, unknown>[], returning: string): { text: string; values: unknown[] } {
  const cols = Object.keys(rows[0]!);
  const values: unknown[] = [];
  const tuples = rows.map(
    (row) =>
      `(${cols
        .map((col) => {
          values.push(row[col]);
          return `$${values.length}`;
        })
        .join(', ')})`,
  );
  return { text: `INSERT INTO ${table} (${cols.join(', ')}) VALUES ${tuples.join(', ')} RETURNING ${returning}`, values };
}

/** Runs one lookup per group (a file, a seller) with the group's values as an array; all rows found. */
async function lookupGrouped<T extends pg.QueryResultRow, V>(
  requests: IssueRequest[],
  groupOf: (r: IssueRequest) => string,
  valueOf: (r: IssueRequest) => V,
  lookup: (group: string, values: V[]) => Promise<pg.QueryResult<T>>,
): Promise<T[]> {
  const groups = new Map<string, V[]>();
  for (const r of requests) groups.set(groupOf(r), [...(groups.get(groupOf(r)) ?? []), valueOf(r)]);
  const rows: T[] = [];
  for (const [group, values] of groups) rows.push(...(await lookup(group, values)).rows);
  return rows;
}

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

/** Connection settings of the PostgreSQL ledger. */
export interface PostgresSettings {
  /** postgres://user@host:port/database; the password comes from PGPASSWORD (or the URL, not recommended) */
  url: string;
  poolSize?: number;
}

/**
 * The ledger on PostgreSQL, shared by several gateway nodes. Work is leased (`FOR UPDATE SKIP
 * LOCKED`), numbers are taken from a counter row locked in the transaction that stores the invoice,
 * and a business key or a source's own number is checked under an advisory transaction lock, so two
 * nodes never issue the same invoice twice. A lost connection surfaces as an EnvironmentError: the
 * node pauses and resumes when the server is back.
 */
export class PostgresLedger implements Ledger {
  readonly nodeId: string;
  readonly description: string;
  readonly browse: LedgerBrowse;
  private readonly leaseMs: number;
  private readonly startedAt = nowIso();

  private constructor(
    private readonly pool: pg.Pool,
    lease: LeaseSettings,
    where: string,
  ) {
    this.nodeId = lease.nodeId;
    this.leaseMs = lease.leaseMs;
    this.description = `postgres ${where}`;
    this.browse = new BrowseQueries('postgres', (sql, params) => this.q(numberedPlaceholders(sql), params));
  }

  /** Connects, applies pending migrations, and returns the ledger; an unreachable server is an EnvironmentError. */
  static async open(settings: PostgresSettings, lease: LeaseSettings): Promise<PostgresLedger> {
    const url = new URL(settings.url);
    const where = `${url.hostname}:${url.port || 5432}${url.pathname}`;
    const pool = new pg.Pool({
      connectionString: settings.url,
      max: settings.poolSize ?? 8,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      application_name: `invoice-gateway ${lease.nodeId}`,
      types: TYPES,
    });
    // an idle client that loses its server emits 'error' on the pool: the next query reports it
    pool.on('error', () => undefined);
    // A client can emit 'error' more than once when the server goes (the FATAL message, then the
    // closed socket), after pg's own one-shot listener is gone: without a listener of our own that
    // second event would end the process. The query under way reports the failure either way.
    pool.on('connect', (client) => client.on('error', () => undefined));
    const ledger = new PostgresLedger(pool, lease, where);
    try {
      await ledger.migrate();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw ledger.translate(err);
    }
    return ledger;
  }

  /** Turns an unreachable server into an EnvironmentError that says so; other errors pass unchanged. */
  private translate(err: unknown): unknown {
    if (!isUnreachable(err)) return err;
    return new EnvironmentError(
      `the PostgreSQL ledger (${this.description.slice(9)}) cannot be reached (${(err as Error).message}); the gateway pauses and resumes by itself when it is back`,
      {},
    );
  }

  private async migrate(): Promise<void> {
    await this.tx(async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('invoice-gateway migrations'))`);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
      const { rows } = await c.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
      for (let v = rows[0]?.v ?? 0; v < PG_MIGRATIONS.length; v++) {
        await c.query(PG_MIGRATIONS[v]!);
        await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [v + 1, nowIso()]);
      }
    });
  }

  private async q(text: string, values: unknown[] = []): Promise<Row[]> {
    try {
      return (await this.pool.query(text, values)).rows as Row[];
    } catch (err) {
      throw this.translate(err);
    }
  }

  /** Runs `work` in one transaction; one lost to a deadlock is run again, an unreachable server is an EnvironmentError. */
  private async tx<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        throw this.translate(err);
      }
      let broken: Error | undefined;
      // a server that goes away while the client is checked out emits 'error' on it: the query under way reports it
      const onError = (err: Error): void => {
        broken = err;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => {
          broken = e;
        });
        const code = (err as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < 5) continue;
        if (isUnreachable(err)) broken = err as Error;
        throw this.translate(err);
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    }
  }

  private leaseUntil(): number {
    return Date.now() + this.leaseMs;
  }

  async ping(): Promise<void> {
    await this.q('SELECT 1');
  }

  async cacheGet(key: string, now: number): Promise<string | undefined> {
    const [row] = await this.q('SELECT value FROM cache WHERE key = $1 AND expires_at > $2', [key, now]);
    return row ? String(row['value']) : undefined;
  }

  async cacheList(prefix: string, now: number, limit: number): Promise<{ key: string; value: string }[]> {
    // compared as text, not as a range: a range would follow the database's collation
    const rows = await this.q('SELECT key, value FROM cache WHERE left(key, char_length($1)) = $1 AND expires_at > $2 ORDER BY expires_at LIMIT $3', [
      prefix,
      now,
      limit,
    ]);
    return rows.map((r) => ({ key: String(r['key']), value: String(r['value']) }));
  }

  async cacheDelete(key: string): Promise<void> {
    await this.q('DELETE FROM cache WHERE key = $1', [key]);
  }

  async cachePut(key: string, value: string, expiresAt: number): Promise<void> {
    await this.q(
      'INSERT INTO cache (key, value, expires_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at',
      [key, value, expiresAt],
    );
    await this.q('DELETE FROM cache WHERE expires_at <= $1', [Date.now()]);
  }

  async renewLeases(state: { paused?: string } = {}): Promise<void> {
    const until = this.leaseUntil();
    await this.tx(async (c) => {
      await c.query(`UPDATE files SET lease_until = $1 WHERE lease_owner = $2 AND state = 'processing'`, [until, this.nodeId]);
      await c.query(`UPDATE deliveries SET lease_until = $1 WHERE lease_owner = $2 AND state = 'sending'`, [until, this.nodeId]);
      await c.query(`UPDATE export_batches SET lease_until = $1 WHERE lease_owner = $2 AND state = 'writing'`, [until, this.nodeId]);
      await c.query(
        `INSERT INTO nodes (id, host, pid, started_at, heartbeat_at, paused) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at, paused = EXCLUDED.paused`,
        [this.nodeId, hostname(), process.pid, this.startedAt, nowIso(), state.paused ?? null],
      );
    });
  }

  async claimNodeId(staleBefore: string): Promise<NodeRecord | undefined> {
    const won = await this.q(
      `INSERT INTO nodes (id, host, pid, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at, paused = NULL
      WHERE nodes.heartbeat_at < $6 OR (nodes.host = EXCLUDED.host AND nodes.pid = EXCLUDED.pid) RETURNING id`,
      [this.nodeId, hostname(), process.pid, this.startedAt, nowIso(), staleBefore],
    );
    if (won.length) return undefined;
    const rows = await this.q('SELECT * FROM nodes WHERE id = $1', [this.nodeId]);
    return rows[0] ? nodeFromRow(rows[0]) : undefined;
  }

  async leave(): Promise<void> {
    await this.q('DELETE FROM nodes WHERE id = $1', [this.nodeId]);
  }

  async claimFile(claim: { source: string; name: string; contentHash: string; processingPath: string; arrivedAt?: string }): Promise<FileRecord | undefined> {
    const rows = await this.q(
      `INSERT INTO files (source, name, content_hash, state, processing_path, claimed_at, lease_owner, lease_until, attempts)
      SELECT $1, $2, $3, 'processing', $4, $5, $6, $7, 1 WHERE NOT EXISTS (SELECT 1 FROM files WHERE processing_path = $4 AND claimed_at >= $8)
      ON CONFLICT (processing_path) WHERE state = 'processing' DO NOTHING RETURNING *`,
      [claim.source, claim.name, claim.contentHash, claim.processingPath, nowIso(), this.nodeId, this.leaseUntil(), claim.arrivedAt ?? '~'],
    );
    return rows[0] ? fileFromRow(rows[0]) : undefined;
  }

  async findProcessed(source: string, contentHash: string): Promise<FileRecord | undefined> {
    const rows = await this.q(`SELECT * FROM files WHERE source = $1 AND content_hash = $2 AND state IN ('done', 'partial') ORDER BY id LIMIT 1`, [
      source,
      contentHash,
    ]);
    return rows[0] ? fileFromRow(rows[0]) : undefined;
  }

  async file(id: number): Promise<FileRecord | undefined> {
    const rows = await this.q('SELECT * FROM files WHERE id = $1', [id]);
    return rows[0] ? fileFromRow(rows[0]) : undefined;
  }

  async takeOverFiles(options: { own: boolean }): Promise<FileRecord[]> {
    const rows = await this.q(
      `WITH c AS (SELECT id FROM files WHERE state = 'processing'
          AND (($1 AND lease_owner = $2) OR lease_owner IS NULL OR lease_until < $3) ORDER BY id FOR UPDATE SKIP LOCKED)
      UPDATE files f SET lease_owner = $2, lease_until = $4 FROM c WHERE f.id = c.id RETURNING f.*`,
      [options.own, this.nodeId, Date.now(), this.leaseUntil()],
    );
    return rows.map(fileFromRow).sort((a, b) => a.id - b.id);
  }

  async claimedSince(processingPath: string, sinceIso: string): Promise<boolean> {
    return (await this.q('SELECT 1 FROM files WHERE processing_path = $1 AND claimed_at >= $2 LIMIT 1', [processingPath, sinceIso])).length > 0;
  }

  async markVanished(id: number, state: 'done' | 'error', note: string): Promise<boolean> {
    const rows = await this.q(
      `UPDATE files SET state = $1, error = $2, finished_at = $3, lease_owner = NULL, lease_until = NULL
      WHERE id = $4 AND state = 'processing' AND lease_owner = $5 RETURNING id`,
      [state, note, nowIso(), id, this.nodeId],
    );
    return rows.length === 1;
  }

  async reclaimFile(id: number): Promise<boolean> {
    const rows = await this.q(
      `UPDATE files SET lease_owner = $1, lease_until = $2 WHERE id = $3 AND state = 'processing'
      AND (lease_owner = $1 OR lease_owner IS NULL OR lease_until < $4) RETURNING id`,
      [this.nodeId, this.leaseUntil(), id, Date.now()],
    );
    return rows.length === 1;
  }

  async forgetAttempt(id: number): Promise<void> {
    await this.q('UPDATE files SET attempts = GREATEST(attempts - 1, 0) WHERE id = $1', [id]);
  }

  async startAttempt(id: number): Promise<number> {
    const rows = await this.q('UPDATE files SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts', [id]);
    return Number(rows[0]?.['attempts'] ?? 0);
  }

  async finishFile(id: number, state: FileState, d: { finalPath?: string; invoicesFound?: number; invoicesRejected?: number; error?: string }): Promise<void> {
    await this.q(
      `UPDATE files SET state = $1, final_path = $2, invoices_found = $3, invoices_rejected = $4, error = $5, finished_at = $6, lease_owner = NULL, lease_until = NULL
      WHERE id = $7`,
      [state, d.finalPath ?? null, d.invoicesFound ?? null, d.invoicesRejected ?? null, d.error ?? null, nowIso(), id],
    );
  }

  /** Takes the next number of a series: the counter row stays locked until the transaction ends, so numbers never gap or repeat. */
  private async takeNumber(c: pg.PoolClient, seller: string, format: string, issueDate: string): Promise<string> {
    const slot = seriesSlot(format, issueDate);
    const { rows } = await c.query<{ last_seq: number }>(
      `INSERT INTO number_series (seller, counter, last_seq) VALUES ($1, $2, 1)
      ON CONFLICT (seller, counter) DO UPDATE SET last_seq = number_series.last_seq + 1 RETURNING last_seq`,
      [seller, slot.counter],
    );
    return slot.render(rows[0]!.last_seq);
  }

  private async insertDeliveries(c: pg.PoolClient, invoiceId: number, seller: string, number: string, deliveries: Delivery[]): Promise<void> {
    const rows = deliveryRows(invoiceId, seller, number, deliveries, Date.now(), nowIso());
    if (!rows.length) return;
    const { text, values } = multiInsertSql('deliveries', rows, 'id');
    await c.query(text, values);
  }

  async issue(requests: IssueRequest[]): Promise<IssueResult[]> {
    return this.tx(async (c) => {
      // business keys and the sources' own numbers are checked under advisory locks taken in one
      // order, so two nodes storing the same invoice at the same moment see each other's commit
      const keys = new Set<string>();
      for (const req of requests) {
        const seller = req.invoice.meta.sellerKey;
        if (req.businessKey) keys.add(`bk|${seller}|${req.businessKey}`);
        if (req.invoice.number) keys.add(`no|${seller}|${req.invoice.number}`);
      }
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k', [[...keys].sort()]);
      // fencing: a node whose lease on a file expired (and was taken over) must not store for it any more
      const fileIds = [...new Set(requests.map((r) => r.fileId))];
      const holders = await c.query<{ id: number; lease_owner: string | null }>('SELECT id, lease_owner FROM files WHERE id = ANY($1::bigint[]) FOR UPDATE', [
        fileIds,
      ]);
      const taken = holders.rows.find((r) => r.lease_owner && r.lease_owner !== this.nodeId);
      if (taken) throw leaseLost(taken.id, taken.lease_owner!);
      const results: IssueResult[] = [];
      // a chunk holds no key twice, so one round of lookups answers for all of it; a later chunk sees what an earlier one stored
      for (const chunk of chunksWithoutRepeats(requests)) results.push(...(await this.issueChunk(c, chunk)));
      return results;
    });
  }

  /** Stores a chunk of requests with a handful of statements: lookups, one number range per series, multi-row inserts. */
  private async issueChunk(c: pg.PoolClient, requests: IssueRequest[]): Promise<IssueResult[]> {
    const sellerOf = (r: IssueRequest): string => r.invoice.meta.sellerKey;
    // one `= ANY` lookup per file and per seller: the form the planner answers from the indexes
    const stored = await lookupGrouped(
      requests,
      (r) => String(r.fileId),
      (r) => r.seqInFile,
      (group, seqs) =>
        c.query<{ file_id: number; seq_in_file: number; id: number; number: string | null }>(
          'SELECT file_id, seq_in_file, id, number FROM invoices WHERE file_id = $1 AND seq_in_file = ANY($2::int[])',
          [Number(group), seqs],
        ),
    );
    const before = await lookupGrouped(
      requests.filter((r) => r.businessKey),
      sellerOf,
      (r) => r.businessKey!,
      (seller, keys) =>
        c.query<{ seller: string; business_key: string; id: number; number: string | null; name: string }>(
          `SELECT DISTINCT ON (i.business_key) i.seller, i.business_key, i.id, i.number, f.name FROM invoices i JOIN files f ON f.id = i.file_id
          WHERE i.seller = $1 AND i.business_key = ANY($2::text[]) AND i.state IN ('issued', 'held') ORDER BY i.business_key, i.id`,
          [seller, keys],
        ),
    );
    const clashes = await lookupGrouped(
      requests.filter((r) => r.invoice.number),
      sellerOf,
      (r) => r.invoice.number!,
      (seller, numbers) =>
        c.query<{ seller: string; number: string; name: string }>(
          'SELECT i.seller, i.number, f.name FROM invoices i JOIN files f ON f.id = i.file_id WHERE i.seller = $1 AND i.number = ANY($2::text[])',
          [seller, numbers],
        ),
    );
    const storedBy = new Map(stored.map((r) => [`${r.file_id}|${r.seq_in_file}`, r]));
    const beforeBy = new Map(before.map((r) => [`${r.seller}|${r.business_key}`, r]));
    const clashBy = new Map(clashes.map((r) => [`${r.seller}|${r.number}`, r]));
    const decisions = requests.map((req) => {
      const s = storedBy.get(`${req.fileId}|${req.seqInFile}`);
      const b = req.businessKey ? beforeBy.get(`${sellerOf(req)}|${req.businessKey}`) : undefined;
      const n = req.invoice.number ? clashBy.get(`${sellerOf(req)}|${req.invoice.number}`) : undefined;
      return issueDecision(req, {
        ...(s ? { stored: { id: s.id, number: s.number } } : {}),
        ...(b ? { before: { id: b.id, number: b.number, fileName: b.name } } : {}),
        ...(n ? { numberClash: { fileName: n.name } } : {}),
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
      const { rows } = await c.query<{ last_seq: number }>(
        `INSERT INTO number_series (seller, counter, last_seq) VALUES ($1, $2, $3)
        ON CONFLICT (seller, counter) DO UPDATE SET last_seq = number_series.last_seq + EXCLUDED.last_seq RETURNING last_seq`,
        [need.seller, need.slot.counter, need.count],
      );
      next.set(key, { render: need.slot.render, seq: rows[0]!.last_seq - need.count + 1 });
    }
    const now = nowIso();
    const toStore = requests.flatMap((req, i) => {
      if (decisions[i] !== 'store') return [];
      const series = slotOf[i] ? next.get(slotOf[i]!) : undefined;
      const number = req.hold ? undefined : (req.invoice.number ?? series!.render(series!.seq++));
      return [{ req, number }];
    });
    const ids = new Map<string, number>();
    if (toStore.length) {
      const rows = toStore.map(({ req, number }) => invoiceRow(req, number, now));
      const { text, values } = multiInsertSql('invoices', rows, 'id, file_id, seq_in_file');
      for (const r of (await c.query<{ id: number; file_id: number; seq_in_file: number }>(text, values)).rows) ids.set(`${r.file_id}|${r.seq_in_file}`, r.id);
      const deliveries = toStore.flatMap(({ req, number }) =>
        number ? deliveryRows(ids.get(`${req.fileId}|${req.seqInFile}`)!, sellerOf(req), number, req.deliveries, Date.now(), now) : [],
      );
      if (deliveries.length) {
        const insert = multiInsertSql('deliveries', deliveries, 'id');
        await c.query(insert.text, insert.values);
      }
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
    return this.tx(async (c) => {
      // the row lock makes the check-and-issue single-winner across nodes
      const row = (await c.query('SELECT * FROM invoices WHERE id = $1 FOR UPDATE', [invoiceId])).rows[0] as Row | undefined;
      if (!row || row['state'] !== 'held') return undefined;
      const seller = row['seller'] as string;
      const number = invoice.number ?? (await this.takeNumber(c, seller, row['number_format'] as string, invoice.issueDate));
      await c.query(
        `UPDATE invoices SET number = $1, state = 'issued', document = $2, routes = $3, issued_at = $4, hold_until = NULL, hold_status = NULL,
        lease_owner = NULL, lease_until = NULL, issue_date = $6, buyer_name = $7, buyer_search = $8, amount = $9 WHERE id = $5`,
        [number, JSON.stringify(numbered(invoice, number)), JSON.stringify(deliveries), nowIso(), invoiceId, ...Object.values(searchColumns(invoice))],
      );
      await this.insertDeliveries(c, invoiceId, seller, number, deliveries);
      return { number };
    });
  }

  async rejectHeld(invoiceId: number, reason: string): Promise<void> {
    await this.tx(async (c) => {
      const changed = await c.query(
        `UPDATE invoices SET state = 'rejected', hold_until = NULL, lease_owner = NULL, lease_until = NULL WHERE id = $1 AND state = 'held'`,
        [invoiceId],
      );
      if (changed.rowCount) await this.event(c, 'held-rejected', { invoiceId, reason });
    });
  }

  async updateHeld(invoiceId: number, invoice: CalculatedInvoice, deliveries: Delivery[]): Promise<void> {
    await this.q(
      `UPDATE invoices SET document = $1, routes = $2, payable = $3, issue_date = $5, buyer_name = $6, buyer_search = $7, amount = $8 WHERE id = $4 AND state = 'held'`,
      [JSON.stringify(invoice), JSON.stringify(deliveries), invoice.totals.payableAmount, invoiceId, ...Object.values(searchColumns(invoice))],
    );
  }

  private async invoiceWhere(where: string, values: unknown[]): Promise<InvoiceRecord | undefined> {
    const rows = await this.q(`SELECT * FROM invoices WHERE ${where} ORDER BY id LIMIT 1`, values);
    return rows[0] ? invoiceFromRow(rows[0]) : undefined;
  }

  heldForOrder(orderKey: string): Promise<InvoiceRecord | undefined> {
    return this.invoiceWhere(`order_key = $1 AND state = 'held'`, [orderKey]);
  }

  issuedForOrder(orderKey: string): Promise<InvoiceRecord | undefined> {
    return this.invoiceWhere(`order_key = $1 AND state = 'issued'`, [orderKey]);
  }

  async claimDueHeld(now: number, limit = 500): Promise<InvoiceRecord[]> {
    const rows = await this.q(
      `WITH c AS (SELECT id FROM invoices WHERE state = 'held' AND hold_until IS NOT NULL AND hold_until <= $1
          AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < $1) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
      UPDATE invoices i SET lease_owner = $2, lease_until = $4 FROM c WHERE i.id = c.id RETURNING i.*`,
      [now, this.nodeId, limit, this.leaseUntil()],
    );
    return rows.map(invoiceFromRow).sort((a, b) => a.id - b.id);
  }

  invoiceByNumber(seller: string, number: string): Promise<InvoiceRecord | undefined> {
    return this.invoiceWhere('seller = $1 AND number = $2', [seller, number]);
  }

  async sellersOfNumber(number: string): Promise<string[]> {
    return (await this.q('SELECT DISTINCT seller FROM invoices WHERE number = $1 ORDER BY seller', [number])).map((r) => r['seller'] as string);
  }

  invoiceById(id: number): Promise<InvoiceRecord | undefined> {
    return this.invoiceWhere('id = $1', [id]);
  }

  async invoicesOfFile(fileId: number): Promise<{ number?: string; state: InvoiceState; sourceKey: string }[]> {
    return (await this.q('SELECT number, state, source_key FROM invoices WHERE file_id = $1 ORDER BY seq_in_file', [fileId])).map((r) => ({
      state: r['state'] as InvoiceState,
      sourceKey: r['source_key'] as string,
      ...(r['number'] ? { number: r['number'] as string } : {}),
    }));
  }

  async claimDueDeliveries(now: number, limit: number, busyTargets: string[] = [], staleAfter = Number.MAX_SAFE_INTEGER): Promise<DeliveryRecord[]> {
    // SKIP LOCKED: a row another node is claiming right now is passed over, never waited for or taken twice
    const rows = await this.q(
      `WITH c AS (SELECT id FROM deliveries
          WHERE ((state IN ('pending', 'failed') AND next_attempt_at <= $1) OR (state = 'failed' AND next_attempt_at > $7) OR (state = 'sending' AND COALESCE(lease_until, 0) < $1))
            AND format <> ALL($2::text[])
            AND (CASE WHEN transport = 'email' THEN 'email' ELSE transport || ':' || target END) <> ALL($3::text[])
          ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
      UPDATE deliveries d SET state = 'sending', attempts = d.attempts + 1, lease_owner = $5, lease_until = $6 FROM c WHERE d.id = c.id
      RETURNING d.*, (SELECT number FROM invoices i WHERE i.id = d.invoice_id) AS number`,
      [now, BATCHED_FORMATS, busyTargets, limit, this.nodeId, this.leaseUntil(), staleAfter],
    );
    return rows.map(deliveryFromRow).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.id - b.id);
  }

  async markSent(id: number, result: string, progress?: DeliveryProgress): Promise<void> {
    await this.q(
      `UPDATE deliveries SET state = 'sent', sent_at = $1, result = $2, progress = $3, last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE id = $4`,
      [nowIso(), result, progress ?? null, id],
    );
  }

  async amendResult(id: number, result: string, progress?: DeliveryProgress): Promise<void> {
    await this.q(`UPDATE deliveries SET result = $1, progress = COALESCE($2, progress) WHERE id = $3 AND state = 'sent'`, [result, progress ?? null, id]);
  }

  async markFailed(id: number, error: string, nextAttemptAt: number, dead: boolean): Promise<void> {
    await this.q(`UPDATE deliveries SET state = $1, last_error = $2, next_attempt_at = $3, lease_owner = NULL, lease_until = NULL WHERE id = $4`, [
      dead ? 'dead' : 'failed',
      error,
      nextAttemptAt,
      id,
    ]);
  }

  async releaseOwnSending(): Promise<number> {
    const rows = await this.q(
      `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_until = NULL
      WHERE state = 'sending' AND lease_owner = $1 AND format <> ALL($2::text[]) RETURNING id`,
      [this.nodeId, BATCHED_FORMATS],
    );
    return rows.length;
  }

  async retry(selector: { deliveryId?: number; fileId?: number }): Promise<number> {
    const set = `UPDATE deliveries SET state = 'pending', next_attempt_at = $1, attempts = 0 WHERE state IN ('failed', 'dead')`;
    if (selector.deliveryId !== undefined) return (await this.q(`${set} AND id = $2 RETURNING id`, [Date.now(), selector.deliveryId])).length;
    if (selector.fileId !== undefined)
      return (await this.q(`${set} AND invoice_id IN (SELECT id FROM invoices WHERE file_id = $2) RETURNING id`, [Date.now(), selector.fileId])).length;
    return 0;
  }

  /** One more delivery over a route, with a key of its own (`<key>.<why>-<n>`): a deliberate, logged copy. */
  private async insertDeliberateCopy(c: pg.PoolClient, invoiceId: number, seller: string, invoiceNumber: string, route: Delivery, why: 'resend' | 'reexport') {
    const { rows } = await c.query<{ n: number }>('SELECT COUNT(*) AS n FROM deliveries WHERE invoice_id = $1 AND route_id = $2', [invoiceId, route.routeId]);
    const { text, values } = insertSql(
      'deliveries',
      deliveryRow(invoiceId, route, copyKey(seller, invoiceNumber, route.routeId, why, rows[0]!.n), Date.now(), nowIso()),
    );
    await c.query(text, values);
  }

  async resend(seller: string, invoiceNumber: string, reason: string, by = 'unknown'): Promise<number> {
    return this.tx(async (c) => {
      const row = (await c.query('SELECT * FROM invoices WHERE seller = $1 AND number = $2 FOR UPDATE', [seller, invoiceNumber])).rows[0] as Row | undefined;
      if (!row || row['state'] !== 'issued') return 0;
      const invoice = invoiceFromRow(row);
      for (const d of invoice.deliveries) await this.insertDeliberateCopy(c, invoice.id, seller, invoiceNumber, d, 'resend');
      await this.event(c, 'resend', { seller, invoice: invoiceNumber, deliveries: invoice.deliveries.length, reason, by });
      return invoice.deliveries.length;
    });
  }

  async deliveryById(id: number): Promise<DeliveryRecord | undefined> {
    const rows = await this.q('SELECT d.*, i.number FROM deliveries d JOIN invoices i ON i.id = d.invoice_id WHERE d.id = $1', [id]);
    return rows[0] ? deliveryFromRow(rows[0]) : undefined;
  }

  async deliveryStatesOfFile(fileId: number): Promise<{ total: number; sent: number; dead: number; failed: number }> {
    const rows = await this.q(
      `SELECT COUNT(*) AS total, COUNT(*) FILTER (WHERE d.state = 'sent') AS sent, COUNT(*) FILTER (WHERE d.state = 'dead') AS dead,
        COUNT(*) FILTER (WHERE d.state = 'failed') AS failed
      FROM deliveries d JOIN invoices i ON i.id = d.invoice_id WHERE i.file_id = $1`,
      [fileId],
    );
    const r = rows[0] ?? {};
    return { total: Number(r['total'] ?? 0), sent: Number(r['sent'] ?? 0), dead: Number(r['dead'] ?? 0), failed: Number(r['failed'] ?? 0) };
  }

  async deliveriesOfInvoice(invoiceId: number): Promise<DeliveryRecord[]> {
    return (
      await this.q('SELECT d.*, i.number FROM deliveries d JOIN invoices i ON i.id = d.invoice_id WHERE d.invoice_id = $1 ORDER BY d.id', [invoiceId])
    ).map(deliveryFromRow);
  }

  async pendingExports(format: string, administration: string, now: number): Promise<DeliveryRecord[]> {
    return (
      await this.q(
        `SELECT d.*, i.number FROM deliveries d JOIN invoices i ON i.id = d.invoice_id
        WHERE d.format = $1 AND d.target = $2 AND d.state IN ('pending', 'failed') AND d.next_attempt_at <= $3 ORDER BY i.number, d.id`,
        [format, administration, now],
      )
    ).map(deliveryFromRow);
  }

  async openBatch(batch: {
    format: string;
    administration: string;
    fileName: string;
    contentHash: string;
    deliveryIds: number[];
  }): Promise<number | undefined> {
    return this.tx(async (c) => {
      const until = this.leaseUntil();
      const { rows } = await c.query(`SELECT id FROM deliveries WHERE id = ANY($1::bigint[]) AND state IN ('pending', 'failed') FOR UPDATE SKIP LOCKED`, [
        batch.deliveryIds,
      ]);
      // another node is batching (or batched) one of them: this batch is not recorded, that node writes it
      if (rows.length !== batch.deliveryIds.length) return undefined;
      await c.query(`UPDATE deliveries SET state = 'sending', attempts = attempts + 1, lease_owner = $1, lease_until = $2 WHERE id = ANY($3::bigint[])`, [
        this.nodeId,
        until,
        batch.deliveryIds,
      ]);
      const inserted = await c.query<{ id: number }>(
        `INSERT INTO export_batches (format, administration, file_name, content_hash, delivery_ids, state, created_at, lease_owner, lease_until)
        VALUES ($1, $2, $3, $4, $5, 'writing', $6, $7, $8) RETURNING id`,
        [batch.format, batch.administration, batch.fileName, batch.contentHash, JSON.stringify(batch.deliveryIds), nowIso(), this.nodeId, until],
      );
      return inserted.rows[0]!.id;
    });
  }

  async finishBatch(batchId: number, exported: { invoiceNumber: string; contentHash: string }[]): Promise<void> {
    await this.tx(async (c) => {
      const b = (await c.query('SELECT * FROM export_batches WHERE id = $1 FOR UPDATE', [batchId])).rows[0] as Row;
      for (const e of exported) {
        await c.query(
          `INSERT INTO exports (format, administration, invoice_number, content_hash, batch_id, exported_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
          [b['format'], b['administration'], e.invoiceNumber, e.contentHash, batchId, nowIso()],
        );
      }
      await c.query(
        `UPDATE deliveries SET state = 'sent', sent_at = $1, result = $2, last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE id = ANY($3::bigint[])`,
        [nowIso(), `${b['file_name']} (batch ${batchId})`, JSON.parse(b['delivery_ids'] as string) as number[]],
      );
      await c.query(`UPDATE export_batches SET state = 'done', finished_at = $1, lease_owner = NULL, lease_until = NULL WHERE id = $2`, [nowIso(), batchId]);
    });
  }

  async takeOverBatches(): Promise<ExportBatch[]> {
    const rows = await this.q(
      `WITH c AS (SELECT id FROM export_batches WHERE state = 'writing' AND (lease_owner = $1 OR lease_owner IS NULL OR lease_until < $2)
          ORDER BY id FOR UPDATE SKIP LOCKED)
      UPDATE export_batches b SET lease_owner = $1, lease_until = $3 FROM c WHERE b.id = c.id RETURNING b.*`,
      [this.nodeId, Date.now(), this.leaseUntil()],
    );
    return rows.map(batchFromRow).sort((a, b) => a.id - b.id);
  }

  async exportedIn(format: string, administration: string, invoiceNumber: string): Promise<number | undefined> {
    const rows = await this.q('SELECT batch_id FROM exports WHERE format = $1 AND administration = $2 AND invoice_number = $3', [
      format,
      administration,
      invoiceNumber,
    ]);
    return rows[0] ? Number(rows[0]['batch_id']) : undefined;
  }

  async reexport(seller: string, invoiceNumber: string, format: string, administration: string, reason: string, by = 'unknown'): Promise<boolean> {
    return this.tx(async (c) => {
      const invoice = (await c.query('SELECT * FROM invoices WHERE seller = $1 AND number = $2 FOR UPDATE', [seller, invoiceNumber])).rows[0] as
        Row | undefined;
      if (!invoice) return false;
      const route = (JSON.parse(invoice['routes'] as string) as Delivery[]).find((d) => d.format === format && d.target === administration);
      if (!route) return false;
      const removed = await c.query('DELETE FROM exports WHERE format = $1 AND administration = $2 AND invoice_number = $3', [
        format,
        administration,
        invoiceNumber,
      ]);
      await this.insertDeliberateCopy(c, invoice['id'] as number, seller, invoiceNumber, route, 'reexport');
      await this.event(c, 'reexport', {
        seller,
        invoice: invoiceNumber,
        format,
        administration,
        reason,
        by,
        previousExportRemoved: (removed.rowCount ?? 0) > 0,
      });
      return true;
    });
  }

  async status(now: number): Promise<LedgerStatus> {
    const counts = async (table: string): Promise<Record<string, number>> =>
      Object.fromEntries((await this.q(`SELECT state, COUNT(*) AS n FROM ${table} GROUP BY state`)).map((r) => [r['state'] as string, Number(r['n'])]));
    return statusFromRows(now, {
      files: await counts('files'),
      invoices: await counts('invoices'),
      deliveries: await counts('deliveries'),
      oldest: (await this.q(STATUS_SQL.oldest))[0],
      failures: await this.q(STATUS_SQL.failures),
      filesInError: await this.q(STATUS_SQL.filesInError),
      runs: await this.q(STATUS_SQL.runs),
      nodes: await this.q(STATUS_SQL.nodes),
    });
  }

  async metrics(): Promise<LedgerMetrics> {
    return metricsFromRows(
      await this.q(STATUS_SQL.metricsFiles),
      await this.q(STATUS_SQL.metricsInvoices),
      await this.q(STATUS_SQL.metricsDeliveries),
      (await this.q(STATUS_SQL.metricsOldest))[0],
    );
  }

  async nodes(): Promise<NodeRecord[]> {
    return (await this.q(STATUS_SQL.nodes)).map(nodeFromRow);
  }

  private async event(c: pg.PoolClient, kind: string, detail: Record<string, unknown>): Promise<void> {
    await c.query('INSERT INTO events (at, kind, detail, node) VALUES ($1, $2, $3, $4)', [nowIso(), kind, JSON.stringify(detail), this.nodeId]);
  }

  async logEvent(kind: string, detail: Record<string, unknown>): Promise<void> {
    await this.q('INSERT INTO events (at, kind, detail, node) VALUES ($1, $2, $3, $4)', [nowIso(), kind, JSON.stringify(detail), this.nodeId]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
