import Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { EnvironmentError } from '../../errors.js';

/**
 * One gateway process per SQLite ledger: a second one would book accounting entries twice and
 * release the first one's sends. The lock is SQLite's own exclusive lock on a small file beside
 * the ledger, held for the life of the process; the operating system drops it when the process
 * dies, so a crash never leaves a stale lock. Commands that only read or queue (status, retry,
 * resend) do not take it.
 */
export class LedgerLock {
  private constructor(private readonly db: Database.Database) {}

  /** Takes the lock or throws an EnvironmentError that names the process holding it. */
  static acquire(ledgerFile: string): LedgerLock {
    const db = new Database(`${ledgerFile}.lock`, { timeout: 0 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER, host TEXT, since TEXT)');
      db.exec('BEGIN EXCLUSIVE');
      db.exec('DELETE FROM holder');
      db.prepare('INSERT INTO holder VALUES (?, ?, ?)').run(process.pid, hostname(), new Date().toISOString());
      // the transaction stays open: its exclusive lock is the lock
      return new LedgerLock(db);
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
      throw new EnvironmentError(
        `another invoice-gateway process is already running on the ledger ${ledgerFile}; two processes on one SQLite ledger would send and book twice. Stop the other one (or give this one its own dataDir); several nodes need the PostgreSQL ledger`,
        { file: ledgerFile },
      );
    }
  }

  release(): void {
    if (this.db.open) {
      this.db.exec('ROLLBACK');
      this.db.close();
    }
  }
}
