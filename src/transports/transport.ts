import { processEnvironment } from '../environment.js';
import { GatewayError } from '../errors.js';
import type { RenderedDocument } from '../formats/document.js';
import type { DeliveryProgress, DeliveryRecord } from '../ledger/ledger.js';
import type { CalculatedInvoice } from '../model/invoice.js';

/** A failed send: permanent failures (authentication, refused address) are not retried. */
export class TransportError extends GatewayError {
  constructor(
    message: string,
    readonly permanent: boolean,
    location = {},
    /** the service asked us to come back this much later (HTTP 429 Retry-After): the next try waits that long */
    readonly retryAfterMs?: number,
  ) {
    super(message, location);
  }
}

/** What a transport is asked to deliver. */
export interface SendRequest {
  delivery: DeliveryRecord;
  document: RenderedDocument;
  invoice: CalculatedInvoice;
}

/** A send's short result for the ledger, and how far the document got where the transport can tell (Peppol). */
export interface SendOutcome {
  result: string;
  progress?: DeliveryProgress;
}

/** The only code that talks to the outside: takes a rendered document to its target. */
export interface Transport {
  /** Delivers; returns a short result for the ledger (path, message id). Idempotent by delivery.idempotencyKey. */
  send(request: SendRequest): Promise<string | SendOutcome>;
  close(): Promise<void>;
}

/** Replaces ${NAME} with the environment variable, so secrets never live in YAML. */
export function fromEnvironment(value: string | undefined, what: string): string | undefined {
  if (value === undefined) return undefined;
  return value.replace(/\$\{([A-Z0-9_]+)\}/g, (_m, name: string) => {
    const v = processEnvironment().variable(name);
    if (v === undefined) throw new TransportError(`${what} refers to environment variable ${name}, which is not set`, true);
    return v;
  });
}
