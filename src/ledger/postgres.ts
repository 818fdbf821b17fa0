import { BrowseQueries } from './sql/browse.js';
import { LedgerCore } from './core.js';
import type { LeaseSettings } from './ledger.js';
import { migratePostgres } from './sql/migrate.js';
import { PostgresExecutor, type SessionLimits } from './sql/postgres-executor.js';

export { isUnreachable } from './sql/postgres-executor.js';

/** Connection settings of the PostgreSQL ledger. */
export interface PostgresSettings {
  /** postgres://user@host:port/database; the password comes from PGPASSWORD (or the URL, not recommended) */
  url: string;
  poolSize?: number;
  /** how long a statement waits for a row lock, and how long a session may idle inside a transaction */
  limits?: Partial<SessionLimits>;
}

/**
 * Defaults that keep one stuck session from stopping the others: a lock is waited for 5 s (then
 * the work is tried again), and a session idle inside a transaction for 20 s (a frozen node) loses it.
 */
const DEFAULT_LIMITS: SessionLimits = { lockTimeoutMs: 5_000, idleInTransactionMs: 20_000 };

/**
 * The ledger on PostgreSQL, shared by several gateway nodes: the ledger's one set of statements
 * (core.ts) on a pool. Work is leased with `FOR UPDATE SKIP LOCKED`; a lost connection surfaces as
 * an EnvironmentError: the node pauses and resumes when the server is back.
 */
export class PostgresLedger extends LedgerCore {
  /** Connects, applies pending migrations, and returns the ledger; an unreachable server is an EnvironmentError. */
  static async open(settings: PostgresSettings, lease: LeaseSettings): Promise<PostgresLedger> {
    const x = PostgresExecutor.create(settings.url, {
      poolSize: settings.poolSize ?? 8,
      applicationName: `invoice-gateway ${lease.nodeId}`,
      limits: { ...DEFAULT_LIMITS, ...settings.limits },
    });
    try {
      await migratePostgres(x);
    } catch (err) {
      await x.close().catch(() => undefined);
      throw err;
    }
    return new PostgresLedger(x, lease, `postgres ${x.where}`, new BrowseQueries('postgres', (sql, params) => x.all(sql, params)));
  }
}
