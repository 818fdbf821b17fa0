/**
 * Migrations written once for both databases since the ledger was written once: each is a function
 * of the one type that differs (a 64-bit integer is INTEGER in SQLite, BIGINT in PostgreSQL).
 */
export type Int64 = 'INTEGER' | 'BIGINT';

/**
 * The database's clock for heartbeats; each process start under a node id is a run of its own (a
 * stalled process that comes back finds its id taken by the next run); a claim names the very file
 * it is for (inode, modification time), so a name used again is a new file, whatever the clocks say;
 * how often a file was started alone (a process that dies then points at that file, not at its
 * neighbours); Peppol submissions and follow-ups in tables of their own (they were entries of the cache).
 */
/**
 * The console's sessions and the key that signs their cookies, shared by every node: a person signed
 * in on one node is signed in on all of them (behind a load balancer), and a restart signs nobody out.
 */
export const consoleSessions = (int64: Int64): string => `
  CREATE TABLE console_sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at ${int64} NOT NULL);
  CREATE INDEX console_sessions_expiry ON console_sessions(expires_at);
  CREATE TABLE console_secret (id INTEGER PRIMARY KEY, value TEXT NOT NULL);
  `;

export const runsAndPeppolState = (int64: Int64): string => `
  ALTER TABLE nodes ADD COLUMN heartbeat_ms ${int64};
  ALTER TABLE nodes ADD COLUMN clock_offset_ms ${int64};
  ALTER TABLE nodes ADD COLUMN run INTEGER;
  ALTER TABLE files ADD COLUMN arrival TEXT;
  ALTER TABLE files ADD COLUMN solo_attempts INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX files_arrival ON files(processing_path, arrival);

  CREATE TABLE peppol_submissions (instance_id TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at TEXT NOT NULL);
  CREATE TABLE peppol_follow_ups (delivery_id ${int64} PRIMARY KEY, entry TEXT NOT NULL, until_ms ${int64} NOT NULL);
  INSERT INTO peppol_submissions (instance_id, state, updated_at)
    SELECT substr(key, 19), value, '' FROM cache WHERE substr(key, 1, 18) = 'peppol-submission:';
  INSERT INTO peppol_follow_ups (delivery_id, entry, until_ms)
    SELECT CAST(substr(key, 17) AS ${int64}), value, expires_at FROM cache WHERE substr(key, 1, 16) = 'peppol-followup:';
  DELETE FROM cache WHERE substr(key, 1, 18) = 'peppol-submission:' OR substr(key, 1, 16) = 'peppol-followup:';
  `;

/**
 * The outbox's claim asks for the deliveries of one state in the order they are due, up to its
 * limit, and this index holds that order. Its one query over all states made PostgreSQL read the
 * state index with a bitmap scan, which never marks the entries sent deliveries left behind as dead,
 * so every claim read all of them since the last vacuum (most of the server's time on a big run).
 * The planner may still choose a bitmap while its statistics are young; the claim then reads less.
 */
/** A mailbox's daily sending limit counts the mails sent in the last 24 hours: this index finds them. */
export const mailSentAt = (): string => `
  CREATE INDEX deliveries_mail_sent_at ON deliveries(transport, sent_at);
  `;

export const dueInOrder = (): string => `
  DROP INDEX deliveries_due;
  CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at, id);
  `;
