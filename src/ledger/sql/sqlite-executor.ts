import Database from 'better-sqlite3';
import { SQLITE } from './dialect.js';
import type { Row, SqlExecutor, SqlRunner } from './executor.js';

/** SQLite takes no arrays or booleans: arrays travel as JSON (unpacked by json_each), booleans as 0/1. */
function bindable(params: readonly unknown[]): unknown[] {
  return params.map((p) => (Array.isArray(p) ? JSON.stringify(p) : typeof p === 'boolean' ? (p ? 1 : 0) : p === undefined ? null : p));
}

/** Whether a transaction is open on a database file in this process, and when it ends. */
interface Gate {
  open: boolean;
  ended: Promise<void>;
}

/**
 * One gate per database file and process. better-sqlite3 waits for a lock synchronously: a second
 * connection of this process that wrote while a transaction awaited would block the very thread that
 * must finish it. So every statement on the file queues behind a transaction under way.
 */
const gates = new Map<string, Gate>();

/**
 * Statements on one better-sqlite3 connection. The driver is synchronous, so a transaction whose
 * work awaits must keep every other caller out until it ends: calls made meanwhile queue behind it.
 */
export class SqliteExecutor implements SqlExecutor {
  readonly dialect = SQLITE;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly gate: Gate;
  private readonly inside: SqlRunner = {
    all: async (sql, params = []) => this.allNow(sql, params),
    run: async (sql, params = []) => this.runNow(sql, params),
  };

  constructor(readonly db: Database.Database) {
    const key = db.name;
    let gate = gates.get(key);
    if (!gate) {
      gate = { open: false, ended: Promise.resolve() };
      // an in-memory database is a connection of its own: nothing to share
      if (!db.memory) gates.set(key, gate);
    }
    this.gate = gate;
  }

  private statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private allNow(sql: string, params: readonly unknown[]): Row[] {
    const s = this.statement(sql);
    if (s.reader) return s.all(...bindable(params)) as Row[];
    s.run(...bindable(params));
    return [];
  }

  private runNow(sql: string, params: readonly unknown[]): number {
    const s = this.statement(sql);
    if (s.reader) return s.all(...bindable(params)).length;
    return s.run(...bindable(params)).changes;
  }

  async all(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    // checked again right before the statement, with no await between: a transaction begun meanwhile is waited for
    while (this.gate.open) await this.gate.ended;
    return this.allNow(sql, params);
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    while (this.gate.open) await this.gate.ended;
    return this.runNow(sql, params);
  }

  async transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    while (this.gate.open) await this.gate.ended;
    let end!: () => void;
    this.gate.ended = new Promise((resolve) => (end = resolve));
    this.gate.open = true;
    try {
      // IMMEDIATE: the write lock is taken at the start, so a transaction never fails half-way for want of it
      this.db.exec('BEGIN IMMEDIATE');
      const result = await work(this.inside);
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    } finally {
      this.gate.open = false;
      end();
    }
  }

  async close(): Promise<void> {
    while (this.gate.open) await this.gate.ended;
    if (this.db.open) this.db.close();
  }
}
