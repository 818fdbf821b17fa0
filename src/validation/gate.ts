import { EnvironmentError, GatewayError, RuleError } from '../errors.js';
import { carriedEInvoice, type CarriedEInvoice } from '../formats/carried-xml.js';
import { CiiCannotCarry } from '../formats/cii/write.js';
import { numbered } from '../ledger/keys.js';
import type { CalculatedInvoice } from '../model/invoice.js';
import type { Delivery } from '../routing/route.js';
import type { DurationObserver } from '../observability/metrics.js';
import type { Logger } from '../observability/log.js';
import type { Finding, ProfileName, ValidationEngine } from './engine.js';
import { createEngine } from './index.js';

/** Findings as errors for an error report, at the invoice's place in its file. */
export function findingsToErrors(findings: Finding[], invoice: CalculatedInvoice, what: string): RuleError[] {
  return findings
    .filter((f) => f.severity === 'fatal')
    .map(
      (f) =>
        new RuleError(
          `${what}: ${f.message}${f.location ? ` (at ${f.location})` : ''}`,
          {
            file: invoice.meta.sourceFile,
            line: invoice.meta.source.line,
            path: invoice.meta.source.path,
          },
          f.rule,
        ),
    );
}

/**
 * Nothing leaves as UBL unless the official rules accept it: each invoice with a UBL route is
 * written and validated before it gets a number (with a provisional one), and again when sent.
 */
export class UblGate {
  private engine?: ValidationEngine;

  constructor(
    private readonly log: Logger,
    /** told how long each validation took (the metrics); set once the service has them */
    public durations?: Pick<DurationObserver, 'validated'>,
    /** the engine to use, Saxon-HE's jar, and how long a helper may keep a request waiting without a sign of life */
    private readonly settings: { engine?: 'auto' | 'jvm' | 'saxon-js'; saxonJar?: string; requestTimeoutMs?: number } = {},
  ) {}

  /** The engine, started on first use (a JVM pool, or SaxonJS where Java is missing). */
  validator(): ValidationEngine {
    if (!this.engine) {
      const { engine: prefer, ...options } = this.settings;
      const { engine, why } = createEngine(prefer, options);
      this.engine = engine;
      this.log.info('UBL validation engine started', { engine: engine.name, why });
    }
    return this.engine;
  }

  /** Fatal findings of every e-invoice (UBL profile, CII) the invoice's routes send (empty when none or all pass). */
  async check(invoice: CalculatedInvoice, deliveries: Delivery[]): Promise<RuleError[]> {
    // every e-invoice that leaves, wherever it sits: sent as UBL or CII, embedded in a hybrid PDF, attached to a mail
    const carried = new Map<string, CarriedEInvoice>();
    for (const d of deliveries) {
      const e = carriedEInvoice(d, invoice);
      if (e) carried.set(e.label, e);
    }
    if (!carried.size) return [];
    // written as it will be numbered: a provisional number, and the payment reference the ledger will give it
    const provisional: CalculatedInvoice = invoice.number ? invoice : numbered(invoice, 'PROVISIONAL-1');
    const errors: RuleError[] = [];
    for (const e of carried.values()) {
      let document: string;
      try {
        document = e.write(provisional);
      } catch (err) {
        // a syntax that cannot carry this invoice whole: refused before it takes a number, never cut
        if (!(err instanceof CiiCannotCarry)) throw err;
        errors.push(
          new RuleError(err.message, { file: invoice.meta.sourceFile, line: invoice.meta.source.line, path: invoice.meta.source.path }, 'GW-CII-CARRY'),
        );
        continue;
      }
      errors.push(...findingsToErrors(await this.findings(document, e.profile), invoice, e.label));
    }
    return errors;
  }

  /** Validates an e-invoice (UBL or CII); an engine that cannot run is an EnvironmentError (what waits for it is not to blame). */
  async findings(document: Buffer | string, profile: string): Promise<Finding[]> {
    try {
      const started = performance.now();
      const findings = await this.validator().validate(document, profile as ProfileName);
      this.durations?.validated(profile, (performance.now() - started) / 1000);
      return findings;
    } catch (err) {
      // the engine never throws for a bad document: this is the installation
      if (err instanceof EnvironmentError) throw err;
      throw new EnvironmentError(
        `the UBL validation cannot run (${err instanceof GatewayError ? err.describe() : (err as Error).message}); invoices with a UBL route wait until it can`,
        {},
      );
    }
  }

  /**
   * Starts the engine and waits until it answers (a cold JVM takes seconds, on a loaded machine
   * tens of seconds), so that the files of a starting node are not counted against a node that is
   * not yet able to work. False when it did not answer within the limit.
   */
  async warmUp(timeoutMs?: number): Promise<boolean> {
    const engine = this.validator();
    return engine.warmedUp ? engine.warmedUp(timeoutMs) : true;
  }

  /** Whether the engine has been started (the stop need not wait for one that never ran). */
  get started(): boolean {
    return this.engine !== undefined;
  }

  async close(): Promise<void> {
    await this.engine?.close();
  }
}
