import { TransportError } from './transport.js';

/** The window a mailbox's daily limit counts over. */
export const DAY_MS = 86_400_000;
/** The ledger's count is read again after this long (other nodes send from the same mailbox too). */
const REFRESH_MS = 60_000;

/** How long a mail waits when the provider itself says the mailbox reached its sending limit. */
export const PROVIDER_LIMIT_WAIT_MS = 3_600_000;

/**
 * The provider's own words for a mailbox over its sending limit: Exchange Online
 * (SubmissionQuotaExceeded, 5.1.90 "daily limit for message recipients", Graph's ErrorQuotaExceeded),
 * Gmail (5.4.5 "Daily user sending limit exceeded"). Such a mail waits; it is not undeliverable.
 */
const PROVIDER_LIMIT = /SubmissionQuotaExceeded|ErrorQuotaExceeded|daily (user )?sending limit|daily limit for message recipients|\b5\.1\.90\b|\b5\.4\.5\b/i;

/** The wait for a refusal that is the provider's sending limit, or undefined for any other refusal. */
export function providerLimitWait(what: string, refusal: string): TransportError | undefined {
  if (!PROVIDER_LIMIT.test(refusal)) return undefined;
  return new TransportError(
    `${what}: the provider says the mailbox reached its sending limit (${refusal.slice(0, 200)}); the mail waits an hour and is tried again`,
    false,
    {},
    PROVIDER_LIMIT_WAIT_MS,
  );
}

/** What the ledger says about e-mail since a time: how many went out, and when the first of them did. */
export type MailActivity = (since: string) => Promise<{ sent: number; first?: string }>;

/**
 * A mailbox's limit of recipients in any 24 hours (Exchange Online: 10,000), counted from the
 * ledger (every node's mails) and this process's own sends since it last looked. A mail over the
 * limit is not a failure: it waits, as a TransportError that says until when (the moment the oldest
 * mail of the window is 24 hours old), and the outbox puts it back as pending for then.
 */
export class MailQuota {
  private seen?: { sent: number; first?: number; at: number };
  /** recipients this process sent (or is sending) since the ledger was last read */
  private mine = 0;

  constructor(
    private readonly what: string,
    private readonly recipientsPerDay: number,
    private readonly activity: MailActivity,
  ) {}

  /** Takes `recipients` from today's allowance, or throws the wait when they do not fit. */
  async admit(recipients: number, now = Date.now()): Promise<void> {
    if (!this.seen || now - this.seen.at > REFRESH_MS) {
      const { sent, first } = await this.activity(new Date(now - DAY_MS).toISOString());
      this.seen = { sent, at: now, ...(first ? { first: Date.parse(first) } : {}) };
      this.mine = 0;
    }
    // the ledger counts mails; each counts as many recipients as this one has (the customer and the archive Bcc)
    const used = (this.seen.sent + this.mine) * recipients;
    if (used + recipients <= this.recipientsPerDay) {
      this.mine++;
      return;
    }
    const at = Math.max(now + REFRESH_MS, (this.seen.first ?? now) + DAY_MS);
    throw new TransportError(
      `${this.what}: ${used} of ${this.recipientsPerDay} recipients in the last 24 hours (the mailbox's daily limit); this mail goes from ${new Date(at).toISOString()}`,
      false,
      {},
      at - now,
    );
  }
}
