import { errorMessage } from '../errors.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../observability/log.js';
import type { Transports } from '../transports/index.js';
import { PeppolTransport, type FollowUpEntry } from '../transports/peppol.js';

/**
 * Asks the access points about messages they accepted but had not yet delivered, and notes in the
 * delivery when they were: "sent" means handed over; the result then says "delivered". Every node
 * may ask; the answer and the note are the same whoever does.
 */
export class PeppolFollowUp {
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly ledger: Ledger,
    private readonly transports: Transports,
    private readonly log: Logger,
    private readonly everyMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One round: each waiting message asked once. */
  async tick(now = Date.now()): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const { deliveryId, entry: text } of await this.ledger.followUps(now, 200)) {
        const entry = JSON.parse(text) as FollowUpEntry;
        try {
          const transport = this.transports.forTarget(entry.target);
          const answer = transport instanceof PeppolTransport ? await transport.followUp(entry.messageId) : undefined;
          if (!answer) {
            await this.ledger.dropFollowUp(deliveryId);
          } else if (answer.state === 'delivered') {
            await this.ledger.amendResult(entry.deliveryId, `${answer.detail}; instance ${entry.instanceId}`, 'delivered');
            await this.ledger.dropFollowUp(deliveryId);
            this.log.info('delivered over Peppol', { delivery: entry.deliveryId, message: entry.messageId });
          }
        } catch (err) {
          // the access point out of reach: asked again next round
          this.log.warn('Peppol follow-up failed; asked again later', { delivery: entry.deliveryId, error: errorMessage(err) });
        }
      }
    } catch (err) {
      this.log.warn('Peppol follow-up could not read the ledger; tried again later', { error: errorMessage(err) });
    } finally {
      this.running = false;
    }
  }
}
