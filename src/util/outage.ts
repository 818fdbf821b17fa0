import { errorMessage, failureKind } from '../errors.js';
import type { Logger } from '../observability/log.js';

/**
 * A periodic job's view of a broken environment (the ledger unreachable, a disk full): said once
 * when it starts and once when it is over, not at every tick. Other failures are logged each time.
 */
export class OutageLog {
  private down?: string;

  constructor(
    private readonly log: Logger,
    /** what pauses, for the messages ("deferred invoices", "accounting exports") */
    private readonly what: string,
  ) {}

  /** Reports a failed pass. */
  failed(err: unknown): void {
    const message = errorMessage(err);
    if (failureKind(err) !== 'environment') {
      this.log.error(`${this.what}: the pass failed`, { error: message });
      return;
    }
    if (!this.down) this.log.error(`${this.what} paused: the environment failed; nothing is lost, it resumes by itself`, { error: message });
    this.down = message;
  }

  /** Reports a pass that went through (ends an outage, if there was one). */
  ok(): void {
    if (!this.down) return;
    this.down = undefined;
    this.log.info(`${this.what} resumed: the environment works again`);
  }
}
