import { safeName } from '../util/safe-name.js';
import type { ServiceSettings } from '../config/load.js';
import { errorMessage, failureKind } from '../errors.js';
import { withTimeout } from '../util/timeout.js';
import { FormatError, renderDocument } from '../formats/index.js';
import type { DeliveryRecord, InvoiceRecord, Ledger } from '../ledger/ledger.js';
import { TransportError } from '../transports/transport.js';
import type { Transports } from '../transports/index.js';
import type { Logger } from '../observability/log.js';
import { findingsToErrors, type UblGate } from '../validation/gate.js';
import { carriedEInvoice, carriedXml } from '../formats/carried-xml.js';
import { resendOf } from '../ledger/keys.js';
import type { DurationObserver } from '../observability/metrics.js';

/** Exponential back-off with ±20 % jitter, so retries of many deliveries do not arrive in step. */
export function retryDelay(attempt: number, firstMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, firstMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** The file name of a delivery's document: the invoice number, and a suffix for a deliberate resend. */
export function documentBaseName(delivery: DeliveryRecord): string {
  const resend = resendOf(delivery.idempotencyKey);
  // a number may hold any character EN 16931 allows ("1316/85"): its file names are made safe, never cut short
  const base = safeName(delivery.invoiceNumber);
  return resend !== undefined ? `${base}-resend-${resend}` : base;
}

/** The target a delivery occupies: every mail shares the one mail server, other routes their own target. */
export function targetKey(delivery: Pick<DeliveryRecord, 'transport' | 'target'>): string {
  return delivery.transport === 'email' ? 'email' : `${delivery.transport}:${delivery.target}`;
}

/**
 * Sends due deliveries: render, hand to the transport, record sent / failed (with back-off) / dead.
 * Each target has its own share of the slots and every send a time limit, so one dead target
 * cannot starve the others. A ledger that cannot be written pauses sending; the outcome is kept
 * in memory and recorded when the ledger works again.
 */
export class Outbox {
  private timer?: NodeJS.Timeout;
  private running = 0;
  private readonly perTarget = new Map<string, number>();
  /** outcomes the ledger could not record yet (disk full): retried before anything new is claimed */
  private readonly unrecorded: (() => Promise<void>)[] = [];
  /** why sending is paused, for the log */
  private paused?: string;
  private stopped = true;
  private ticking = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly ledger: Ledger,
    private readonly transports: Transports,
    private readonly settings: ServiceSettings['outbox'],
    private readonly log: Logger,
    private readonly gate?: UblGate,
    private readonly durations?: DurationObserver,
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
      if (!(await this.recordPending())) {
        this.schedule(Math.max(this.settings.pollIntervalMs, 2000));
        return;
      }
      const free = this.settings.concurrency - this.running;
      const full = [...this.perTarget].filter(([, n]) => n >= this.settings.perTargetConcurrency).map(([key]) => key);
      const now = Date.now();
      // twice the longest retry pause (jitter included): anything due later was timed before the clock was set back
      const due = free > 0 ? await this.ledger.claimDueDeliveries(now, free, full, now + 2 * this.settings.maxRetryAfterMs) : [];
      if (this.paused) {
        this.log.info('ledger writable again: sending resumes');
        this.paused = undefined;
      }
      // the invoices of the round in one look, not one per delivery
      // (if that look fails, each delivery reads its own and fails or waits on its own, as before)
      const invoices = due.length > 1 ? await this.ledger.invoicesByIds(due.map((d) => d.invoiceId)).catch(() => undefined) : undefined;
      for (const delivery of due) {
        const key = targetKey(delivery);
        this.running++;
        this.perTarget.set(key, (this.perTarget.get(key) ?? 0) + 1);
        void this.deliver(delivery, invoices?.get(delivery.invoiceId)).finally(() => {
          this.running--;
          this.perTarget.set(key, (this.perTarget.get(key) ?? 1) - 1);
          if (this.running === 0) this.idle.splice(0).forEach((resolve) => resolve());
          this.wake();
        });
      }
      this.schedule(due.length ? 0 : this.settings.pollIntervalMs);
    } catch (err) {
      this.pause(err);
      this.schedule(Math.max(this.settings.pollIntervalMs, 2000));
    } finally {
      this.ticking = false;
    }
  }

  private pause(err: unknown): void {
    const why = `the ledger cannot be read or written: ${errorMessage(err)}`;
    if (this.paused !== why) this.log.error('sending paused: nothing is lost, it resumes by itself', { error: errorMessage(err) });
    this.paused = why;
  }

  /** Records outcomes kept in memory while the ledger failed; false while it still fails. */
  private async recordPending(): Promise<boolean> {
    while (this.unrecorded.length) {
      try {
        await this.unrecorded[0]!();
        this.unrecorded.shift();
      } catch (err) {
        this.pause(err);
        return false;
      }
    }
    return true;
  }

  /**
   * Writes an outcome to the ledger now, or keeps it for later when the ledger fails. An outcome the
   * ledger refuses as stale (another node took the delivery over meanwhile, or sent it) is left out.
   */
  private async record(outcome: () => Promise<boolean>, log: Logger): Promise<void> {
    const write = async (): Promise<void> => {
      if (!(await outcome())) log.warn('outcome not recorded: another node took this delivery over while this one was cut off, and its record stands');
    };
    // behind outcomes that still wait, in order
    if (this.unrecorded.length) {
      this.unrecorded.push(write);
      return;
    }
    try {
      await write();
    } catch (err) {
      this.unrecorded.push(write);
      this.pause(err);
    }
  }

  /** Renders and sends one delivery (its invoice read here unless given); never throws. */
  async deliver(delivery: DeliveryRecord, known?: InvoiceRecord): Promise<void> {
    const log = this.log.child({ invoice: delivery.invoiceNumber, delivery: delivery.id, route: delivery.routeId, target: delivery.target });
    const started = performance.now();
    const took = (): number => (performance.now() - started) / 1000;
    try {
      const record = known ?? (await this.ledger.invoiceById(delivery.invoiceId));
      if (!record) throw new TransportError(`invoice ${delivery.invoiceId} is not in the ledger`, true);
      const document = await renderDocument(delivery.format, record.invoice, delivery.options, documentBaseName(delivery));
      const carried = this.gate && carriedEInvoice(delivery, record.invoice);
      if (this.gate && carried) {
        // the final gate: every e-invoice as it will leave, with its real number, wherever it sits
        for (const xml of await carriedXml(document)) {
          const errors = findingsToErrors(await this.gate.findings(xml.content, carried.profile), record.invoice, carried.label);
          if (errors.length)
            throw new FormatError(
              `the ${carried.label} (${xml.where}) fails the official rules: ${errors.map((e) => `[${e.code}] ${e.message}`).join('; ')}`,
              {},
            );
        }
      }
      const timeoutS = Math.round(this.settings.sendTimeoutMs / 1000);
      const outcome = await withTimeout(
        this.transports.for(delivery).send({ delivery, document, invoice: record.invoice }),
        this.settings.sendTimeoutMs,
        () => new TransportError(`no answer from ${targetKey(delivery)} within ${timeoutS} s; the send was abandoned and will be tried again`, false),
      );
      this.durations?.delivered(delivery.transport, 'sent', took());
      const { result, progress } = typeof outcome === 'string' ? { result: outcome, progress: undefined } : outcome;
      await this.record(() => this.ledger.markSent(delivery.id, result, progress), log);
      log.info('delivery sent', { result, attempt: delivery.attempts, ...(progress ? { progress } : {}) });
    } catch (err) {
      if (err instanceof TransportError && !err.permanent && err.retryAfterMs !== undefined) {
        // asked to come back at a time (a daily limit, throttling): not a failure, the attempt does not count
        const at = Date.now() + err.retryAfterMs;
        await this.record(() => this.ledger.markDeferred(delivery.id, errorMessage(err), at), log);
        log.info('delivery waits as the target asked', { reason: errorMessage(err), until: new Date(at).toISOString() });
        return;
      }
      const permanent = err instanceof FormatError || (err instanceof TransportError && err.permanent);
      // a target that is down, a full disk, a server answering 4xx: the environment heals, so the delivery waits for it
      const waits = !permanent && (err instanceof TransportError || failureKind(err) === 'environment');
      const dead = permanent || (!waits && delivery.attempts >= this.settings.maxAttempts);
      const next = Date.now() + retryDelay(delivery.attempts, this.settings.firstRetryAfterMs, this.settings.maxRetryAfterMs);
      const reason = errorMessage(err);
      this.durations?.delivered(delivery.transport, dead ? 'dead' : 'failed', took());
      await this.record(() => this.ledger.markFailed(delivery.id, reason, next, dead), log);
      if (dead) log.error('delivery dead', { error: reason, attempts: delivery.attempts, permanent });
      else
        log.warn('delivery failed, will retry', {
          error: reason,
          attempt: delivery.attempts,
          retryAt: new Date(next).toISOString(),
          waitsForEnvironment: waits,
        });
    }
  }

  /** Stops taking deliveries and waits for those under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.running > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }
}
