import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { GatewayConfig } from '../config/load.js';
import { EnvironmentError } from '../errors.js';
import { OutageLog } from '../util/outage.js';
import { ExportError, type AdministrationConfig } from '../formats/accounting/admin.js';
import { ACCOUNTING_FORMATS, importFile, summaryText, type AccountingFormat } from '../formats/accounting/batch.js';
import type { DeliveryRecord, ExportBatch, Ledger } from '../ledger/ledger.js';
import type { CalculatedInvoice } from '../model/invoice.js';
import { FolderTransport } from '../transports/folder.js';
import { outputFormat } from '../kinds/formats.js';
import type { Transports } from '../transports/index.js';
import type { Transport } from '../transports/transport.js';
import { standardsHome } from '../validation/artefacts.js';
import { nextDailyTime } from './hold.js';
import { checkXsd } from './xsd-check.js';
import type { Logger } from '../observability/log.js';

const XSD: Partial<Record<AccountingFormat, string>> = {
  'exact-online': 'exact/exact-online-eExact-XML.xsd',
  'exact-globe': 'exact/exact-globe-eExact-Schema.xsd',
};

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** What a finished batch records per invoice: its number and a hash of its totals (to see a later change). */
function exportedOf(deliveries: DeliveryRecord[], invoices: CalculatedInvoice[]): { invoiceNumber: string; contentHash: string }[] {
  return deliveries.map((d, i) => ({ invoiceNumber: d.invoiceNumber, contentHash: sha256(JSON.stringify(invoices[i]!.totals)) }));
}

/** Validates an Exact import file against its XSD in one JVM call (xsd-schema-validator, on a thread of its own). */
async function validateExactFile(format: AccountingFormat, content: Buffer): Promise<string | undefined> {
  const xsd = XSD[format];
  if (!xsd) return undefined;
  const verdict = await checkXsd(content.toString('utf-8'), join(standardsHome(), xsd));
  if ('failed' in verdict) {
    // no findings: the validator itself could not run (no Java, no schema, a JVM that died); the batch waits for it
    throw new EnvironmentError(`the ${format} file cannot be checked against its XSD: ${verdict.failed}`, {});
  }
  return verdict.valid ? undefined : verdict.messages.slice(0, 5).join('; ');
}

/**
 * Collects the invoices bound for each accounting administration into one import file per batch
 * window, written atomically into the pick-up folder with a summary. An export ledger makes sure
 * an invoice is exported once; a batch is recorded before its file is written, so a crash in
 * between is finished on restart without a second file.
 */
export class ExportBatcher {
  private timer?: NodeJS.Timeout;
  private readonly lastRun = new Map<string, number>();
  private running?: Promise<number>;
  readonly administrations: Record<string, AdministrationConfig>;
  private readonly outage: OutageLog;

  constructor(
    private readonly config: GatewayConfig,
    private readonly ledger: Ledger,
    private readonly log: Logger,
    /** whether files are under way (the node says; a batch waits for their invoices) */
    public busy: () => boolean = () => false,
    private readonly transports?: Transports,
  ) {
    this.administrations = config.accounting;
    this.outage = new OutageLog(log, 'accounting exports');
  }

  private folderOf(admin: AdministrationConfig): string {
    return isAbsolute(admin.pickupFolder) ? admin.pickupFolder : resolve(this.config.configDir, '..', admin.pickupFolder);
  }

  start(everyMs = 1000): void {
    this.timer = setInterval(() => void this.tick(), everyMs);
  }

  /** Whether the window of an administration is open now. */
  private due(name: string, admin: AdministrationConfig, now: number): boolean {
    const last = this.lastRun.get(name) ?? 0;
    switch (admin.batch ?? 'per-run') {
      // one file per run: wait until the files under way are done
      case 'per-run':
        return !this.busy();
      case 'hourly':
        return Math.floor(now / 3_600_000) !== Math.floor(last / 3_600_000);
      case 'daily':
        return nextDailyTime(admin.at ?? '06:00', new Date(last || now - 86_400_000)) <= now;
    }
  }

  /** One pass: unfinished batches first, then every administration whose window is open (all of them with `force`). */
  async tick(now = Date.now(), options: { force?: boolean } = {}): Promise<number> {
    // a pass under way is waited for (a stop must not close the ledger and the log beneath it)
    while (this.running) await this.running.catch(() => undefined);
    this.running = this.pass(now, options).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(now: number, options: { force?: boolean }): Promise<number> {
    let files = 0;
    try {
      for (const batch of await this.ledger.takeOverBatches()) await this.recover(batch);
      for (const [name, admin] of Object.entries(this.administrations)) {
        if (!options.force && !this.due(name, admin, now)) continue;
        for (const format of ACCOUNTING_FORMATS) {
          if (await this.export(format, name, admin, now)) files++;
        }
        this.lastRun.set(name, now);
      }
      this.outage.ok();
    } catch (err) {
      this.outage.failed(err);
    }
    return files;
  }

  private async invoicesOf(deliveries: DeliveryRecord[]): Promise<CalculatedInvoice[]> {
    const invoices: CalculatedInvoice[] = [];
    for (const d of deliveries) invoices.push((await this.ledger.invoiceById(d.invoiceId))!.invoice);
    return invoices;
  }

  private debtorCodes(): Record<string, string | undefined> {
    return Object.fromEntries(Object.entries(this.config.customers.customers ?? {}).map(([k, c]) => [k, c.debtorCode]));
  }

  /** Writes one batch file for a format and administration; returns whether a file was written. */
  private async export(format: AccountingFormat, name: string, admin: AdministrationConfig, now: number): Promise<boolean> {
    const deliveries = await this.ledger.pendingExports(format, name, now);
    if (!deliveries.length) return false;
    // already exported (a reissue goes through `reexport`): recorded, not written again
    const fresh: DeliveryRecord[] = [];
    for (const d of deliveries) {
      const batch = await this.ledger.exportedIn(format, name, d.invoiceNumber);
      if (batch !== undefined) await this.ledger.markSent(d.id, `already exported in batch ${batch}; not exported twice`);
      else fresh.push(d);
    }
    // one file per destination: routes of one administration may send their batch to different targets
    const byVia = new Map<string, DeliveryRecord[]>();
    for (const d of fresh) byVia.set(d.options.via ?? '', [...(byVia.get(d.options.via ?? '') ?? []), d]);
    let written = false;
    for (const group of byVia.values()) if (await this.exportGroup(format, name, admin, group, now)) written = true;
    return written;
  }

  /** Writes one batch file for deliveries that share a format, administration and destination. */
  private async exportGroup(format: AccountingFormat, name: string, admin: AdministrationConfig, group: DeliveryRecord[], now: number): Promise<boolean> {
    let deliveries = group;
    const ctx = { name, admin, debtorCodes: this.debtorCodes() };
    for (;;) {
      if (!deliveries.length) return false;
      try {
        const invoices = await this.invoicesOf(deliveries);
        const file = importFile(format, invoices, ctx);
        const invalid = await validateExactFile(format, file.content);
        if (invalid) {
          for (const d of deliveries) await this.ledger.markFailed(d.id, `the ${format} file does not validate against its XSD: ${invalid}`, now, true);
          this.log.error('accounting file fails its XSD; nothing written', { format, administration: name, error: invalid });
          return false;
        }
        const stamp = new Date(now).toISOString().replace(/[-:]/g, '').slice(0, 15);
        const fileName = `${format}-${name}-${stamp}-${sha256(file.content).slice(0, 8)}.${file.extension}`;
        const batchId = await this.ledger.openBatch({
          format,
          administration: name,
          fileName,
          contentHash: sha256(file.content),
          deliveryIds: deliveries.map((d) => d.id),
        });
        if (batchId === undefined) {
          // another node took one of these deliveries into its batch first: that node writes the file
          this.log.info('another node writes this accounting batch', { format, administration: name });
          return false;
        }
        await this.write(admin, deliveries, fileName, file.content, summaryText(file.summary, fileName));
        await this.ledger.finishBatch(batchId, exportedOf(deliveries, invoices));
        this.log.info('accounting import file written', {
          format,
          administration: name,
          file: fileName,
          entries: file.summary.entries,
          totalExclVat: file.summary.totalExclVat,
          totalVat: file.summary.totalVat,
        });
        return true;
      } catch (err) {
        if (!(err instanceof ExportError)) throw err;
        // one invoice that cannot be expressed is dead with the reason; the others go on
        const bad = err.invoiceNumber === undefined ? [] : deliveries.filter((d) => d.invoiceNumber === err.invoiceNumber);
        const culprits = bad.length ? bad : deliveries;
        for (const d of culprits) await this.ledger.markFailed(d.id, err.message, now, true);
        this.log.error('invoice cannot be exported', { format, administration: name, invoice: err.invoiceNumber, error: err.message });
        deliveries = deliveries.filter((d) => !culprits.includes(d));
      }
    }
  }

  /** The transport a batch goes out by: the route's target when it names one, else the administration's pick-up folder. */
  private transportFor(admin: AdministrationConfig, via: string | undefined): Transport {
    if (via && this.transports) return this.transports.forTarget(via);
    return new FolderTransport(this.folderOf(admin));
  }

  /** Hands the import file and its summary to the route's transport, like any other document. */
  private async write(admin: AdministrationConfig, deliveries: DeliveryRecord[], fileName: string, content: Buffer, summary: string): Promise<void> {
    const first = deliveries[0]!;
    const transport = this.transportFor(admin, first.options.via);
    const invoice = (await this.ledger.invoiceById(first.invoiceId))!.invoice;
    const mediaType = outputFormat(first.format)?.mediaType ?? 'application/octet-stream';
    await transport.send({ delivery: first, invoice, document: { fileName, mediaType, content } });
    await transport.send({
      delivery: first,
      invoice,
      document: { fileName: `${fileName}.summary.txt`, mediaType: 'text/plain', content: Buffer.from(summary) },
    });
  }

  /** The deliveries of a batch and their invoices, as the ledger holds them. */
  private async contentsOf(batch: ExportBatch): Promise<{ rows: DeliveryRecord[]; invoices: CalculatedInvoice[] }> {
    const rows: DeliveryRecord[] = [];
    for (const id of batch.deliveryIds) {
      const d = await this.ledger.deliveryById(id);
      if (d) rows.push(d);
    }
    return { rows, invoices: await this.invoicesOf(rows) };
  }

  /**
   * The import file of a written batch, made again from the ledger (the formats are deterministic)
   * and checked against the hash recorded when it was written; undefined when it no longer matches
   * (the administration's settings changed since) or the administration is gone.
   */
  async fileOf(batch: ExportBatch): Promise<{ content: Buffer; summary: string } | undefined> {
    const admin = this.administrations[batch.administration];
    if (!admin) return undefined;
    const { invoices } = await this.contentsOf(batch);
    const file = importFile(batch.format as AccountingFormat, invoices, { name: batch.administration, admin, debtorCodes: this.debtorCodes() });
    if (sha256(file.content) !== batch.contentHash) return undefined;
    return { content: file.content, summary: summaryText(file.summary, batch.fileName) };
  }

  /** A batch recorded but not finished: its file is there (finish it) or not (send the same file again). */
  private async recover(batch: ExportBatch): Promise<void> {
    const admin = this.administrations[batch.administration];
    if (!admin) return;
    const { rows, invoices } = await this.contentsOf(batch);
    const via = rows[0]?.options.via;
    const local = via ? undefined : join(this.folderOf(admin), batch.fileName);
    if (!local || !existsSync(local) || sha256(readFileSync(local)) !== batch.contentHash) {
      // a transport recognises the same file sent again (same name, same bytes) and does not duplicate it
      const file = importFile(batch.format as AccountingFormat, invoices, { name: batch.administration, admin, debtorCodes: this.debtorCodes() });
      await this.write(admin, rows, batch.fileName, file.content, summaryText(file.summary, batch.fileName));
    }
    await this.ledger.finishBatch(batch.id, exportedOf(rows, invoices));
    this.log.warn('accounting batch interrupted by a stop was finished', { format: batch.format, administration: batch.administration, file: batch.fileName });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
