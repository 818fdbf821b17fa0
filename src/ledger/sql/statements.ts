import type { Dialect } from './dialect.js';

/**
 * Every statement of the ledger, written once with `?` placeholders in the terms of a Dialect.
 * The lease rules live here and only here: who holds a row, when a lease counts as expired
 * (on the database's clock), and what a stale holder may no longer change.
 */
export function ledgerStatements(d: Dialect) {
  const skipLocked = d.skipLocked ? ' FOR UPDATE SKIP LOCKED' : '';
  // a renewal passes over rows a transaction holds right now instead of queueing behind it
  const renewable = d.skipLocked ? ' FOR NO KEY UPDATE SKIP LOCKED' : '';
  const lockRows = d.singleWriter ? '' : ' FOR UPDATE';
  // the file rows a store depends on: a takeover (FOR UPDATE) waits, a lease renewal does not
  const keepRows = d.singleWriter ? '' : ' FOR KEY SHARE';
  /** a lease that ends `?` ms from now, on the database's clock */
  const leaseUntil = `${d.nowMs} + ?`;
  /** nobody holds it: never leased, or the lease expired on the database's clock */
  const free = `(lease_owner IS NULL OR lease_until < ${d.nowMs})`;
  /** held by some run of this node id (params: length of the prefix, the prefix `<id>#`) */
  const anyRunOf = `substr(lease_owner, 1, ?) = ?`;
  const batched = d.notInArray('format', 'text');
  /** the ids of one state's due deliveries that an outbox may send, in due order (params: the condition's, batched formats, busy targets, how many) */
  const dueOfState = (condition: string): string =>
    `SELECT id FROM (SELECT id FROM deliveries WHERE ${condition} AND ${batched}
      AND ${d.notInArray(`(CASE WHEN transport = 'email' THEN 'email' ELSE transport || ':' || target END)`, 'text')}
      ORDER BY next_attempt_at, id LIMIT ?) AS due`;
  /** params: owner, batched formats */
  const heldOrWaitingForBatch = `((state = 'sending' AND lease_owner = ?) OR (state IN ('pending', 'failed') AND ${d.inArray('format', 'text')} AND ${free}))`;

  return {
    ping: 'SELECT 1',
    clock: `SELECT ${d.nowMs} AS now_ms`,

    // --- nodes: one row per node id; each start of a process under that id is a new run (incarnation)
    /** params: id, host, pid, clock offset, lease ms (a live holder's heartbeat is younger), replace (1: take it regardless) */
    claimNode: `INSERT INTO nodes (id, host, pid, started_at, heartbeat_at, heartbeat_ms, clock_offset_ms, run)
      VALUES (?, ?, ?, ${d.nowIso}, ${d.nowIso}, ${d.nowMs}, ?, 1)
      ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,
        heartbeat_ms = excluded.heartbeat_ms, clock_offset_ms = excluded.clock_offset_ms, paused = NULL, run = COALESCE(nodes.run, 0) + 1
      WHERE nodes.heartbeat_ms IS NULL OR nodes.heartbeat_ms < ${d.nowMs} - ? OR ? = 1
      RETURNING run`,
    nodeById: `SELECT n.*, ${d.nowMs} - n.heartbeat_ms AS heartbeat_age_ms FROM nodes n WHERE n.id = ?`,
    /** params: paused, clock offset, id, run; no row: another process took this id over */
    heartbeat: `UPDATE nodes SET heartbeat_at = ${d.nowIso}, heartbeat_ms = ${d.nowMs}, paused = ?, clock_offset_ms = ? WHERE id = ? AND run = ?
      RETURNING ${d.nowMs} AS now_ms`,
    leave: 'DELETE FROM nodes WHERE id = ? AND run = ?',
    renewFiles: `UPDATE files SET lease_until = ${leaseUntil} WHERE id IN (SELECT id FROM files WHERE lease_owner = ? AND state = 'processing'${renewable})`,
    renewDeliveries: `UPDATE deliveries SET lease_until = ${leaseUntil} WHERE id IN (SELECT id FROM deliveries WHERE lease_owner = ? AND state = 'sending'${renewable})`,
    renewBatches: `UPDATE export_batches SET lease_until = ${leaseUntil} WHERE id IN (SELECT id FROM export_batches WHERE lease_owner = ? AND state = 'writing'${renewable})`,

    // --- files
    /** params: source, name, hash, path, owner, lease ms, arrival, path, arrival */
    claimFile: `INSERT INTO files (source, name, content_hash, state, processing_path, claimed_at, lease_owner, lease_until, attempts, arrival)
      SELECT ?, ?, ?, 'processing', ?, ${d.nowIso}, ?, ${leaseUntil}, 1, ? WHERE NOT EXISTS (SELECT 1 FROM files WHERE processing_path = ? AND arrival = ?)
      ON CONFLICT (processing_path) WHERE state = 'processing' DO NOTHING
      RETURNING *, (SELECT p.id FROM files p WHERE p.source = files.source AND p.content_hash = files.content_hash AND p.state IN ('done', 'partial')
        ORDER BY p.id LIMIT 1) AS same_content_as`,
    claimedAs: 'SELECT 1 FROM files WHERE processing_path = ? AND arrival = ? LIMIT 1',
    /** this run's own claim of this very file, still open (params: path, arrival, owner) */
    ownClaim: `SELECT * FROM files WHERE processing_path = ? AND arrival = ? AND state = 'processing' AND lease_owner = ?`,
    processed: `SELECT * FROM files WHERE source = ? AND content_hash = ? AND state IN ('done', 'partial') ORDER BY id LIMIT 1`,
    fileById: 'SELECT * FROM files WHERE id = ?',
    /** params: owner, lease ms, own (1/0), prefix length, prefix */
    takeOverFiles: `UPDATE files SET lease_owner = ?, lease_until = ${leaseUntil} WHERE id IN (
        SELECT id FROM files WHERE state = 'processing' AND ((? = 1 AND ${anyRunOf}) OR ${free}) ORDER BY id${skipLocked})
      RETURNING *`,
    /** params: owner, lease ms, id, owner */
    reclaimFile: `UPDATE files SET lease_owner = ?, lease_until = ${leaseUntil} WHERE id = ? AND state = 'processing' AND (lease_owner = ? OR ${free})`,
    /** params: state, note, id, owner */
    markVanished: `UPDATE files SET state = ?, error = ?, finished_at = ${d.nowIso}, lease_owner = NULL, lease_until = NULL
      WHERE id = ? AND state = 'processing' AND lease_owner = ?`,
    forgetAttempt: `UPDATE files SET attempts = ${d.greatest('attempts - 1', '0')}, solo_attempts = ${d.greatest('solo_attempts - 1', '0')}
      WHERE id = ? AND state = 'processing' AND lease_owner = ?`,
    startAttempt: `UPDATE files SET attempts = attempts + 1 WHERE id = ? AND state = 'processing' AND lease_owner = ? RETURNING attempts`,
    startSoloAttempt: `UPDATE files SET solo_attempts = solo_attempts + 1 WHERE id = ? AND state = 'processing' AND lease_owner = ? RETURNING solo_attempts`,
    /** params: state, final path, found, rejected, error, id, owner: only the holder of a file still processing finishes it */
    finishFile: `UPDATE files SET state = ?, final_path = ?, invoices_found = ?, invoices_rejected = ?, error = ?, finished_at = ${d.nowIso},
        lease_owner = NULL, lease_until = NULL
      WHERE id = ? AND state = 'processing' AND lease_owner = ?`,
    /** several at once (params: ids, states, final paths, found, rejected, errors, owner); answers the ids it finished */
    finishFiles: d.rowArrays
      ? `UPDATE files SET state = v.state, final_path = v.final_path, invoices_found = v.found, invoices_rejected = v.rejected, error = v.error,
          finished_at = ${d.nowIso}, lease_owner = NULL, lease_until = NULL
          FROM unnest(?::bigint[], ?::text[], ?::text[], ?::int[], ?::int[], ?::text[]) AS v(id, state, final_path, found, rejected, error)
          WHERE files.id = v.id AND files.state = 'processing' AND lease_owner = ? RETURNING files.id`
      : '',
    /** the files a store is for, held still for the transaction (one array param) */
    fence: `SELECT id, state, lease_owner FROM files WHERE ${d.inArray('id', 'bigint')}${keepRows}`,

    // --- invoices and numbers
    lockKeys: `SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(?::text[]) AS k`,
    /** params: file ids, ordinals; every pair of the two lists, so a caller keeps the pairs it asked for */
    storedOfFiles: `SELECT file_id, seq_in_file, id, number FROM invoices WHERE ${d.inArray('file_id', 'bigint')} AND ${d.inArray('seq_in_file', 'bigint')}`,
    // with `= ANY(keys)` PostgreSQL looked up the seller only and filtered its rows when its statistics
    // were stale (every invoice of the seller read, per store: a burst slowed down as it went); one
    // lookup per key instead, kept apart by OFFSET 0 so the planner cannot fold it back into one scan
    issuedByKey: d.lateral
      ? `SELECT x.* FROM unnest(?::text[]) AS k(key) CROSS JOIN LATERAL (SELECT i.seller, i.business_key, i.id, i.number, f.name
          FROM invoices i JOIN files f ON f.id = i.file_id WHERE i.business_key = k.key AND i.seller = ? AND i.state IN ('issued', 'held') OFFSET 0) x ORDER BY x.id`
      : `SELECT i.seller, i.business_key, i.id, i.number, f.name FROM invoices i JOIN files f ON f.id = i.file_id
          WHERE ${d.inArray('i.business_key', 'text')} AND i.seller = ? AND i.state IN ('issued', 'held') ORDER BY i.id`,
    numbersOfSeller: `SELECT i.seller, i.number, f.name FROM invoices i JOIN files f ON f.id = i.file_id WHERE i.seller = ? AND ${d.inArray('i.number', 'text')}`,
    /** params: seller, counter, how many: the last of the range taken; the row stays locked until the transaction ends */
    takeNumbers: `INSERT INTO number_series (seller, counter, last_seq) VALUES (?, ?, ?)
      ON CONFLICT (seller, counter) DO UPDATE SET last_seq = number_series.last_seq + excluded.last_seq RETURNING last_seq`,
    invoiceForUpdate: `SELECT * FROM invoices WHERE id = ?${lockRows}`,
    /** params: number, document, routes, issued at, issue date, buyer name, buyer search, amount, id */
    issueHeld: `UPDATE invoices SET number = ?, state = 'issued', document = ?, routes = ?, issued_at = ?, hold_until = NULL, hold_status = NULL,
        lease_owner = NULL, lease_until = NULL, issue_date = ?, buyer_name = ?, buyer_search = ?, amount = ?
      WHERE id = ? AND state = 'held'`,
    rejectHeld: `UPDATE invoices SET state = 'rejected', hold_until = NULL, lease_owner = NULL, lease_until = NULL WHERE id = ? AND state = 'held'`,
    /** params: document, routes, payable, issue date, buyer name, buyer search, amount, id */
    updateHeld: `UPDATE invoices SET document = ?, routes = ?, payable = ?, issue_date = ?, buyer_name = ?, buyer_search = ?, amount = ?
      WHERE id = ? AND state = 'held'`,
    heldForOrder: `SELECT * FROM invoices WHERE order_key = ? AND state = 'held' ORDER BY id LIMIT 1`,
    issuedForOrder: `SELECT * FROM invoices WHERE order_key = ? AND state = 'issued' ORDER BY id LIMIT 1`,
    /** params: owner, lease ms, now (due time), owner, limit */
    claimDueHeld: `UPDATE invoices SET lease_owner = ?, lease_until = ${leaseUntil} WHERE id IN (
        SELECT id FROM invoices WHERE state = 'held' AND hold_until IS NOT NULL AND hold_until <= ? AND (lease_owner = ? OR ${free})
        ORDER BY id LIMIT ?${skipLocked})
      RETURNING *`,
    invoiceByNumber: 'SELECT * FROM invoices WHERE seller = ? AND number = ? ORDER BY id LIMIT 1',
    invoiceByNumberForUpdate: `SELECT * FROM invoices WHERE seller = ? AND number = ?${lockRows}`,
    sellersOfNumber: 'SELECT DISTINCT seller FROM invoices WHERE number = ? ORDER BY seller',
    invoiceById: 'SELECT * FROM invoices WHERE id = ?',
    // the console's sessions: expiry on the database's clock, like every lease
    sessionGet: `SELECT data FROM console_sessions WHERE id = ? AND expires_at > ${d.nowMs}`,
    sessionSet: `INSERT INTO console_sessions (id, data, expires_at) VALUES (?, ?, ${d.nowMs} + ?)
      ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
    sessionDestroy: 'DELETE FROM console_sessions WHERE id = ?',
    sessionsExpired: `DELETE FROM console_sessions WHERE expires_at <= ${d.nowMs}`,
    consoleSecretOffer: 'INSERT INTO console_secret (id, value) VALUES (1, ?) ON CONFLICT (id) DO NOTHING',
    consoleSecret: 'SELECT value FROM console_secret WHERE id = 1',
    invoicesByIds: `SELECT * FROM invoices WHERE ${d.inArray('id', 'bigint')}`,
    invoicesOfFile: 'SELECT number, state, source_key FROM invoices WHERE file_id = ? ORDER BY seq_in_file',

    // --- deliveries
    /**
     * params: owner, lease ms, then per state (pending: now; failed: now, stale after; sending: none)
     * the batched formats, the busy targets and how many to read, then now, stale after, limit.
     * Each state's due deliveries are asked for in due order, up to a limit (the index (state,
     * next_attempt_at, id) holds that order); the rows are then locked with the whole rule checked
     * again on their latest version.
     */
    claimDueDeliveries: `UPDATE deliveries SET state = 'sending', attempts = attempts + 1, lease_owner = ?, lease_until = ${leaseUntil} WHERE id IN (
        SELECT id FROM deliveries
        WHERE id IN (
            ${dueOfState("state = 'pending' AND next_attempt_at <= ?")}
            UNION ALL ${dueOfState("state = 'failed' AND (next_attempt_at <= ? OR next_attempt_at > ?)")}
            UNION ALL ${dueOfState(`state = 'sending' AND (lease_until IS NULL OR lease_until < ${d.nowMs})`)})
          AND ((state IN ('pending', 'failed') AND next_attempt_at <= ?) OR (state = 'failed' AND next_attempt_at > ?)
            OR (state = 'sending' AND (lease_until IS NULL OR lease_until < ${d.nowMs})))
        ORDER BY next_attempt_at, id LIMIT ?${skipLocked})
      RETURNING *, (SELECT number FROM invoices i WHERE i.id = deliveries.invoice_id) AS number`,
    /**
     * An outcome counts when it comes from the delivery's holder while it is sending, or for a
     * delivery nobody sends (an accounting delivery waiting for its batch); never over one that
     * another node has sent or holds. params: …, id, owner, batched formats
     */
    markSent: `UPDATE deliveries SET state = 'sent', sent_at = ?, result = ?, progress = ?, last_error = NULL, lease_owner = NULL, lease_until = NULL
      WHERE id = ? AND ${heldOrWaitingForBatch}`,
    /** several at once (params: sent at, ids, results, progresses, owner, batched formats); answers the ids it marked */
    markSentMany: d.rowArrays
      ? `UPDATE deliveries SET state = 'sent', sent_at = ?, result = v.result, progress = v.progress, last_error = NULL, lease_owner = NULL, lease_until = NULL
          FROM unnest(?::bigint[], ?::text[], ?::text[]) AS v(id, result, progress)
          WHERE deliveries.id = v.id AND ${heldOrWaitingForBatch} RETURNING deliveries.id`
      : '',
    markFailed: `UPDATE deliveries SET state = ?, last_error = ?, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL
      WHERE id = ? AND ${heldOrWaitingForBatch}`,
    /** not a failure: the target asked us to come later (a daily limit, throttling); the attempt is not counted */
    markDeferred: `UPDATE deliveries SET state = 'pending', last_error = ?, next_attempt_at = ?, attempts = ${d.greatest('attempts - 1', '0')},
      lease_owner = NULL, lease_until = NULL WHERE id = ? AND ${heldOrWaitingForBatch}`,
    /** e-mail: how many went out since a time (params: since, ISO), the first of them, and how many wait */
    mailSince: `SELECT COUNT(*) AS n, MIN(sent_at) AS first FROM deliveries WHERE transport = 'email' AND sent_at >= ?`,
    mailWaiting: `SELECT COUNT(*) AS n FROM deliveries WHERE transport = 'email' AND state IN ('pending', 'failed', 'sending')`,
    amendResult: `UPDATE deliveries SET result = ?, progress = COALESCE(?, progress) WHERE id = ? AND state = 'sent'`,
    /** params: prefix length, prefix, batched formats */
    releaseOwnSending: `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_until = NULL
      WHERE state = 'sending' AND (lease_owner IS NULL OR ${anyRunOf}) AND ${batched}`,
    retryDelivery: `UPDATE deliveries SET state = 'pending', next_attempt_at = ?, attempts = 0 WHERE state IN ('failed', 'dead', 'bounced') AND id = ?`,
    /** an e-mail delivery sent again to a corrected address (params: address, now, id) */
    retryDeliveryTo: `UPDATE deliveries SET target = ?, state = 'pending', next_attempt_at = ?, attempts = 0
      WHERE transport = 'email' AND state IN ('failed', 'dead', 'bounced') AND id = ?`,
    retryFile: `UPDATE deliveries SET state = 'pending', next_attempt_at = ?, attempts = 0
      WHERE state IN ('failed', 'dead', 'bounced') AND invoice_id IN (SELECT id FROM invoices WHERE file_id = ?)`,
    /** a mail reported undeliverable after it was sent (params: reason, idempotency key); answers the delivery's id */
    markBounced: `UPDATE deliveries SET state = 'bounced', last_error = ? WHERE idempotency_key = ? AND transport = 'email' AND state = 'sent' RETURNING id`,
    countCopies: 'SELECT COUNT(*) AS n FROM deliveries WHERE invoice_id = ? AND route_id = ?',
    deliveryById: 'SELECT d.*, i.number FROM deliveries d JOIN invoices i ON i.id = d.invoice_id WHERE d.id = ?',
    deliveryStatesOfFile: `SELECT COUNT(*) AS total, SUM(CASE WHEN d.state = 'sent' THEN 1 ELSE 0 END) AS sent,
        SUM(CASE WHEN d.state = 'dead' THEN 1 ELSE 0 END) AS dead, SUM(CASE WHEN d.state = 'failed' THEN 1 ELSE 0 END) AS failed
      FROM deliveries d JOIN invoices i ON i.id = d.invoice_id WHERE i.file_id = ?`,
    deliveriesOfInvoice: 'SELECT d.*, i.number FROM deliveries d JOIN invoices i ON i.id = d.invoice_id WHERE d.invoice_id = ? ORDER BY d.id',

    // --- accounting batches
    pendingExports: `SELECT d.*, i.number FROM deliveries d JOIN invoices i ON i.id = d.invoice_id
      WHERE d.format = ? AND d.target = ? AND d.state IN ('pending', 'failed') AND d.next_attempt_at <= ? ORDER BY i.number, d.id`,
    batchable: `SELECT id FROM deliveries WHERE ${d.inArray('id', 'bigint')} AND state IN ('pending', 'failed')${skipLocked}`,
    /** params: owner, lease ms, ids */
    leaseForBatch: `UPDATE deliveries SET state = 'sending', attempts = attempts + 1, lease_owner = ?, lease_until = ${leaseUntil} WHERE ${d.inArray('id', 'bigint')}`,
    /** params: format, administration, file name, hash, delivery ids (JSON), created at, owner, lease ms */
    openBatch: `INSERT INTO export_batches (format, administration, file_name, content_hash, delivery_ids, state, created_at, lease_owner, lease_until)
      VALUES (?, ?, ?, ?, ?, 'writing', ?, ?, ${leaseUntil}) RETURNING id`,
    /** only the batch's holder finishes it: params id, owner */
    heldBatch: `SELECT * FROM export_batches WHERE id = ? AND state = 'writing' AND lease_owner = ?${lockRows}`,
    recordExport: `INSERT INTO exports (format, administration, invoice_number, content_hash, batch_id, exported_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    /** params: sent at, result, ids (the batch's lease fences them: a node that took the batch over finishes its deliveries) */
    batchSent: `UPDATE deliveries SET state = 'sent', sent_at = ?, result = ?, last_error = NULL, lease_owner = NULL, lease_until = NULL
      WHERE ${d.inArray('id', 'bigint')} AND state = 'sending'`,
    batchDone: `UPDATE export_batches SET state = 'done', finished_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?`,
    /** params: owner, lease ms, prefix length, prefix */
    takeOverBatches: `UPDATE export_batches SET lease_owner = ?, lease_until = ${leaseUntil} WHERE id IN (
        SELECT id FROM export_batches WHERE state = 'writing' AND (${anyRunOf} OR ${free}) ORDER BY id${skipLocked})
      RETURNING *`,
    exportedIn: 'SELECT batch_id FROM exports WHERE format = ? AND administration = ? AND invoice_number = ?',
    forgetExport: 'DELETE FROM exports WHERE format = ? AND administration = ? AND invoice_number = ?',

    // --- the audit trail and the cache
    event: 'INSERT INTO events (at, kind, detail, node) VALUES (?, ?, ?, ?)',
    cacheGet: 'SELECT value FROM cache WHERE key = ? AND expires_at > ?',
    cachePut:
      'INSERT INTO cache (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at',
    cacheExpire: 'DELETE FROM cache WHERE expires_at <= ?',

    // --- Peppol
    peppolSubmission: 'SELECT state FROM peppol_submissions WHERE instance_id = ?',
    recordPeppolSubmission: `INSERT INTO peppol_submissions (instance_id, state, updated_at) VALUES (?, ?, ${d.nowIso})
      ON CONFLICT (instance_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
    addFollowUp: `INSERT INTO peppol_follow_ups (delivery_id, entry, until_ms) VALUES (?, ?, ?)
      ON CONFLICT (delivery_id) DO UPDATE SET entry = excluded.entry, until_ms = excluded.until_ms`,
    followUps: 'SELECT delivery_id, entry FROM peppol_follow_ups WHERE until_ms > ? ORDER BY delivery_id LIMIT ?',
    dropFollowUp: 'DELETE FROM peppol_follow_ups WHERE delivery_id = ?',
    expireFollowUps: 'DELETE FROM peppol_follow_ups WHERE until_ms <= ?',

    // --- counts
    countsOf: (table: 'files' | 'invoices' | 'deliveries'): string =>
      d.keptCounts
        ? `SELECT state, SUM(n) AS n FROM state_counts WHERE tbl = '${table}' GROUP BY state HAVING SUM(n) > 0`
        : `SELECT state, COUNT(*) AS n FROM ${table} GROUP BY state`,
    metricsFiles: d.keptCounts
      ? `SELECT part AS source, state, n FROM state_counts WHERE tbl = 'files' AND n > 0`
      : 'SELECT source, state, COUNT(*) AS n FROM files GROUP BY source, state',
    metricsInvoices: d.keptCounts
      ? `SELECT state, n FROM state_counts WHERE tbl = 'invoices' AND n > 0`
      : 'SELECT state, COUNT(*) AS n FROM invoices GROUP BY state',
    metricsDeliveries: d.keptCounts
      ? `SELECT state, part AS transport, n FROM state_counts WHERE tbl = 'deliveries' AND n > 0`
      : 'SELECT state, transport, COUNT(*) AS n FROM deliveries GROUP BY state, transport',
    /** the nodes with the age of their heartbeat on the database's clock (a node's own clock may be off) */
    nodes: `SELECT n.*, ${d.nowMs} - n.heartbeat_ms AS heartbeat_age_ms FROM nodes n ORDER BY n.id`,
  };
}

/** The statements of one dialect. */
export type LedgerStatements = ReturnType<typeof ledgerStatements>;

/** A multi-row INSERT of rows with the same columns, returning `returning`. */
export function insertRows(table: string, rows: readonly Record<string, unknown>[], returning: string): { sql: string; params: unknown[] } {
  const cols = Object.keys(rows[0]!);
  const params: unknown[] = [];
  const tuples = rows.map((row) => {
    for (const col of cols) params.push(row[col]);
    return `(${cols.map(() => '?').join(', ')})`;
  });
  return { sql: `INSERT INTO ${table} (${cols.join(', ')}) VALUES ${tuples.join(', ')} RETURNING ${returning}`, params };
}
