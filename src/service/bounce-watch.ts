import { durationMs } from '../config/duration.js';
import type { ServiceSettings } from '../config/load.js';
import { errorMessage } from '../errors.js';
import type { Ledger } from '../ledger/ledger.js';
import { keyOfMessageId, readMailboxMessage } from '../mail/dsn.js';
import type { Logger } from '../observability/log.js';
import type { Inbox, Transports } from '../transports/index.js';

/** Bounces come within minutes, at worst days: messages older than this are not looked at. */
const LOOK_BACK_DAYS = 14;

/**
 * Reads the inbox of each mail account for bounces (an smtp target's `imap:` mailbox, a graph target's
 * own mailbox over Graph): a delivery status notification
 * for one of our mails (found by the Message-ID it returns) turns that delivery from "sent" into
 * "bounced" with the remote server's reason, logged as an error and shown in the console, so that
 * someone corrects the address and sends it again (`retry <delivery> --to`). Delay notices and
 * out-of-office replies are not bounces; customers' replies are left for the people who read the
 * mailbox (the gateway marks what it read with a keyword of its own, never as read). Every node may
 * read; a bounce is recorded once.
 */
export class BounceWatch {
  private timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<string>();

  constructor(
    private readonly settings: ServiceSettings,
    private readonly ledger: Ledger,
    private readonly log: Logger,
    private readonly transports: Transports,
  ) {}

  /** Reads each mail target's inbox at once, then as often as it says (every 2 minutes unless set; 0s: never). */
  start(): void {
    for (const name of Object.keys(this.settings.targets)) {
      let account;
      try {
        account = this.transports.inboxOf(name);
      } catch (err) {
        // the sign-in is not set up (its deliveries say so too): nothing to read with
        this.log.warn('the mailbox cannot be read for bounces', { target: name, error: errorMessage(err) });
      }
      const everyMs = account ? durationMs(account.every, 120_000) : 0;
      if (!account || everyMs <= 0) continue;
      const { inbox } = account;
      void this.check(name, inbox);
      this.timers.push(setInterval(() => void this.check(name, inbox), everyMs));
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** One look at one inbox; a mailbox that cannot be reached is said and looked at next time. */
  async check(name: string, mailbox: Inbox): Promise<void> {
    if (this.running.has(name)) return;
    this.running.add(name);
    try {
      await mailbox.readNew(LOOK_BACK_DAYS, async (raw) => {
        const message = await readMailboxMessage(raw);
        if (message.kind !== 'bounce') return;
        const { bounce } = message;
        const key = keyOfMessageId(bounce.originalMessageId);
        // the status code leads when the server's words leave it out (Postfix's own "X-Postfix; unknown user")
        const status = bounce.status && !bounce.diagnostic?.includes(bounce.status) ? bounce.status : undefined;
        const reason = [bounce.recipient && `${bounce.recipient}:`, status, bounce.diagnostic ?? (status ? undefined : 'undeliverable')]
          .filter(Boolean)
          .join(' ');
        const delivery = key ? await this.ledger.markBounced(key, `bounced: ${reason}`) : undefined;
        if (delivery !== undefined)
          this.log.error('mail bounced: the address must be corrected and the mail sent again', {
            delivery,
            target: name,
            recipient: bounce.recipient,
            status: bounce.status,
            reason: bounce.diagnostic,
          });
        else
          this.log.info('a bounce for a mail the ledger does not know as sent (not ours, or already marked)', {
            target: name,
            messageId: bounce.originalMessageId,
          });
      });
    } catch (err) {
      this.log.warn('the mailbox could not be read for bounces; tried again later', { target: name, error: errorMessage(err) });
    } finally {
      this.running.delete(name);
    }
  }
}
