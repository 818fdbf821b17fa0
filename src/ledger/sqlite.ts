import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { BrowseQueries } from './sql/browse.js';
import { LedgerCore } from './core.js';
import type { LeaseSettings } from './ledger.js';
import { migrateSqlite } from './sql/migrate.js';
import { EnvironmentError } from '../errors.js';
import { SqliteExecutor } from './sql/sqlite-executor.js';

/** Refuses a ledger file that is not a sound SQLite database (garbage written into it, a torn copy). */
function checkIntegrity(db: Database.Database, path: string): void {
  let verdict: string;
  try {
    verdict = (db.pragma('quick_check', { simple: false }) as { quick_check: string }[]).map((r) => r.quick_check).join('; ');
  } catch (err) {
    db.close();
    throw new EnvironmentError(
      `the ledger ${path} is not a readable SQLite database (${(err as Error).message}); restore it from a backup, or move it aside to start an empty one. Nothing was numbered`,
      { file: path },
    );
  }
  if (verdict !== 'ok') {
    db.close();
    throw new EnvironmentError(
      `the ledger ${path} is damaged (SQLite quick_check: ${verdict.slice(0, 300)}); restore it from a backup. The gateway does not number invoices on a damaged ledger`,
      { file: path },
    );
  }
}

/** Opens (and migrates) the SQLite file of a ledger. */
function openDatabase(path: string): Database.Database {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: 15_000 });
  checkIntegrity(db, path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  migrateSqlite(db);
  return db;
}

/**
 * The ledger on a SQLite file (WAL): the embedded default for one node. The statements are the
 * ledger's one set (core.ts); this only opens, checks and migrates the file.
 */
export class SqliteLedger extends LedgerCore {
  constructor(
    readonly path: string,
    lease: LeaseSettings = { nodeId: hostname(), leaseMs: 60_000 },
  ) {
    const x = new SqliteExecutor(openDatabase(path));
    super(x, lease, `sqlite ${path}`, new BrowseQueries('sqlite', (sql, params) => x.all(sql, params)));
  }
}
