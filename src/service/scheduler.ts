import { basename } from 'node:path';
import { OutageLog } from '../util/outage.js';
import type { InvoiceRecord, Ledger } from '../ledger/ledger.js';
import { errorReportJson, renderErrorReport } from '../report/error-report.js';
import { freeReportBase, type Folders, writeErrorReports } from './folders.js';
import type { Issuer } from './issuing.js';
import type { Logger } from '../observability/log.js';

/** Issues held invoices whose time has come (send.after, send.at, send.when's maxWait). */
export class Scheduler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private readonly outage: OutageLog;

  constructor(
    private readonly ledger: Ledger,
    private readonly issuer: Issuer,
    private readonly folders: Folders,
    private readonly everyMs: number,
    private readonly log: Logger,
    private readonly onIssued: () => void,
  ) {
    this.outage = new OutageLog(log, 'deferred invoices');
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.everyMs);
    void this.tick();
  }

  /** One check: every due held invoice goes through the issuing step now, dated today. */
  tick(): Promise<number> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<number> {
    let issued = 0;
    try {
      for (const held of await this.ledger.claimDueHeld(Date.now())) {
        const outcome = await this.issuer.issueHeld(this.ledger, held, held.invoice, held.deliveries);
        if (outcome.status === 'issued') {
          issued++;
          this.log.info('deferred invoice issued', { invoice: outcome.number, key: held.invoice.meta.sourceKey, file: held.invoice.meta.sourceFile });
        } else if (outcome.status === 'rejected') {
          await this.reject(held, outcome.errors);
        }
      }
      this.outage.ok();
    } catch (err) {
      this.outage.failed(err);
    }
    if (issued) this.onIssued();
    return issued;
  }

  /** A held invoice that fails its checks when due takes no number: reported like a rejected invoice of its file. */
  private async reject(held: InvoiceRecord, errors: import('../errors.js').GatewayError[]): Promise<void> {
    const file = await this.ledger.file(held.fileId);
    const name = basename(held.invoice.meta.sourceFile);
    const item = { key: held.invoice.meta.sourceKey, errors };
    const base = await freeReportBase(this.folders.error(file?.source ?? 'held'), name);
    const policy = `This invoice was held back (deferred) and was checked when its time came; it was not numbered and will not be sent. Its file was processed earlier${file?.finalPath ? ` and archived as ${file.finalPath}` : ''}.`;
    const report = await writeErrorReports(
      base,
      renderErrorReport(name, [item], { accepted: 0, policy }),
      errorReportJson(name, [item], { heldInvoiceId: held.id, fileId: held.fileId }),
    );
    await this.ledger.rejectHeld(held.id, errors.map((e) => e.describe()).join('; '));
    this.log.error('held invoice rejected when due; not numbered', {
      key: item.key,
      file: name,
      errors: errors.map((e) => `[${e.code}] ${e.message}`),
      report,
    });
  }

  /** Stops the timer and waits for a pass under way. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
