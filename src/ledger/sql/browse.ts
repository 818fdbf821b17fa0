import type { DeliveryRecord, DeliveryState, ExportBatch, FileRecord, FileState, InvoiceState } from '../ledger.js';
import { batchFromRow, deliveryFromRow, fileFromRow, type Row } from '../rows.js';
import { isCreditNoteBy } from '../../model/invoice.js';

/**
 * Read queries behind the console and the HTTP API: lists with filters and keyset pagination
 * (newest first, `before` = the last id of the previous page), written once for SQLite and
 * PostgreSQL. Every list reads an index, so a page stays fast on a ledger of a million invoices.
 */

/** One page of a list; `next` is the cursor of the following page, absent on the last. */
export interface Page<T> {
  items: T[];
  next?: number;
}

/** Common to every list: page size and cursor. */
export interface PageRequest {
  /** the id below which the page starts (from the previous page's `next`) */
  before?: number;
  /** rows per page, 1..200 */
  limit?: number;
}

export interface FileFilter extends PageRequest {
  source?: string;
  state?: FileState;
  /** YYYY-MM-DD, claimed on or after */
  from?: string;
  /** YYYY-MM-DD, claimed on or before */
  to?: string;
}

/** A file in a list: its ledger record plus when it finished. */
export interface FileSummary extends FileRecord {
  finishedAt?: string;
  attempts: number;
  /** the node (`id#run`) that holds it under lease: working on it now */
  heldBy?: string;
}

export interface InvoiceFilter extends PageRequest {
  /** the number, or its beginning */
  number?: string;
  /** a customer key, or the beginning of the buyer's name (any case) */
  customer?: string;
  /** YYYY-MM-DD issue date on or after */
  from?: string;
  /** YYYY-MM-DD issue date on or before */
  to?: string;
  /** amount due at least */
  min?: number;
  /** amount due at most */
  max?: number;
  state?: InvoiceState;
  fileId?: number;
}

/** An invoice in a list, without its document. */
export interface InvoiceSummary {
  id: number;
  fileId: number;
  seller: string;
  number?: string;
  state: InvoiceState;
  kind: string;
  /** what names it in its source (order number and the like) */
  sourceKey: string;
  customer?: string;
  buyerName?: string;
  issueDate?: string;
  currency?: string;
  payable?: string;
  /** the total including VAT (what the document is worth; payable is what is still due) */
  total?: string;
  creditNote: boolean;
  issuedAt?: string;
}

export interface DeliveryFilter extends PageRequest {
  state?: DeliveryState;
  transport?: string;
  invoiceId?: number;
  /** these deliveries only (an accounting batch's) */
  ids?: number[];
}

/** A delivery in a list: its record plus when it was created and sent and what the server answered. */
export interface DeliverySummary extends DeliveryRecord {
  createdAt: string;
  sentAt?: string;
  result?: string;
  /** the node (`id#run`) that holds it under lease: sending it now */
  heldBy?: string;
}

/** An accounting import file in a list: its record, its state and when it was written. */
export interface BatchSummary extends ExportBatch {
  state: string;
  createdAt: string;
  finishedAt?: string;
}

export interface EventFilter extends PageRequest {
  kinds?: string[];
}

/** A ledger event (the audit log is the events of the kinds people cause). */
export interface EventRecord {
  id: number;
  at: string;
  kind: string;
  node?: string;
  detail: Record<string, unknown>;
}

/** Invoices issued and files taken per hour (hour = 'YYYY-MM-DDTHH', UTC). */
export interface HourCount {
  hour: string;
  invoices: number;
  files: number;
}

/** What the overview's alerts count; ids are the last acknowledged, so an alert stays until handled. */
export interface AlertCounts {
  deadDeliveries: number;
  filesInError: number;
  /** files of which some invoices were rejected (the others issued) */
  filesPartial: number;
  heldOverdue: number;
  /** mails reported undeliverable: the alert stays until each is sent again to a corrected address */
  bounced: number;
}

/** The read side of the ledger used by the console and the API. */
export interface LedgerBrowse {
  files(filter: FileFilter): Promise<Page<FileSummary>>;
  invoices(filter: InvoiceFilter): Promise<Page<InvoiceSummary>>;
  deliveries(filter: DeliveryFilter): Promise<Page<DeliverySummary>>;
  batches(filter: PageRequest): Promise<Page<BatchSummary>>;
  batch(id: number): Promise<BatchSummary | undefined>;
  /** the accounting files an issued invoice went into */
  batchesOfInvoice(invoiceNumber: string): Promise<BatchSummary[]>;
  events(filter: EventFilter): Promise<Page<EventRecord>>;
  /** the latest event of a kind (e.g. the last acknowledgement of an alert) */
  lastEvent(kind: string): Promise<EventRecord | undefined>;
  /** per hour since `sinceIso` */
  activity(sinceIso: string): Promise<HourCount[]>;
  /** bulk runs that are over: the newest files of more than one delivery with none left to send, and how they ended */
  finishedRuns(limit?: number): Promise<FinishedRun[]>;
  /** dead deliveries and files in error above the acknowledged ids, held invoices overdue at `now` */
  alerts(ack: { deadAfter: number; errorAfter: number; partialAfter: number }, overdueBefore: number): Promise<AlertCounts>;
}

/** A bulk run that is over: how many of its deliveries were sent, failed for good or bounced, and when. */
export interface FinishedRun {
  fileId: number;
  name: string;
  total: number;
  sent: number;
  dead: number;
  bounced: number;
  startedAt: string;
  lastSentAt?: string;
}

/** Runs one query with `?` placeholders. */
export type RunQuery = (sql: string, params: unknown[]) => Promise<Row[]>;

const MAX_PAGE = 200;
const pageSize = (limit: number | undefined): number => Math.min(MAX_PAGE, Math.max(1, Math.floor(limit ?? 50)));
const num = (v: unknown): number => Number(v);
const opt = <K extends string>(key: K, v: unknown): { [P in K]?: string } =>
  v === null || v === undefined ? {} : ({ [key]: String(v) } as { [P in K]: string });

/** The day after a YYYY-MM-DD, for an inclusive upper bound on a timestamp. */
function dayAfter(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/** Collects WHERE terms and their parameters. */
class Where {
  readonly terms: string[] = [];
  readonly params: unknown[] = [];
  add(term: string, ...params: unknown[]): this {
    this.terms.push(term);
    this.params.push(...params);
    return this;
  }
  sql(): string {
    return this.terms.length ? `WHERE ${this.terms.join(' AND ')}` : '';
  }
}

/** Browse queries over one SQL connection; `dialect` only changes how a prefix is matched. */
export class BrowseQueries implements LedgerBrowse {
  constructor(
    private readonly dialect: 'sqlite' | 'postgres',
    private readonly run: RunQuery,
  ) {}

  /** A prefix match that uses the column's index: a range on SQLite, LIKE on a text_pattern_ops index on PostgreSQL. */
  private prefix(where: Where, column: string, prefix: string): string {
    if (this.dialect === 'postgres') {
      where.params.push(`${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      return `${column} LIKE ?`;
    }
    where.params.push(prefix, `${prefix}\uffff`);
    return `(${column} >= ? AND ${column} < ?)`;
  }

  private async page<T>(sql: string, where: Where, limit: number | undefined, map: (r: Row) => T & { id: number }, order = 'id'): Promise<Page<T>> {
    const size = pageSize(limit);
    const rows = await this.run(`${sql} ${where.sql()} ORDER BY ${order} DESC LIMIT ${size + 1}`, where.params);
    const items = rows.slice(0, size).map(map);
    return rows.length > size ? { items, next: items[items.length - 1]!.id } : { items };
  }

  async files(f: FileFilter): Promise<Page<FileSummary>> {
    const w = new Where();
    if (f.before) w.add('id < ?', f.before);
    if (f.source) w.add('source = ?', f.source);
    if (f.state) w.add('state = ?', f.state);
    if (f.from) w.add('claimed_at >= ?', f.from);
    if (f.to) w.add('claimed_at < ?', dayAfter(f.to));
    return this.page('SELECT * FROM files', w, f.limit, (r) => ({
      ...fileFromRow(r),
      attempts: num(r['attempts'] ?? 0),
      ...opt('finishedAt', r['finished_at']),
      ...opt('heldBy', r['lease_owner']),
    }));
  }

  async invoices(f: InvoiceFilter): Promise<Page<InvoiceSummary>> {
    const w = new Where();
    if (f.before) w.add('id < ?', f.before);
    if (f.number) w.terms.push(this.prefix(w, 'number', f.number));
    if (f.customer) {
      w.params.push(f.customer);
      w.terms.push(`(customer = ? OR ${this.prefix(w, 'buyer_search', f.customer.toLowerCase())})`);
    }
    // a customer or number is the selective term: SQLite's planner, without statistics, would rather range over the
    // date or amount index and sort the range; a unary + keeps it on the customer's own index
    const ranged = this.dialect === 'sqlite' && (f.customer || f.number) ? '+' : '';
    if (f.from) w.add(`${ranged}issue_date >= ?`, f.from);
    if (f.to) w.add(`${ranged}issue_date <= ?`, f.to);
    if (f.min !== undefined) w.add(`${ranged}amount >= ?`, f.min);
    if (f.max !== undefined) w.add(`${ranged}amount <= ?`, f.max);
    if (f.state) w.add('state = ?', f.state);
    if (f.fileId) w.add('file_id = ?', f.fileId);
    // the total and the document's type are read from the stored invoice: a page is a few dozen rows
    const field = (path: string[]) =>
      this.dialect === 'postgres' ? `(document::jsonb #>> '{${path.join(',')}}')` : `json_extract(document, '$.${path.join('.')}')`;
    const columns = `id, file_id, seller, number, state, kind, source_key, customer, buyer_name, issue_date, currency, payable, issued_at,
      ${field(['totals', 'taxInclusiveAmount'])} AS total, ${field(['typeCode'])} AS type_code, ${field(['meta', 'form', 'root'])} AS form_root`;
    return this.page(`SELECT ${columns} FROM invoices`, w, f.limit, (r) => ({
      id: num(r['id']),
      fileId: num(r['file_id']),
      seller: r['seller'] as string,
      state: r['state'] as InvoiceState,
      kind: r['kind'] as string,
      sourceKey: r['source_key'] as string,
      ...opt('number', r['number']),
      ...opt('customer', r['customer']),
      ...opt('buyerName', r['buyer_name']),
      ...opt('issueDate', r['issue_date']),
      ...opt('currency', r['currency']),
      ...opt('payable', r['payable']),
      ...opt('total', r['total']),
      creditNote: isCreditNoteBy(String(r['type_code'] ?? ''), r['form_root'] ? String(r['form_root']) : undefined),
      ...opt('issuedAt', r['issued_at']),
    }));
  }

  async deliveries(f: DeliveryFilter): Promise<Page<DeliverySummary>> {
    const w = new Where();
    if (f.before) w.add('d.id < ?', f.before);
    if (f.state) w.add('d.state = ?', f.state);
    if (f.transport) w.add('d.transport = ?', f.transport);
    if (f.invoiceId) w.add('d.invoice_id = ?', f.invoiceId);
    if (f.ids?.length) w.add(`d.id IN (${f.ids.map(() => '?').join(', ')})`, ...f.ids);
    return this.page(
      'SELECT d.*, i.number FROM deliveries d JOIN invoices i ON i.id = d.invoice_id',
      w,
      f.limit,
      (r) => ({
        ...deliveryFromRow(r),
        createdAt: r['created_at'] as string,
        ...opt('sentAt', r['sent_at']),
        ...opt('result', r['result']),
        ...opt('heldBy', r['lease_owner']),
      }),
      'd.id',
    );
  }

  async finishedRuns(limit = 20): Promise<FinishedRun[]> {
    // among the newest files (a run is a file): those whose deliveries are all settled
    const rows = await this.run(
      `SELECT f.id, f.name, f.claimed_at, COUNT(d.id) AS total,
        SUM(CASE WHEN d.state = 'sent' THEN 1 ELSE 0 END) AS sent, SUM(CASE WHEN d.state = 'dead' THEN 1 ELSE 0 END) AS dead,
        SUM(CASE WHEN d.state = 'bounced' THEN 1 ELSE 0 END) AS bounced,
        SUM(CASE WHEN d.state IN ('pending', 'failed', 'sending') THEN 1 ELSE 0 END) AS open, MAX(d.sent_at) AS last_sent
      FROM files f JOIN invoices i ON i.file_id = f.id JOIN deliveries d ON d.invoice_id = i.id
      WHERE f.id IN (SELECT id FROM (SELECT id FROM files ORDER BY id DESC LIMIT ?) AS newest)
      GROUP BY f.id, f.name, f.claimed_at ORDER BY f.id DESC`,
      [pageSize(limit) * 3],
    );
    return rows
      .filter((r) => num(r['open']) === 0 && num(r['total']) > 1)
      .slice(0, pageSize(limit))
      .map((r) => ({
        fileId: num(r['id']),
        name: r['name'] as string,
        total: num(r['total']),
        sent: num(r['sent']),
        dead: num(r['dead']),
        bounced: num(r['bounced']),
        startedAt: r['claimed_at'] as string,
        ...opt('lastSentAt', r['last_sent']),
      }));
  }

  async batches(f: PageRequest): Promise<Page<BatchSummary>> {
    const w = new Where();
    if (f.before) w.add('id < ?', f.before);
    return this.page('SELECT * FROM export_batches', w, f.limit, batchSummary);
  }

  async batch(id: number): Promise<BatchSummary | undefined> {
    const rows = await this.run('SELECT * FROM export_batches WHERE id = ?', [id]);
    return rows[0] ? batchSummary(rows[0]) : undefined;
  }

  async batchesOfInvoice(invoiceNumber: string): Promise<BatchSummary[]> {
    const rows = await this.run('SELECT b.* FROM exports e JOIN export_batches b ON b.id = e.batch_id WHERE e.invoice_number = ? ORDER BY b.id DESC', [
      invoiceNumber,
    ]);
    return rows.map(batchSummary);
  }

  async events(f: EventFilter): Promise<Page<EventRecord>> {
    const w = new Where();
    if (f.before) w.add('id < ?', f.before);
    if (f.kinds?.length) w.add(`kind IN (${f.kinds.map(() => '?').join(', ')})`, ...f.kinds);
    return this.page('SELECT * FROM events', w, f.limit, eventFromRow);
  }

  async lastEvent(kind: string): Promise<EventRecord | undefined> {
    const rows = await this.run('SELECT * FROM events WHERE kind = ? ORDER BY id DESC LIMIT 1', [kind]);
    return rows[0] ? eventFromRow(rows[0]) : undefined;
  }

  async activity(sinceIso: string): Promise<HourCount[]> {
    const invoices = await this.run(
      `SELECT substr(issued_at, 1, 13) AS hour, COUNT(*) AS n FROM invoices WHERE issued_at >= ? GROUP BY substr(issued_at, 1, 13)`,
      [sinceIso],
    );
    const files = await this.run(
      `SELECT substr(claimed_at, 1, 13) AS hour, COUNT(*) AS n FROM files WHERE claimed_at >= ? GROUP BY substr(claimed_at, 1, 13)`,
      [sinceIso],
    );
    const hours = new Map<string, HourCount>();
    const at = (hour: string): HourCount => hours.get(hour) ?? hours.set(hour, { hour, invoices: 0, files: 0 }).get(hour)!;
    for (const r of invoices) at(r['hour'] as string).invoices = num(r['n']);
    for (const r of files) at(r['hour'] as string).files = num(r['n']);
    return [...hours.values()].sort((a, b) => a.hour.localeCompare(b.hour));
  }

  async alerts(ack: { deadAfter: number; errorAfter: number; partialAfter: number }, overdueBefore: number): Promise<AlertCounts> {
    const count = async (sql: string, params: unknown[]): Promise<number> => num((await this.run(sql, params))[0]?.['n'] ?? 0);
    return {
      deadDeliveries: await count(`SELECT COUNT(*) AS n FROM deliveries WHERE state = 'dead' AND id > ?`, [ack.deadAfter]),
      filesInError: await count(`SELECT COUNT(*) AS n FROM files WHERE state = 'error' AND id > ?`, [ack.errorAfter]),
      filesPartial: await count(`SELECT COUNT(*) AS n FROM files WHERE state = 'partial' AND id > ?`, [ack.partialAfter]),
      heldOverdue: await count(`SELECT COUNT(*) AS n FROM invoices WHERE state = 'held' AND hold_until < ?`, [overdueBefore]),
      bounced: await count(`SELECT COUNT(*) AS n FROM deliveries WHERE state = 'bounced'`, []),
    };
  }
}

function batchSummary(r: Row): BatchSummary {
  return { ...batchFromRow(r), state: r['state'] as string, createdAt: r['created_at'] as string, ...opt('finishedAt', r['finished_at']) };
}

function eventFromRow(r: Row): EventRecord {
  return {
    id: num(r['id']),
    at: r['at'] as string,
    kind: r['kind'] as string,
    ...opt('node', r['node']),
    detail: JSON.parse(r['detail'] as string) as Record<string, unknown>,
  };
}
