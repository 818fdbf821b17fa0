import type { GatewayConfig } from '../config/load.js';
import { RuleError, type GatewayError } from '../errors.js';
import type { InvoiceRecord, Ledger } from '../ledger/ledger.js';
import type { CalculatedInvoice } from '../model/invoice.js';
import { checkPlausible } from '../model/limits.js';
import type { Delivery } from '../routing/route.js';
import type { UblGate } from '../validation/gate.js';
import { PeppolDirectory } from '../peppol/lookup.js';
import { choosePeppolRoutes } from '../peppol/route-choice.js';
import { asIssuedToday, holdFor, sendRuleFor } from './hold.js';
import type { PreparedInvoice } from './prepare.js';

/** What became of a held invoice whose moment came. */
export type HeldOutcome = { status: 'issued'; number: string } | { status: 'rejected'; errors: GatewayError[] } | { status: 'gone' };

/**
 * The one issuing step every mode goes through (the file path, run-once, dry-run, deferred
 * invoices and status updates): check → validate for each route → number → store. Dry-run is
 * this step with storing switched off, so its verdict is the service's verdict.
 */
export class Issuer {
  private readonly sendRules: Map<string, GatewayConfig['mappings'][number]['definition']['send']>;

  private ownDirectory?: PeppolDirectory;

  constructor(
    private readonly config: GatewayConfig,
    private readonly gate: UblGate | undefined,
    private readonly clock: () => Date = () => new Date(),
    /** the service's Peppol directory (answers kept in the ledger); else one of its own */
    private readonly peppolDirectory?: () => PeppolDirectory,
  ) {
    this.sendRules = new Map(config.mappings.map((m) => [m.name, m.definition.send]));
  }

  private directory(): PeppolDirectory {
    if (this.peppolDirectory) return this.peppolDirectory();
    this.ownDirectory ??= new PeppolDirectory(this.config.service.peppol);
    return this.ownDirectory;
  }

  /** The send rule of an invoice: its mapping's, else its routes'. */
  sendRuleOf(item: PreparedInvoice & { ok: true }): ReturnType<typeof sendRuleFor> {
    return sendRuleFor(this.sendRules.get(item.mapping), item.deliveries);
  }

  /** Whether an invoice of this mapping is held back now (checked again, in full, when it is issued). */
  holdOf(item: PreparedInvoice & { ok: true }): ReturnType<typeof holdFor> {
    return holdFor(this.sendRuleOf(item), item.invoice, this.clock());
  }

  /**
   * Every check an invoice must pass before it may take a number; a failure turns it into a
   * rejected item. A held invoice is checked for plausibility now and against the official rules
   * when it is issued, with the content it has then.
   */
  async check(prepared: PreparedInvoice): Promise<PreparedInvoice> {
    if (!prepared.ok) return prepared;
    const item = { ...prepared, deliveries: await choosePeppolRoutes(prepared.invoice, prepared.deliveries, () => this.directory()) };
    const errors = await this.errorsOf(item.invoice, item.deliveries, { held: this.holdOf(item) !== undefined });
    if (!errors.length) return item;
    return {
      ok: false,
      key: item.key,
      mapping: item.mapping,
      ...(item.attachment ? { attachment: item.attachment } : {}),
      source: item.invoice.meta.source,
      errors,
    };
  }

  /** The errors that keep an invoice from being numbered (empty when it may be issued). */
  async errorsOf(invoice: CalculatedInvoice, deliveries: Delivery[], options: { held?: boolean } = {}): Promise<GatewayError[]> {
    const errors: GatewayError[] = checkPlausible(invoice, this.config.service.limits, this.clock()).map(
      (v) =>
        new RuleError(
          v.message,
          {
            file: invoice.meta.sourceFile,
            line: invoice.meta.source.line,
            path: invoice.meta.source.path,
            field: v.field,
          },
          v.rule,
        ),
    );
    if (errors.length || options.held || !this.gate) return errors;
    return this.gate.check(invoice, deliveries);
  }

  /**
   * Issues a held invoice now (deferred time reached, or its order reached its status): dated
   * today and checked like any other invoice first; an invoice the rules refuse takes no number.
   */
  async issueHeld(ledger: Ledger, held: InvoiceRecord, invoice: CalculatedInvoice, deliveries: Delivery[]): Promise<HeldOutcome> {
    const dated = asIssuedToday(invoice, this.clock());
    const errors = await this.errorsOf(dated, deliveries);
    if (errors.length) return { status: 'rejected', errors };
    const issued = await ledger.issueHeld(held.id, dated, deliveries);
    return issued ? { status: 'issued', number: issued.number } : { status: 'gone' };
  }
}
