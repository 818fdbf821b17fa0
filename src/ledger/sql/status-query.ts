import type { LedgerMetrics, LedgerStatus } from '../ledger.js';
import { nodeFromRow, type Row } from '../rows.js';

/** The read queries behind `status`, in SQL that SQLite and PostgreSQL both run. */
export const STATUS_SQL = {
  // ids grow with creation time: the oldest waiting delivery is the lowest id in a waiting state (one index probe per state)
  oldest: `SELECT d.id, i.number, d.created_at FROM deliveries d JOIN invoices i ON i.id = d.invoice_id
    WHERE d.id = (SELECT MIN(id) FROM (
      SELECT MIN(id) AS id FROM deliveries WHERE state = 'pending' UNION ALL
      SELECT MIN(id) FROM deliveries WHERE state = 'failed' UNION ALL
      SELECT MIN(id) FROM deliveries WHERE state = 'sending') AS firsts)`,
  // the newest ten of each state, then the newest ten of those: each part reads the (state, id) index backwards
  failures: `SELECT d.id, i.number, d.route_id, d.state, d.attempts, d.last_error, COALESCE(d.sent_at, d.created_at) AS at
    FROM deliveries d JOIN invoices i ON i.id = d.invoice_id
    WHERE d.id IN (
      SELECT id FROM (SELECT id FROM deliveries WHERE state = 'failed' AND last_error IS NOT NULL ORDER BY id DESC LIMIT 10) AS f
      UNION ALL SELECT id FROM (SELECT id FROM deliveries WHERE state = 'dead' AND last_error IS NOT NULL ORDER BY id DESC LIMIT 10) AS x)
    ORDER BY d.id DESC LIMIT 10`,
  filesInError: `SELECT id, source, name, error, final_path, COALESCE(finished_at, claimed_at) AS at FROM files WHERE state = 'error' ORDER BY id DESC LIMIT 10`,
  // the ten newest files with deliveries still under way (or the newest file), chosen before their deliveries are counted
  runs: `WITH active AS (
      SELECT DISTINCT i2.file_id AS id FROM deliveries d2 JOIN invoices i2 ON i2.id = d2.invoice_id WHERE d2.state IN ('pending', 'failed', 'sending')
      UNION SELECT MAX(id) FROM files),
    latest AS (SELECT id FROM active WHERE id IS NOT NULL ORDER BY id DESC LIMIT 10)
    SELECT f.id, f.name, f.claimed_at, COUNT(d.id) AS total,
      SUM(CASE WHEN d.state = 'sent' THEN 1 ELSE 0 END) AS done, SUM(CASE WHEN d.state = 'dead' THEN 1 ELSE 0 END) AS dead, MAX(d.sent_at) AS last_sent
    FROM latest l JOIN files f ON f.id = l.id JOIN invoices i ON i.file_id = f.id JOIN deliveries d ON d.invoice_id = i.id
    GROUP BY f.id, f.name, f.claimed_at ORDER BY f.id DESC`,
  numberSeries: 'SELECT seller, counter, last_seq FROM number_series ORDER BY seller, counter',
  metricsOldest: `SELECT MIN(created_at) AS since FROM deliveries WHERE state IN ('pending', 'failed', 'sending')`,
};

/** Assembles the metrics counts from the rows of the metrics queries. */
export function metricsFromRows(files: Row[], invoices: Row[], deliveries: Row[], oldest: Row | undefined): LedgerMetrics {
  return {
    files: files.map((r) => ({ source: r['source'] as string, state: r['state'] as string, n: n(r['n']) })),
    invoices: invoices.map((r) => ({ state: r['state'] as string, n: n(r['n']) })),
    deliveries: deliveries.map((r) => ({ state: r['state'] as string, transport: r['transport'] as string, n: n(r['n']) })),
    ...(oldest?.['since'] ? { oldestWaitingSince: oldest['since'] as string } : {}),
  };
}

const n = (v: unknown): number => Number(v ?? 0);

/** Assembles the status from the rows of STATUS_SQL and the counts per state. */
export function statusFromRows(
  _now: number,
  r: {
    files: Record<string, number>;
    invoices: Record<string, number>;
    deliveries: Record<string, number>;
    oldest: Row | undefined;
    failures: Row[];
    filesInError: Row[];
    runs: Row[];
    nodes: Row[];
    numberSeries: Row[];
  },
): LedgerStatus {
  return {
    files: r.files,
    invoices: r.invoices,
    deliveries: r.deliveries,
    ...(r.oldest ? { oldestPending: { id: n(r.oldest['id']), invoiceNumber: r.oldest['number'] as string, since: r.oldest['created_at'] as string } } : {}),
    filesInError: r.filesInError.map((f) => ({
      id: n(f['id']),
      source: f['source'] as string,
      name: f['name'] as string,
      error: String(f['error'] ?? '').slice(0, 300),
      at: f['at'] as string,
      ...(f['final_path'] ? { finalPath: f['final_path'] as string } : {}),
    })),
    recentFailures: r.failures.map((f) => ({
      id: n(f['id']),
      invoiceNumber: f['number'] as string,
      routeId: f['route_id'] as string,
      state: f['state'] as string,
      attempts: n(f['attempts']),
      error: f['last_error'] as string,
      at: f['at'] as string,
    })),
    runs: r.runs.map((run) => ({
      fileId: n(run['id']),
      name: run['name'] as string,
      total: n(run['total']),
      done: n(run['done']),
      dead: n(run['dead']),
      startedAt: run['claimed_at'] as string,
      ...(run['last_sent'] ? { lastSentAt: run['last_sent'] as string } : {}),
    })),
    nodes: r.nodes.map(nodeFromRow),
    numberSeries: r.numberSeries.map((row) => ({ seller: row['seller'] as string, counter: row['counter'] as string, last: n(row['last_seq']) })),
  };
}
