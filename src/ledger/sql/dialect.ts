/**
 * What differs between the ledger's two databases, named: the SQL of the ledger is written once
 * against this, and each executor brings its own.
 */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** rows another transaction holds are passed over instead of waited for (PostgreSQL); SQLite has one writer at a time */
  readonly skipLocked: boolean;
  /** keys can be locked for a transaction without a row (PostgreSQL); on SQLite the write lock covers everything */
  readonly advisoryLocks: boolean;
  /** one writer at a time: a transaction sees no other node's work in flight (SQLite, and so one node) */
  readonly singleWriter: boolean;
  /** counts per state are kept by triggers (SQLite) instead of counted on demand */
  readonly keptCounts: boolean;
  /** the database's clock, in epoch milliseconds: leases and heartbeats are timed by it, never by a node's own */
  readonly nowMs: string;
  /** the database's clock as ISO 8601 UTC text with milliseconds (sorts as text on both) */
  readonly nowIso: string;
  /** `expr` is one of the values of one array parameter */
  inArray(expr: string, type: 'text' | 'bigint'): string;
  /** `expr` is none of the values of one array parameter */
  notInArray(expr: string, type: 'text' | 'bigint'): string;
  /** the larger of two values */
  greatest(a: string, b: string): string;
  /**
   * A subquery run once per row before it (LATERAL, PostgreSQL): a lookup per key stays an index
   * lookup however stale the planner's statistics are (a table that grew from empty in a burst)
   */
  readonly lateral: boolean;
  /** several rows' values travel as parallel arrays and are read back as rows (unnest, PostgreSQL) */
  readonly rowArrays: boolean;
}

/** SQLite (better-sqlite3): array parameters travel as JSON and are unpacked by json_each. */
export const SQLITE: Dialect = {
  name: 'sqlite',
  skipLocked: false,
  advisoryLocks: false,
  singleWriter: true,
  keptCounts: true,
  nowMs: `CAST(unixepoch('subsec') * 1000 AS INTEGER)`,
  nowIso: `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
  inArray: (expr) => `${expr} IN (SELECT value FROM json_each(?))`,
  notInArray: (expr) => `${expr} NOT IN (SELECT value FROM json_each(?))`,
  greatest: (a, b) => `MAX(${a}, ${b})`,
  lateral: false,
  rowArrays: false,
};

/** PostgreSQL (node-postgres): array parameters travel as arrays. */
export const POSTGRES: Dialect = {
  name: 'postgres',
  skipLocked: true,
  advisoryLocks: true,
  singleWriter: false,
  keptCounts: false,
  // now() is the transaction's start: one instant for everything a transaction decides
  nowMs: `(extract(epoch FROM now()) * 1000)::bigint`,
  nowIso: `to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
  inArray: (expr, type) => `${expr} = ANY(?::${type}[])`,
  notInArray: (expr, type) => `${expr} <> ALL(?::${type}[])`,
  greatest: (a, b) => `GREATEST(${a}, ${b})`,
  lateral: true,
  rowArrays: true,
};
