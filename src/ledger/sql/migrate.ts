import type Database from 'better-sqlite3';
import type { SqlExecutor } from './executor.js';
import { MIGRATIONS, PG_MIGRATIONS } from './schema.js';

/** Applies pending SQLite migrations; the version is read inside the write lock, so two starting processes never both apply one. */
export function migrateSqlite(db: Database.Database): void {
  const step = db.transaction((): boolean => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version >= MIGRATIONS.length) return false;
    db.exec(MIGRATIONS[version]!);
    db.pragma(`user_version = ${version + 1}`);
    return true;
  });
  while (step.immediate()) {
    /* next migration */
  }
}

/** Applies pending PostgreSQL migrations under an advisory lock: two nodes starting at once never both apply one. */
export async function migratePostgres(x: SqlExecutor): Promise<void> {
  await x.transaction(async (tx) => {
    await tx.all(`SELECT pg_advisory_xact_lock(hashtext('invoice-gateway migrations'))`);
    await tx.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    const [row] = await tx.all('SELECT MAX(version) AS v FROM schema_migrations');
    for (let v = Number(row?.['v'] ?? 0); v < PG_MIGRATIONS.length; v++) {
      await tx.run(PG_MIGRATIONS[v]!);
      await tx.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [v + 1, new Date().toISOString()]);
    }
  });
}
