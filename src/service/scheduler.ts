import { errorMessage } from '../errors.js';
import type { Ledger } from '../ledger/ledger.js';
import { asIssuedToday } from './hold.js';
import type { Logger } from './log.js';

/** Issues held invoices whose time has come (send.after, send.at, send.when's maxWait). */
export class Scheduler {
  private timer?: NodeJS.Timeout;

  constructor(private readonly ledger: Ledger, private readonly everyMs: number, private readonly log: Logger, private readonly onIssued: () => void) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.everyMs);
    this.tick();
  }

  /** One check: every due held invoice is numbered now, with today's date. */
  tick(now = new Date()): number {
    let issued = 0;
    try {
      for (const held of this.ledger.dueHeld(now.getTime())) {
        const result = this.ledger.issueHeld(held.id, asIssuedToday(held.invoice, now), held.deliveries);
        if (result) {
          issued++;
          this.log.info('deferred invoice issued', { invoice: result.number, key: held.invoice.meta.sourceKey, file: held.invoice.meta.sourceFile });
        }
      }
    } catch (err) {
      this.log.error('scheduler: cannot issue held invoices', { error: errorMessage(err) });
    }
    if (issued) this.onIssued();
    return issued;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
