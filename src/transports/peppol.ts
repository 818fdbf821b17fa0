import { createHash } from 'node:crypto';
import type { PeppolTargetConfig } from '../config/types.js';
import { EnvironmentError, errorMessage } from '../errors.js';
import type { PeppolBook } from '../ledger/ledger.js';
import { isCreditNote, type CalculatedInvoice } from '../model/invoice.js';
import { accessPointFor, UncertainSubmissionError, type AccessPoint, type SubmissionState } from '../peppol/access-points.js';
import { BILLING_PROCESS, DOCUMENT_TYPES, type PeppolDocumentKind } from '../peppol/identifiers.js';
import type { PeppolDirectory } from '../peppol/lookup.js';
import { TransportError, type SendOutcome, type SendRequest, type Transport } from './transport.js';

/** The start of the reason a delivery stops when an earlier attempt may have gone through. */
export const UNCERTAIN = 'an earlier attempt may have reached';
/** An accepted message not delivered within this time is no longer asked about (the console shows it as accepted). */
const FOLLOW_UP_FOR_MS = 14 * 86_400_000;

/** An accepted message the gateway asks about again. */
export interface FollowUpEntry {
  deliveryId: number;
  target: string;
  messageId: string;
  instanceId: string;
}

/** The buyer's Peppol id: the route's, else the invoice's buyer endpoint (BT-49, "scheme:id"). */
export function receiverOf(invoice: CalculatedInvoice, participant: string | undefined): string | undefined {
  if (participant) return participant;
  const endpoint = invoice.buyer.endpoint;
  return endpoint?.id && endpoint.scheme ? `${endpoint.scheme}:${endpoint.id}` : undefined;
}

/** Invoice or credit note, as Peppol tells them apart. */
export function documentKindOf(invoice: CalculatedInvoice): PeppolDocumentKind {
  return isCreditNote(invoice) ? 'credit-note' : 'invoice';
}

/** Our instance id of a delivery (a UUID from its idempotency key): the same on every attempt. */
export function instanceIdOf(idempotencyKey: string): string {
  const h = createHash('sha256').update(idempotencyKey).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Delivers UBL over Peppol through an access point: the receiver is looked up first (can it take
 * this document type?), then the document is submitted with our instance id. A marker in the
 * ledger, written before the call, tells a later attempt that a submission may have gone out:
 * an API that knows the instance id is simply asked again; one that does not stops the delivery
 * with that reason instead of risking a second invoice.
 */
export class PeppolTransport implements Transport {
  private readonly accessPoint: AccessPoint;

  constructor(
    private readonly name: string,
    private readonly config: PeppolTargetConfig,
    private readonly directory: PeppolDirectory,
    private readonly book: PeppolBook,
  ) {
    this.accessPoint = accessPointFor(name, config);
  }

  async send({ delivery, document, invoice }: SendRequest): Promise<SendOutcome> {
    const receiver = receiverOf(invoice, delivery.options.participant);
    if (!receiver) throw new TransportError("the buyer has no Peppol id: map the buyer endpoint (BT-49, scheme and id) or set the route's participant", true);
    const kind = documentKindOf(invoice);
    let found;
    try {
      found = await this.directory.lookup(receiver, kind);
    } catch (err) {
      if (err instanceof EnvironmentError) throw new TransportError(errorMessage(err), false);
      throw new TransportError(errorMessage(err), true);
    }
    if (found.answer !== 'yes') throw new TransportError(`cannot go over Peppol: ${found.reason}`, true);
    const instanceId = instanceIdOf(delivery.idempotencyKey);
    const previous = await this.book.submission(instanceId);
    if (previous?.startsWith('done:')) return doneOutcome(previous);
    if (previous === 'submitting' && !this.accessPoint.idempotent && !delivery.lastError?.startsWith(UNCERTAIN)) {
      throw new TransportError(
        `${UNCERTAIN} ${this.accessPoint.name} before the gateway stopped, and this access point cannot tell whether it did (instance ${instanceId}). Check its log; "invoice-gateway retry ${delivery.id}" sends it again`,
        true,
      );
    }
    await this.book.recordSubmission(instanceId, 'submitting');
    let outcome: SendOutcome;
    try {
      const result = await this.accessPoint.submit({
        sender: this.config.sender ?? '',
        receiver,
        documentType: DOCUMENT_TYPES[kind],
        process: BILLING_PROCESS,
        document: document.content,
        instanceId,
      });
      outcome = { result: `${result.detail}; instance ${instanceId}`, progress: result.state };
      if (result.state === 'accepted' && this.accessPoint.status) {
        // asked again later (PeppolFollowUp) until the access point says it was delivered
        const entry: FollowUpEntry = { deliveryId: delivery.id, target: this.name, messageId: result.messageId, instanceId };
        await this.book.addFollowUp(delivery.id, JSON.stringify(entry), Date.now() + FOLLOW_UP_FOR_MS);
      }
    } catch (err) {
      // an answer that refused it means nothing went out; only an unanswered call leaves the doubt
      if (!(err instanceof UncertainSubmissionError)) await this.book.recordSubmission(instanceId, 'failed');
      throw err;
    }
    await this.book.recordSubmission(instanceId, `done:${JSON.stringify(outcome)}`);
    return outcome;
  }

  /** Asks the access point what became of an accepted message (undefined: this API cannot tell). */
  async followUp(messageId: string): Promise<SubmissionState | undefined> {
    return this.accessPoint.status?.(messageId);
  }

  async close(): Promise<void> {
    // nothing held open: each submission is one HTTP call
  }
}

/** The outcome kept in a submission marker ("done:" and the outcome as JSON), read back after a crash. */
function doneOutcome(marker: string): SendOutcome {
  try {
    return JSON.parse(marker.slice(5)) as SendOutcome;
  } catch {
    // a marker written before outcomes carried their stage held the result text alone
    return { result: marker.slice(5) };
  }
}
