import pg from 'pg';
import { postgresPlace } from '../postgres-url.js';
import { EnvironmentError } from '../../errors.js';
import { POSTGRES } from './dialect.js';
import type { Row, SqlExecutor, SqlRunner } from './executor.js';

/** int8 (COUNT, ids, epoch ms) as a JS number: every value the ledger keeps is far below 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** Error codes that mean "the database is not there" (network, shutdown, restart), not "the statement is wrong". */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', '57P01', '57P02', '57P03', '25P03']);

/** Whether a pg error means the server cannot be reached or cannot serve now (so the node pauses and waits). */
export function isUnreachable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (e.code && (UNREACHABLE.has(e.code) || e.code.startsWith('08'))) return true;
  // "timeout exceeded when trying to connect": the pool had no connection to give within its wait
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|terminating connection/i.test(
    e.message ?? '',
  );
}

/** A transaction lost to another one (deadlock, serialization): it is rolled back entirely and can run again. */
const RETRYABLE = new Set(['40P01', '40001']);
/** A lock not granted within lock_timeout: another session holds it; waiting a little and running again is right. */
const LOCK_TIMEOUT = '55P03';

/** How long a statement waits for a lock, and how long a session may sit idle inside a transaction. */
export interface SessionLimits {
  lockTimeoutMs: number;
  idleInTransactionMs: number;
}

/** `?` placeholders as PostgreSQL's `$n` (the ledger's SQL holds no `?` in a literal). */
export function numberedPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Statements on a node-postgres pool. Every session has a lock timeout (a frozen or foreign session
 * holding a row makes a statement fail and run again later, never wait for ever) and an idle-in-
 * transaction timeout (a node frozen inside a transaction loses it, and its locks, on the server).
 */
export class PostgresExecutor implements SqlExecutor {
  readonly dialect = POSTGRES;
  private readonly texts = new Map<string, string>();

  private constructor(
    private readonly pool: pg.Pool,
    readonly where: string,
  ) {}

  /** A pool for `url`; nothing is connected until the first statement. */
  static create(url: string, options: { poolSize?: number; applicationName: string; limits: SessionLimits }): PostgresExecutor {
    // read as node-postgres reads it: a socket folder (`?host=/var/run/postgresql`) is a host too
    const where = postgresPlace(url).description;
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 8,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      application_name: options.applicationName,
      options: `-c lock_timeout=${options.limits.lockTimeoutMs} -c idle_in_transaction_session_timeout=${options.limits.idleInTransactionMs}`,
      types: TYPES,
    });
    // an idle client that loses its server emits 'error' on the pool: the next query reports it
    pool.on('error', () => undefined);
    // A client can emit 'error' more than once when the server goes (the FATAL message, then the
    // closed socket), after pg's own one-shot listener is gone: without a listener of our own that
    // second event would end the process. The query under way reports the failure either way.
    pool.on('connect', (client) => client.on('error', () => undefined));
    return new PostgresExecutor(pool, where);
  }

  private text(sql: string): string {
    let t = this.texts.get(sql);
    if (t === undefined) {
      t = numberedPlaceholders(sql);
      this.texts.set(sql, t);
    }
    return t;
  }

  /** Turns an unreachable server into an EnvironmentError that says so; other errors pass unchanged. */
  translate(err: unknown): unknown {
    const code = (err as { code?: string }).code;
    if (code === LOCK_TIMEOUT)
      return new EnvironmentError(
        `the PostgreSQL ledger (${this.where}) kept a row locked longer than the lock timeout (another session holds it: a frozen node, or someone's open transaction); the work is tried again`,
        {},
      );
    if (!isUnreachable(err)) return err;
    return new EnvironmentError(
      `the PostgreSQL ledger (${this.where}) cannot be reached (${(err as Error).message}); the gateway pauses and resumes by itself when it is back`,
      {},
    );
  }

  async all(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    try {
      return (await this.pool.query(this.text(sql), params as unknown[])).rows as Row[];
    } catch (err) {
      throw this.translate(err);
    }
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    try {
      return (await this.pool.query(this.text(sql), params as unknown[])).rowCount ?? 0;
    } catch (err) {
      throw this.translate(err);
    }
  }

  async transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
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
      const tx: SqlRunner = {
        all: async (sql, params = []) => (await client.query(this.text(sql), params as unknown[])).rows as Row[],
        run: async (sql, params = []) => (await client.query(this.text(sql), params as unknown[])).rowCount ?? 0,
      };
      try {
        await client.query('BEGIN');
        const result = await work(tx);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => {
          broken = e;
        });
        const code = (err as { code?: string }).code;
        if (code && (RETRYABLE.has(code) || code === LOCK_TIMEOUT) && attempt < 5) {
          if (code === LOCK_TIMEOUT) await sleep(100 * attempt);
          continue;
        }
        if (isUnreachable(err)) broken = err as Error;
        throw this.translate(err);
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
