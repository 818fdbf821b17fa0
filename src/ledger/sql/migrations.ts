/**
 * The SQLite ledger's schema as released before the ledger was written once (PRAGMA user_version
 * 1–8). Never edit a released migration; the steps after these are in schema.ts, written once.
 */
export const SQLITE_HISTORY: string[] = [
  // 1: files, invoices, number series, deliveries, events
  `
  CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    name TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    processing_path TEXT NOT NULL,
    final_path TEXT,
    claimed_at TEXT NOT NULL,
    finished_at TEXT,
    invoices_found INTEGER,
    invoices_rejected INTEGER,
    error TEXT
  );
  CREATE UNIQUE INDEX files_claim ON files(processing_path) WHERE state = 'processing';
  CREATE INDEX files_hash ON files(source, content_hash);

  CREATE TABLE number_series (
    seller TEXT NOT NULL,
    counter TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (seller, counter)
  );

  CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id),
    seq_in_file INTEGER NOT NULL,
    source_key TEXT NOT NULL,
    seller TEXT NOT NULL,
    kind TEXT NOT NULL,
    type_code TEXT NOT NULL,
    number TEXT,
    state TEXT NOT NULL,
    order_key TEXT,
    hold_until INTEGER,
    hold_status TEXT,
    customer TEXT,
    currency TEXT,
    payable TEXT,
    number_format TEXT NOT NULL,
    document TEXT NOT NULL,
    routes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    issued_at TEXT,
    UNIQUE (file_id, seq_in_file)
  );
  CREATE UNIQUE INDEX invoices_number ON invoices(seller, number) WHERE number IS NOT NULL;
  CREATE INDEX invoices_order ON invoices(order_key);
  CREATE INDEX invoices_held ON invoices(state, hold_until) WHERE state = 'held';

  CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL REFERENCES invoices(id),
    route_id TEXT NOT NULL,
    format TEXT NOT NULL,
    transport TEXT NOT NULL,
    target TEXT NOT NULL,
    options TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    result TEXT
  );
  CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);
  CREATE INDEX deliveries_invoice ON deliveries(invoice_id);

  CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
  );
  `,
  // 2: accounting export batches and the export ledger (one row per exported invoice)
  `
  CREATE TABLE export_batches (
    id INTEGER PRIMARY KEY,
    format TEXT NOT NULL,
    administration TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    delivery_ids TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    finished_at TEXT
  );
  CREATE TABLE exports (
    format TEXT NOT NULL,
    administration TEXT NOT NULL,
    invoice_number TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    batch_id INTEGER NOT NULL REFERENCES export_batches(id),
    exported_at TEXT NOT NULL,
    PRIMARY KEY (format, administration, invoice_number)
  );
  `,
  // 3: the business key of an invoice (a corrected file issues only what was not issued before)
  `
  ALTER TABLE invoices ADD COLUMN business_key TEXT;
  CREATE INDEX invoices_business ON invoices(seller, business_key) WHERE business_key IS NOT NULL;
  `,
  // 4: how often processing of a file was started (a file that stops the process twice is set aside)
  `
  ALTER TABLE files ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
  `,
  // 5: leases (the node working on a file, delivery, batch or due held invoice, and until when), nodes, who logged an event
  `
  ALTER TABLE files ADD COLUMN lease_owner TEXT;
  ALTER TABLE files ADD COLUMN lease_until INTEGER;
  ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;
  ALTER TABLE deliveries ADD COLUMN lease_until INTEGER;
  ALTER TABLE export_batches ADD COLUMN lease_owner TEXT;
  ALTER TABLE export_batches ADD COLUMN lease_until INTEGER;
  ALTER TABLE invoices ADD COLUMN lease_owner TEXT;
  ALTER TABLE invoices ADD COLUMN lease_until INTEGER;
  ALTER TABLE events ADD COLUMN node TEXT;
  CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    paused TEXT
  );
  `,
  // 6: what the console searches invoices by (issue date, buyer, amount), and the indexes behind its lists
  `
  ALTER TABLE invoices ADD COLUMN issue_date TEXT;
  ALTER TABLE invoices ADD COLUMN buyer_name TEXT;
  ALTER TABLE invoices ADD COLUMN buyer_search TEXT;
  ALTER TABLE invoices ADD COLUMN amount REAL;
  UPDATE invoices SET issue_date = json_extract(document, '$.issueDate'), buyer_name = json_extract(document, '$.buyer.name'),
    buyer_search = lower(json_extract(document, '$.buyer.name')), amount = CAST(payable AS REAL);
  CREATE INDEX invoices_number_search ON invoices(number);
  CREATE INDEX invoices_customer ON invoices(customer);
  CREATE INDEX invoices_buyer ON invoices(buyer_search);
  CREATE INDEX invoices_issue_date ON invoices(issue_date);
  CREATE INDEX invoices_amount ON invoices(amount);
  CREATE INDEX invoices_issued_at ON invoices(issued_at);
  CREATE INDEX invoices_state ON invoices(state);
  CREATE INDEX invoices_file ON invoices(file_id);
  CREATE INDEX files_state ON files(state, id);
  CREATE INDEX files_claimed_at ON files(claimed_at);
  CREATE INDEX deliveries_state_id ON deliveries(state, id);
  CREATE INDEX deliveries_state_transport ON deliveries(state, transport);
  CREATE INDEX exports_invoice ON exports(invoice_number);
  CREATE INDEX events_kind ON events(kind, id);

  -- counts per state kept by triggers, so the console's overview and /metrics do not count a million rows each time
  CREATE TABLE state_counts (tbl TEXT NOT NULL, state TEXT NOT NULL, part TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (tbl, state, part));
  INSERT INTO state_counts SELECT 'invoices', state, '', COUNT(*) FROM invoices GROUP BY state;
  INSERT INTO state_counts SELECT 'deliveries', state, transport, COUNT(*) FROM deliveries GROUP BY state, transport;
  INSERT INTO state_counts SELECT 'files', state, source, COUNT(*) FROM files GROUP BY state, source;
  CREATE TRIGGER invoices_counted_insert AFTER INSERT ON invoices BEGIN
    INSERT INTO state_counts (tbl, state, part, n) VALUES ('invoices', NEW.state, '', 1) ON CONFLICT (tbl, state, part) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER invoices_counted_update AFTER UPDATE OF state ON invoices WHEN OLD.state IS NOT NEW.state BEGIN
    UPDATE state_counts SET n = n - 1 WHERE tbl = 'invoices' AND state = OLD.state AND part = '';
    INSERT INTO state_counts (tbl, state, part, n) VALUES ('invoices', NEW.state, '', 1) ON CONFLICT (tbl, state, part) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER invoices_counted_delete AFTER DELETE ON invoices BEGIN
    UPDATE state_counts SET n = n - 1 WHERE tbl = 'invoices' AND state = OLD.state AND part = '';
  END;
  CREATE TRIGGER deliveries_counted_insert AFTER INSERT ON deliveries BEGIN
    INSERT INTO state_counts (tbl, state, part, n) VALUES ('deliveries', NEW.state, NEW.transport, 1) ON CONFLICT (tbl, state, part) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER deliveries_counted_update AFTER UPDATE OF state, transport ON deliveries
    WHEN OLD.state IS NOT NEW.state OR OLD.transport IS NOT NEW.transport BEGIN
    UPDATE state_counts SET n = n - 1 WHERE tbl = 'deliveries' AND state = OLD.state AND part = OLD.transport;
    INSERT INTO state_counts (tbl, state, part, n) VALUES ('deliveries', NEW.state, NEW.transport, 1) ON CONFLICT (tbl, state, part) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER deliveries_counted_delete AFTER DELETE ON deliveries BEGIN
    UPDATE state_counts SET n = n - 1 WHERE tbl = 'deliveries' AND state = OLD.state AND part = OLD.transport;
  END;
  CREATE TRIGGER files_counted_insert AFTER INSERT ON files BEGIN
    INSERT INTO state_counts (tbl, state, part, n) VALUES ('files', NEW.state, NEW.source, 1) ON CONFLICT (tbl, state, part) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER files_counted_update AFTER UPDATE OF state, source ON files WHEN OLD.state IS NOT NEW.state OR OLD.source IS NOT NEW.source BEGIN
    UPDATE state_counts SET n = n - 1 WHERE tbl = 'files' AND state = OLD.state AND part = OLD.source;
    INSERT INTO state_counts (tbl, state, part, n) VALUES ('files', NEW.state, NEW.source, 1) ON CONFLICT (tbl, state, part) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER files_counted_delete AFTER DELETE ON files BEGIN
    UPDATE state_counts SET n = n - 1 WHERE tbl = 'files' AND state = OLD.state AND part = OLD.source;
  END;
  `,
  // 7: answers kept for a while (Peppol lookups) and markers that outlive a crash (Peppol submissions)
  `
  CREATE TABLE cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER NOT NULL);
  CREATE INDEX cache_expires ON cache(expires_at);
  `,
  // 8: how far a sent delivery got beyond the transport (a Peppol access point: accepted, then delivered)
  `
  ALTER TABLE deliveries ADD COLUMN progress TEXT;
  `,
];
