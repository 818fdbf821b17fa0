import { SQLITE_HISTORY } from './migrations.js';
import { PG_HISTORY } from './pg-migrations.js';
import { consoleSessions, runsAndPeppolState, dueInOrder, mailSentAt, type Int64 } from './shared-migrations.js';

/**
 * The ledger's schema, one list of steps written once for both databases (each a function of the one
 * type that differs), after what each database had when the ledger was written once. A new table or
 * column is one step appended here. Never edit a released step.
 */
export const SCHEMA_STEPS: readonly ((int64: Int64) => string)[] = [
  // runs of a node id, claims by the very file, Peppol state in its own tables (SQLite 9, PostgreSQL 5)
  runsAndPeppolState,
  // the console's sessions and their signing key, shared by every node (SQLite 10, PostgreSQL 6)
  consoleSessions,
  // the outbox's claim reads each state's deliveries in due order (SQLite 11, PostgreSQL 7)
  dueInOrder,
  // a mailbox's mails of the last 24 hours, for its daily limit (SQLite 12, PostgreSQL 8)
  mailSentAt,
];

/** SQLite's migrations in order; PRAGMA user_version holds how many have run. */
export const MIGRATIONS: readonly string[] = [...SQLITE_HISTORY, ...SCHEMA_STEPS.map((step) => step('INTEGER'))];

/** PostgreSQL's migrations in order; schema_migrations holds the versions applied. */
export const PG_MIGRATIONS: readonly string[] = [...PG_HISTORY, ...SCHEMA_STEPS.map((step) => step('BIGINT'))];
