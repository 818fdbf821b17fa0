import { mailPlan, type MailPlan } from '../service/mail-plan.js';
import { safeName } from '../util/safe-name.js';
import type { CustomerConfig } from '../config/types.js';
import type { PeppolDirectory } from '../peppol/lookup.js';
import { routeLabel, routesOf } from '../routing/route.js';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { GatewayConfig } from '../config/load.js';
import { checkRuntime } from '../config/check-runtime.js';
import { GatewayError } from '../errors.js';
import { renderDocument } from '../formats/index.js';
import { TRANSPORTS } from '../kinds/transports.js';
import type { UblProfile } from '../formats/ubl/profiles.js';
import { writeUbl } from '../formats/ubl/write.js';
import type {
  BatchSummary,
  DeliveryFilter,
  DeliverySummary,
  EventFilter,
  FileFilter,
  FileSummary,
  HourCount,
  InvoiceFilter,
  Page,
  PageRequest,
} from '../ledger/sql/browse.js';
import type { EventRecord, FinishedRun, InvoiceSummary } from '../ledger/sql/browse.js';
import type { FileRecord, InvoiceRecord, Ledger, LedgerStatus, NodeRecord } from '../ledger/ledger.js';
import type { RejectedItem } from '../report/error-report.js';
import type { ExportBatcher } from '../service/exports.js';
import { Folders, sidecar } from '../service/folders.js';
import type { Issuer } from '../service/issuing.js';
import { summariseInvoice, tryFile, type TryResult } from '../service/try-file.js';
import { mappingsTakingName } from '../mapping/select.js';
import { freeBytes, LOW_DISK_BYTES } from '../util/disk.js';
import type { UblGate } from '../validation/gate.js';
import type { ReadinessCheck } from './server.js';
import { isMailAddress } from '../mail/addresses.js';

/** What the console needs from the running service. */
export interface ConsoleDependencies {
  config: GatewayConfig;
  ledger: Ledger;
  issuer: Issuer;
  gate: UblGate;
  exports: ExportBatcher;
  readiness(): Promise<ReadinessCheck[]>;
  /** makes the outbox look for due deliveries now (after a retry or resend) */
  wake(): void;
  /** the service's Peppol directory (its answers are kept in the ledger) */
  peppol?: () => PeppolDirectory;
}

/** A condition that needs a person; acknowledgeable ones stay until someone handles or acknowledges them. */
export interface Alert {
  kind: 'dead-deliveries' | 'bounced' | 'files-in-error' | 'files-partial' | 'held-overdue' | 'validation' | 'disk' | 'inbox' | 'ledger';
  severity: 'error' | 'warning';
  count?: number;
  detail?: string;
  /** where in the console it is handled */
  link?: string;
  /** dead deliveries and files in error can be acknowledged: the alert then counts only newer ones */
  acknowledge?: boolean;
}

/** The ledger's status with the moment it was counted. */
export type CountedStatus = LedgerStatus & { countedAt: string };

/** The overview page: counts, activity of the last day per hour, alerts, runs, nodes. */
export interface Overview {
  node: string;
  /** the counts, and when they were counted (at most a minute ago; see ConsoleService.status) */
  status: CountedStatus;
  activity: HourCount[];
  lastHour: { invoices: number; files: number };
  lastDay: { invoices: number; files: number };
  alerts: Alert[];
  /** the gateway nodes as an operator reads them: running, paused (and why), or not heard from */
  nodes: NodeView[];
  /** a mailbox with a daily limit: where today's mails stand and when the waiting ones go */
  mail?: MailPlan;
}

/** A gateway node on the overview: its state from its heartbeat's age on the database's clock. */
export interface NodeView {
  id: string;
  host: string;
  pid: number;
  heartbeatAt: string;
  state: 'running' | 'paused' | 'silent';
  /** why it paused, as it said */
  paused?: string;
  /** seconds since its last heartbeat, on the database's clock */
  heardFromSecondsAgo: number;
  /** its clock against the database's, when off by two seconds or more (positive: ahead) */
  clockAheadSeconds?: number;
}

/** The node list of the overview: silent once a node has not renewed its leases for a lease time. */
export function nodeViews(nodes: NodeRecord[], leaseMs: number, now: number): NodeView[] {
  return nodes.map((n) => {
    const age = n.heartbeatAgeMs ?? now - Date.parse(n.heartbeatAt);
    const ahead = n.clockOffsetMs !== undefined && Math.abs(n.clockOffsetMs) >= 2_000 ? Math.round(-n.clockOffsetMs / 1000) : undefined;
    return {
      id: n.id,
      host: n.host,
      pid: n.pid,
      heartbeatAt: n.heartbeatAt,
      state: age > leaseMs ? 'silent' : n.paused ? 'paused' : 'running',
      ...(n.paused ? { paused: n.paused } : {}),
      heardFromSecondsAgo: Math.max(0, Math.round(age / 1000)),
      ...(ahead !== undefined ? { clockAheadSeconds: ahead } : {}),
    };
  });
}

/** An invoice with what happened to it. */
export interface InvoiceDetail {
  record: InvoiceRecord;
  file?: FileRecord;
  deliveries: DeliverySummary[];
  batches: BatchSummary[];
}

/** One finding of the official rules on an invoice's UBL. */
export interface ValidationRow {
  profile: string;
  rule: string;
  severity: string;
  location?: string;
  message: string;
}

/** A file with its receipt, its error report and the invoices it produced. */
export interface FileDetail {
  file: FileSummary;
  receipt?: Record<string, unknown>;
  /** the rejected items of its error report, each error with its location */
  report?: { rejected: { key: string; errors: Record<string, unknown>[] }[]; path: string };
  invoices: InvoiceSummary[];
}

/** What "try a file" shows: the dry run's verdict, nothing stored or sent. */
export interface TryOutcome {
  file: string;
  mapping?: string;
  /** how "pick automatically" chose the mapping: its file names take this name, or it read the content best */
  chosenBy?: 'name' | 'content';
  accepted: (Record<string, unknown> & { held: boolean })[];
  rejected: { key: string; errors: Record<string, unknown>[] }[];
}

/** The configuration page: check-config's verdict and what is configured. */
export interface ConfigurationView {
  valid: boolean;
  errors: string[];
  warnings: string[];
  ledger: string;
  mappings: { name: string; source: string; folder?: string; files?: string[]; kind: string; description?: string }[];
  customers: { key: string; name: string; routes: string[]; defaultRoutes?: true; peppol?: { participant: string; answer: string; checkedAt?: string } }[];
  defaultRoutes: string[];
  sellers: { key: string; name: string; vatId?: string }[];
  administrations: string[];
}

/** A refused action: the HTTP status says why (400 bad request, 404 not found, 409 not possible now). */
export class ActionError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

/** The kinds of events that people cause; the audit log shows these. */
export const AUDIT_KINDS = [
  'retry',
  'resend',
  'reexport',
  'acknowledge',
  'login',
  'login-failed',
  'logout',
  'user-added',
  'user-changed',
  'user-removed',
  'try-file',
];

const HOUR = 3600_000;
/**
 * The counts of the overview are reused while they are this fresh: counting a million rows per
 * state takes a noticeable part of a second, and many people (or one page polled every second)
 * should not count again and again. Actions taken here invalidate them at once.
 */
const STATUS_FRESH_MS = 2_000;
/** Older counts, up to this age, are shown while new ones are counted in the background. */
const STATUS_STALE_MS = 60_000;

/** A download's file name: the invoice number made safe, or the ledger id for one without a number. */
function downloadName(number: string | undefined, id: number): string {
  return number ? safeName(number) : `invoice-${id}`;
}

/**
 * The console's operations: every page and every API endpoint calls these, so the rules live in
 * one place. Reads go through the ledger's browse interface; actions through the same ledger
 * calls the CLI uses, and each is logged with who did it and why.
 */
export class ConsoleService {
  private readonly folders: Folders;
  /** the last counts, and when they were made */
  private counted?: { at: number; status: CountedStatus };
  /** the count under way, and the generation (actions so far) it began in */
  private counting?: { generation: number; promise: Promise<CountedStatus> };
  private generation = 0;

  constructor(private readonly deps: ConsoleDependencies) {
    this.folders = new Folders(deps.config.service);
  }

  get nodeId(): string {
    return this.deps.ledger.nodeId;
  }

  async overview(now = Date.now()): Promise<Overview> {
    const { ledger } = this.deps;
    const since = new Date(now - 23 * HOUR);
    since.setUTCMinutes(0, 0, 0);
    const [status, counted, mail] = await Promise.all([
      this.status(now),
      ledger.browse.activity(since.toISOString()),
      mailPlan(this.deps.config.service, ledger, now),
    ]);
    const activity = Array.from({ length: 24 }, (_, i) => {
      const hour = new Date(since.getTime() + i * HOUR).toISOString().slice(0, 13);
      return counted.find((h) => h.hour === hour) ?? { hour, invoices: 0, files: 0 };
    });
    const sum = (hours: HourCount[]) => hours.reduce((s, h) => ({ invoices: s.invoices + h.invoices, files: s.files + h.files }), { invoices: 0, files: 0 });
    return {
      node: ledger.nodeId,
      status,
      activity,
      lastHour: sum(activity.slice(-1)),
      lastDay: sum(activity),
      alerts: await this.alerts(now),
      // read now, not with the counts (which may be a minute old): a node's state is about the last seconds
      nodes: nodeViews(await ledger.nodes(), this.deps.config.service.ledger.leaseMs, now),
      ...(mail ? { mail } : {}),
    };
  }

  /** The alerts: from the ledger (above what was acknowledged) and from this node's environment. */
  async alerts(now = Date.now()): Promise<Alert[]> {
    const { ledger, config } = this.deps;
    // the latest acknowledgement of each alert (read once; each names the highest id it covered)
    const acks = (await ledger.browse.events({ kinds: ['acknowledge'], limit: 50 })).items;
    const acked = (kind: Alert['kind']): number => Number(acks.find((e) => e.detail['alert'] === kind)?.detail['upTo'] ?? 0);
    const overdueBefore = now - Math.max(2 * config.service.scheduler.checkEveryMs, 10 * 60_000);
    const counts = await ledger.browse.alerts(
      { deadAfter: acked('dead-deliveries'), errorAfter: acked('files-in-error'), partialAfter: acked('files-partial') },
      overdueBefore,
    );
    const alerts: Alert[] = [];
    if (counts.deadDeliveries)
      alerts.push({ kind: 'dead-deliveries', severity: 'error', count: counts.deadDeliveries, link: '/deliveries?state=dead', acknowledge: true });
    if (counts.bounced) alerts.push({ kind: 'bounced', severity: 'error', count: counts.bounced, link: '/deliveries?state=bounced' });
    if (counts.filesInError)
      alerts.push({ kind: 'files-in-error', severity: 'error', count: counts.filesInError, link: '/files?state=error', acknowledge: true });
    // some invoices of these files were rejected: they need a corrected file, the others went out
    if (counts.filesPartial)
      alerts.push({ kind: 'files-partial', severity: 'warning', count: counts.filesPartial, link: '/files?state=partial', acknowledge: true });
    if (counts.heldOverdue) alerts.push({ kind: 'held-overdue', severity: 'warning', count: counts.heldOverdue, link: '/invoices?state=held' });
    for (const check of await this.deps.readiness()) {
      if (check.ok) continue;
      const kind = check.name === 'ledger' ? 'ledger' : check.name === 'validation' ? 'validation' : 'inbox';
      alerts.push({ kind, severity: 'error', ...(check.detail ? { detail: check.detail } : {}) });
    }
    const free = freeBytes(config.service.dataDir);
    if (free !== undefined && free < LOW_DISK_BYTES) alerts.push({ kind: 'disk', severity: 'warning', detail: `${Math.floor(free / 1024 / 1024)} MB` });
    return alerts;
  }

  /** Marks the dead deliveries or files in error seen so far as handled; the alert returns for newer ones. */
  async acknowledge(kind: string, by: string): Promise<void> {
    const { ledger } = this.deps;
    let upTo: number | undefined;
    if (kind === 'dead-deliveries') upTo = (await ledger.browse.deliveries({ state: 'dead', limit: 1 })).items[0]?.id;
    else if (kind === 'files-in-error' || kind === 'files-partial')
      upTo = (await ledger.browse.files({ state: kind === 'files-in-error' ? 'error' : 'partial', limit: 1 })).items[0]?.id;
    else throw new ActionError(400, `only dead-deliveries, files-in-error and files-partial can be acknowledged, not "${kind}"`);
    await ledger.logEvent('acknowledge', { alert: kind, upTo: upTo ?? 0, by });
    this.changed();
  }

  /**
   * What `status` shows: counts per state, oldest pending, failures, runs, nodes. Counts at most
   * STATUS_FRESH_MS old are reused; up to STATUS_STALE_MS old they are shown while fresh ones are
   * counted in the background; older ones (or none) are waited for.
   */
  async status(now = Date.now()): Promise<CountedStatus> {
    const counted = this.counted;
    const age = counted ? now - counted.at : Infinity;
    if (counted && age < STATUS_FRESH_MS) return counted.status;
    if (this.counting?.generation !== this.generation) {
      const generation = this.generation;
      const promise = this.deps.ledger
        .status(now)
        .then((s) => {
          const status = { ...s, countedAt: new Date(now).toISOString() };
          // counts begun before an action do not stand for after it
          if (generation === this.generation) this.counted = { at: now, status };
          return status;
        })
        .finally(() => {
          if (this.counting?.promise === promise) this.counting = undefined;
        });
      this.counting = { generation, promise };
      // shown stale meanwhile, a failed count in the background is only retried at the next look
      promise.catch(() => undefined);
    }
    return counted && age < STATUS_STALE_MS ? counted.status : this.counting!.promise;
  }

  /** After an action, the next page counts afresh. */
  private changed(): void {
    this.generation++;
    this.counted = undefined;
  }

  /** The source folders files come from (for the files filter). */
  sources(): string[] {
    return [...new Set(this.deps.config.mappings.map((m) => m.definition.match.folder ?? m.definition.source))].sort();
  }

  /** The transports routes can use, with their labels (for the deliveries filter). */
  transports(): { name: string; label: string }[] {
    return TRANSPORTS.map(({ name, label }) => ({ name, label }));
  }

  mappingNames(): string[] {
    return this.deps.config.mappings.map((m) => m.name);
  }

  /** The deliveries with these ids (an accounting batch's), as list rows; at most 200. */
  async deliveriesOf(ids: number[]): Promise<DeliverySummary[]> {
    return ids.length ? (await this.deps.ledger.browse.deliveries({ ids: ids.slice(0, 200), limit: 200 })).items : [];
  }

  files(filter: FileFilter): Promise<Page<FileSummary>> {
    return this.deps.ledger.browse.files(filter);
  }

  async file(id: number): Promise<FileDetail> {
    const { ledger } = this.deps;
    const [file] = (await ledger.browse.files({ before: id + 1, limit: 1 })).items.filter((f) => f.id === id);
    if (!file) throw new ActionError(404, `no file #${id}`);
    const invoices = (await ledger.browse.invoices({ fileId: id, limit: 200 })).items;
    const receipt = file.finalPath ? await readJson(sidecar(file.finalPath, '.receipt.json')) : undefined;
    const report = await this.reportOf(file);
    return { file, invoices, ...(receipt ? { receipt } : {}), ...(report ? { report } : {}) };
  }

  /** The JSON error report of a file: beside it in error/, or (a partly accepted file) the one in error/ that names it. */
  private async reportOf(file: FileSummary): Promise<FileDetail['report'] | undefined> {
    const candidates: string[] = [];
    if (file.finalPath) candidates.push(sidecar(file.finalPath, '.error.json'));
    const errorDir = this.folders.error(file.source);
    const names = await readdir(errorDir).catch(() => [] as string[]);
    const stem = basename(file.name).replace(/\.[^.]*$/, '');
    candidates.push(...names.filter((n) => n.startsWith(stem) && n.endsWith('.error.json')).map((n) => join(errorDir, n)));
    for (const path of candidates) {
      const json = await readJson(path);
      if (!json) continue;
      if (json['fileId'] !== undefined && json['fileId'] !== file.id) continue;
      if (json['fileId'] === undefined && !path.startsWith(file.finalPath ?? '\0')) continue;
      return { rejected: (json['rejected'] as { key: string; errors: Record<string, unknown>[] }[] | undefined) ?? [], path };
    }
    return undefined;
  }

  /** Where the original bytes of a file are now (archive, error, duplicates or processing), inside the gateway's folders. */
  async originalOf(id: number): Promise<{ path: string; name: string }> {
    const record = await this.deps.ledger.file(id);
    if (!record) throw new ActionError(404, `no file #${id}`);
    const path = record.finalPath ?? record.processingPath;
    const s = this.deps.config.service;
    const inside = [s.dataDir, s.inbox].some((root) => !relative(resolve(root), resolve(path)).startsWith('..'));
    if (!inside) throw new ActionError(409, `file #${id} is outside the gateway's folders`);
    return { path, name: record.name };
  }

  invoices(filter: InvoiceFilter): Promise<Page<InvoiceSummary>> {
    return this.deps.ledger.browse.invoices(filter);
  }

  async invoice(id: number): Promise<InvoiceDetail> {
    const { ledger } = this.deps;
    const record = await ledger.invoiceById(id);
    if (!record) throw new ActionError(404, `no invoice #${id}`);
    const [file, deliveries, batches] = await Promise.all([
      ledger.file(record.fileId),
      ledger.browse.deliveries({ invoiceId: id, limit: 200 }),
      record.number ? ledger.browse.batchesOfInvoice(record.number) : Promise.resolve([]),
    ]);
    return {
      record,
      ...(file ? { file } : {}),
      deliveries: deliveries.items,
      batches: batches.filter((b) => b.deliveryIds.some((d) => deliveries.items.some((x) => x.id === d))),
    };
  }

  /** The invoice's PDF as its customer gets it (the first PDF route's options, else the defaults). */
  async pdf(id: number): Promise<{ content: Buffer; fileName: string }> {
    const record = await this.issued(id);
    const route = record.deliveries.find((d) => d.format === 'pdf');
    const doc = await renderDocument('pdf', record.invoice, route?.options ?? {}, downloadName(record.number, id));
    return { content: doc.content, fileName: doc.fileName };
  }

  /** The invoice's UBL in the profile of its first UBL route (EN 16931 itself when it has none). */
  async ubl(id: number): Promise<{ content: Buffer; fileName: string; profile: UblProfile }> {
    const record = await this.issued(id);
    if (record.invoice.kind !== 'invoice') throw new ActionError(409, 'a quotation has no UBL');
    const profile = this.profilesOf(record)[0]!;
    return {
      content: Buffer.from(writeUbl(record.invoice, { profile })),
      fileName: `${downloadName(record.number, id)}.xml`,
      profile,
    };
  }

  /** The official rules' findings on the invoice's UBL, for each profile its routes use. */
  async validation(id: number): Promise<ValidationRow[]> {
    const record = await this.issued(id);
    if (record.invoice.kind !== 'invoice') return [];
    const rows: ValidationRow[] = [];
    for (const profile of this.profilesOf(record)) {
      const findings = await this.deps.gate.findings(writeUbl(record.invoice, { profile }), profile);
      rows.push(...findings.map((f) => ({ profile, rule: f.rule, severity: f.severity, message: f.message, ...(f.location ? { location: f.location } : {}) })));
    }
    return rows;
  }

  private profilesOf(record: InvoiceRecord): UblProfile[] {
    const profiles = [...new Set(record.deliveries.filter((d) => d.format === 'ubl').map((d) => (d.options.profile ?? 'peppol') as UblProfile))];
    // an invoice that is not sent as UBL is held to EN 16931 itself, not to a network's extra rules
    return profiles.length ? profiles : ['en16931'];
  }

  private async issued(id: number): Promise<InvoiceRecord> {
    const record = await this.deps.ledger.invoiceById(id);
    if (!record) throw new ActionError(404, `no invoice #${id}`);
    return record;
  }

  /** Bulk runs that are over, newest first, with how they ended. */
  finishedRuns(): Promise<FinishedRun[]> {
    return this.deps.ledger.browse.finishedRuns();
  }

  deliveries(filter: DeliveryFilter): Promise<Page<DeliverySummary>> {
    return this.deps.ledger.browse.deliveries(filter);
  }

  /** Makes failed or dead deliveries due now; returns how many were. */
  async retry(ids: number[], by: string): Promise<number> {
    if (!ids.length) throw new ActionError(400, 'no delivery chosen');
    let count = 0;
    for (const id of ids) count += await this.deps.ledger.retry({ deliveryId: id });
    await this.deps.ledger.logEvent('retry', { deliveries: ids, due: count, by });
    this.changed();
    if (count) this.deps.wake();
    return count;
  }

  /**
   * Sends a bounced (or failed) e-mail delivery again, to the address an operator corrected; the
   * customer's address in customers.yaml is for them to correct too (the next invoices use it).
   */
  async retryTo(id: number, to: string, by: string): Promise<number> {
    const address = to.trim();
    if (!isMailAddress(address)) throw new ActionError(400, `"${address}" is not an e-mail address`);
    const count = await this.deps.ledger.retry({ deliveryId: id, to: address });
    if (!count) throw new ActionError(409, `delivery #${id} is not an e-mail that bounced or failed, so it is not sent again`);
    await this.deps.ledger.logEvent('retry', { delivery: id, deliveries: count, by, to: address });
    this.changed();
    this.deps.wake();
    return count;
  }

  /** Sends an issued invoice again over all its routes, as new deliveries; a reason is required. */
  async resend(invoiceId: number, reason: string, by: string): Promise<number> {
    const record = await this.issued(invoiceId);
    if (!reason.trim()) throw new ActionError(400, 'a resend needs a reason');
    if (!record.number) throw new ActionError(409, `invoice #${invoiceId} has no number yet (it is ${record.state})`);
    const count = await this.deps.ledger.resend(record.seller, record.number, reason.trim(), by);
    this.changed();
    if (count) this.deps.wake();
    return count;
  }

  batches(page: PageRequest): Promise<Page<BatchSummary>> {
    return this.deps.ledger.browse.batches(page);
  }

  /** An accounting batch with its summary; the file itself only when it can be made again byte for byte. */
  async batch(id: number): Promise<{ batch: BatchSummary; file?: { content: Buffer; summary: string } }> {
    const batch = await this.deps.ledger.browse.batch(id);
    if (!batch) throw new ActionError(404, `no accounting batch #${id}`);
    const file = await this.deps.exports.fileOf(batch);
    return { batch, ...(file ? { file } : {}) };
  }

  /** Puts an invoice in the next import file of an administration again; a reason is required. */
  async reexport(invoiceId: number, format: string, administration: string, reason: string, by: string): Promise<void> {
    const record = await this.issued(invoiceId);
    if (!reason.trim()) throw new ActionError(400, 'a reexport needs a reason');
    if (!record.number) throw new ActionError(409, `invoice #${invoiceId} has no number yet`);
    const ok = await this.deps.ledger.reexport(record.seller, record.number, format, administration, reason.trim(), by);
    if (!ok) throw new ActionError(409, `invoice ${record.number} has no ${format} route to administration ${administration}`);
    this.changed();
  }

  /** Puts every invoice of an accounting file in the next file of its administration again (a reason is required); returns how many. */
  async reexportBatch(batchId: number, reason: string, by: string): Promise<number> {
    if (!reason.trim()) throw new ActionError(400, 'a reexport needs a reason');
    const batch = await this.deps.ledger.browse.batch(batchId);
    if (!batch) throw new ActionError(404, `no accounting batch #${batchId}`);
    const invoiceIds = [...new Set((await this.deliveriesOf(batch.deliveryIds)).map((d) => d.invoiceId))];
    let count = 0;
    for (const id of invoiceIds) {
      const record = await this.deps.ledger.invoiceById(id);
      if (record?.number && (await this.deps.ledger.reexport(record.seller, record.number, batch.format, batch.administration, reason.trim(), by))) count++;
    }
    this.changed();
    return count;
  }

  /** Runs an uploaded file through the dry run: every check, UBL validation included; nothing stored or sent. */
  async tryFile(upload: { name: string; content: Buffer }, options: { mapping?: string; folder?: string }, by: string): Promise<TryOutcome> {
    const { config, issuer } = this.deps;
    if (options.mapping && !config.mappings.some((m) => m.name === options.mapping)) throw new ActionError(400, `no mapping named "${options.mapping}"`);
    const dir = await mkdtemp(join(tmpdir(), 'igw-try-'));
    const uploadName = basename(upload.name).replace(/[^\w.\- ]/g, '_') || 'upload';
    const at = async (folder: string): Promise<string> => {
      const path = join(dir, folder, uploadName);
      await writeFile(await mkdirFor(path), upload.content);
      return path;
    };
    try {
      let chosen: { result: TryResult; by?: 'name' | 'content' };
      if (options.mapping || options.folder) {
        const folder = options.folder || config.mappings.find((m) => m.name === options.mapping)?.definition.match.folder || 'upload';
        chosen = {
          result: await tryFile(await at(folder), config, issuer, { ...(options.mapping ? { mapping: options.mapping } : {}), folder, name: uploadName }),
        };
      } else chosen = await this.pickMapping(uploadName, at);
      const { result } = chosen;
      await this.deps.ledger.logEvent('try-file', { file: uploadName, bytes: upload.content.length, mapping: result.mapping ?? null, by });
      return {
        file: result.file,
        ...(result.mapping ? { mapping: result.mapping } : {}),
        ...(chosen.by ? { chosenBy: chosen.by } : {}),
        accepted: result.accepted.map((a) => ({ ...summariseInvoice(a.invoice, a.deliveries), held: a.held })),
        rejected: result.rejected.map(rejectedJson),
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * "Pick automatically": the mapping whose file names take this name, as the service would take it
   * from that mapping's own folder; when none or several do, the one that reads the most invoices from
   * its content (then the fewest rejections).
   */
  private async pickMapping(name: string, at: (folder: string) => Promise<string>): Promise<{ result: TryResult; by?: 'name' | 'content' }> {
    const { config, issuer } = this.deps;
    const run = async (m: (typeof config.mappings)[number]) => {
      const folder = m.definition.match.folder ?? 'upload';
      return tryFile(await at(folder), config, issuer, { mapping: m.name, folder, name });
    };
    const byName = mappingsTakingName(config.mappings, name);
    if (byName.length === 1) return { result: await run(byName[0]!), by: 'name' };
    let best: TryResult | undefined;
    for (const m of byName.length ? byName : config.mappings) {
      const result = await run(m);
      const better =
        !best ||
        result.accepted.length > best.accepted.length ||
        (result.accepted.length === best.accepted.length && result.rejected.length < best.rejected.length);
      if (better) best = result;
    }
    return { result: best!, by: 'content' };
  }

  /** check-config's verdict (without reaching servers) and what is configured; never a secret. */
  async configuration(): Promise<ConfigurationView> {
    const { config, ledger } = this.deps;
    const runtime = await checkRuntime(config, { samples: true, reach: false });
    return {
      valid: runtime.errors.length === 0,
      errors: runtime.errors.map((e) => e.describe()),
      warnings: runtime.warnings,
      ledger: ledger.description,
      mappings: config.mappings.map((m) => ({
        name: m.name,
        source: m.definition.source,
        kind: m.definition.defaults?.kind ?? 'invoice',
        ...(m.definition.match.folder ? { folder: m.definition.match.folder } : {}),
        ...(m.definition.match.files ? { files: m.definition.match.files } : {}),
        ...(m.definition.description ? { description: m.definition.description } : {}),
      })),
      customers: await Promise.all(
        Object.entries(config.customers.customers ?? {}).map(async ([key, c]) => ({
          key,
          name: c.party.name ?? key,
          // what its invoices take: its own routes, or the defaults (said as such)
          routes: (routesOf(c, config.customers) ?? []).map(routeLabel),
          ...(c.routes?.length ? {} : { defaultRoutes: true }),
          ...(await this.peppolOf(c)),
        })),
      ),
      defaultRoutes: (config.customers.defaults?.routes ?? []).map(routeLabel),
      sellers: Object.entries(config.sellers.sellers).map(([key, s]) => ({ key, name: s.name ?? key, ...(s.vatId ? { vatId: s.vatId } : {}) })),
      administrations: Object.keys(config.accounting),
    };
  }

  /** For a customer with a Peppol route: its Peppol id and the network's last answer kept in the ledger (no lookup is made here). */
  private async peppolOf(c: CustomerConfig): Promise<{ peppol?: { participant: string; answer: string; checkedAt?: string } }> {
    const route = c.routes?.find((r) => r.transport === 'peppol');
    const participant =
      route?.participant ?? (c.party.endpoint?.scheme && c.party.endpoint.id ? `${c.party.endpoint.scheme}:${c.party.endpoint.id}` : undefined);
    if (!route || !participant || !this.deps.peppol) return {};
    const kept = await this.deps.peppol().kept(participant, 'invoice');
    return {
      peppol: kept
        ? { participant, answer: kept.reason, checkedAt: kept.checkedAt }
        : { participant, answer: 'not looked up yet (the first invoice asks the network)' },
    };
  }

  audit(filter: EventFilter): Promise<Page<EventRecord>> {
    return this.deps.ledger.browse.events({ ...filter, kinds: filter.kinds?.length ? filter.kinds.filter((k) => AUDIT_KINDS.includes(k)) : AUDIT_KINDS });
  }

  /** Writes an audit event for something done in the console that the ledger does not log itself. */
  async logAudit(kind: string, detail: Record<string, unknown>): Promise<void> {
    await this.deps.ledger.logEvent(kind, detail);
  }
}

/** A rejected item as JSON: its key and each error with its location, field and reason. */
export function rejectedJson(r: RejectedItem): { key: string; errors: Record<string, unknown>[] } {
  return { key: r.key, errors: r.errors.map((e) => (e instanceof GatewayError ? e.toJSON() : { message: String(e) })) };
}

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

async function mkdirFor(path: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  return path;
}
