import type { ServiceSettings } from '../config/load.js';
import { errorMessage } from '../errors.js';
import { FormatError, renderDocument } from '../formats/index.js';
import type { DeliveryRecord, Ledger } from '../ledger/ledger.js';
import { TransportError } from '../transports/transport.js';
import type { Transports } from '../transports/index.js';
import type { Logger } from './log.js';
import { findingsToErrors, type UblGate } from '../validation/gate.js';

/** Exponential back-off with ±20 % jitter, so retries of many deliveries do not arrive in step. */
export function retryDelay(attempt: number, firstMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, firstMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** The file name of a delivery's document: the invoice number, and a suffix for a deliberate resend. */
export function documentBaseName(delivery: DeliveryRecord): string {
  const resend = /\.resend-(\d+)$/.exec(delivery.idempotencyKey);
  return resend ? `${delivery.invoiceNumber}-resend-${resend[1]}` : delivery.invoiceNumber;
}

/** Sends due deliveries: render, hand to the transport, record sent / failed (with back-off) / dead. */
export class Outbox {
  private timer?: NodeJS.Timeout;
  private running = 0;
  private stopped = true;
  private ticking = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly ledger: Ledger,
    private readonly transports: Transports,
    private readonly settings: ServiceSettings['outbox'],
    private readonly log: Logger,
    private readonly gate?: UblGate,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Looks for due deliveries now (after new invoices were issued). */
  wake(): void {
    if (!this.stopped) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.ticking) return;
    this.ticking = true;
    try {
      const free = this.settings.concurrency - this.running;
      const due = free > 0 ? this.ledger.claimDueDeliveries(Date.now(), free) : [];
      for (const delivery of due) {
        this.running++;
        void this.deliver(delivery).finally(() => {
          this.running--;
          if (this.running === 0) this.idle.splice(0).forEach((resolve) => resolve());
          this.wake();
        });
      }
      this.schedule(due.length ? 0 : this.settings.pollIntervalMs);
    } catch (err) {
      this.log.error('outbox: cannot read due deliveries', { error: errorMessage(err) });
      this.schedule(this.settings.pollIntervalMs);
    } finally {
      this.ticking = false;
    }
  }

  /** Renders and sends one delivery; never throws. */
  async deliver(delivery: DeliveryRecord): Promise<void> {
    const log = this.log.child({ invoice: delivery.invoiceNumber, delivery: delivery.id, route: delivery.routeId, target: delivery.target });
    try {
      const record = this.ledger.invoiceById(delivery.invoiceId);
      if (!record) throw new TransportError(`invoice ${delivery.invoiceId} is not in the ledger`, true);
      const document = await renderDocument(delivery.format, record.invoice, delivery.options, documentBaseName(delivery));
      if (delivery.format === 'ubl' && this.gate) {
        // the final gate: the document as it will leave, with its real number
        const profile = delivery.options.profile ?? 'peppol';
        const errors = findingsToErrors(await this.gate.validator().validate(document.content, profile), record.invoice, profile);
        if (errors.length) throw new FormatError(`the UBL fails the official ${profile} rules: ${errors.map((e) => `[${e.code}] ${e.message}`).join('; ')}`, {});
      }
      const result = await this.transports.for(delivery).send({ delivery, document, invoice: record.invoice });
      this.ledger.markSent(delivery.id, result);
      log.info('delivery sent', { result, attempt: delivery.attempts });
    } catch (err) {
      const permanent = err instanceof FormatError || (err instanceof TransportError && err.permanent);
      const dead = permanent || delivery.attempts >= this.settings.maxAttempts;
      const next = Date.now() + retryDelay(delivery.attempts, this.settings.firstRetryAfterMs, this.settings.maxRetryAfterMs);
      const reason = errorMessage(err);
      this.ledger.markFailed(delivery.id, reason, next, dead);
      if (dead) log.error('delivery dead', { error: reason, attempts: delivery.attempts, permanent });
      else log.warn('delivery failed, will retry', { error: reason, attempt: delivery.attempts, retryAt: new Date(next).toISOString() });
    }
  }

  /** Stops taking deliveries and waits for those under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.running > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }
}
