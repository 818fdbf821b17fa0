import type { PeppolTargetConfig } from '../config/types.js';
import type { DeliveryProgress } from '../ledger/ledger.js';
import { TransportError, fromEnvironment } from '../transports/transport.js';
import { PARTICIPANT_SCHEME } from './identifiers.js';

/** A document handed to an access point (C2) for one receiver. */
export interface Submission {
  /** our participant id (scheme:id) */
  sender: string;
  /** the receiver's participant id (scheme:id) */
  receiver: string;
  documentType: string;
  process: string;
  document: Buffer;
  /** ours, one per delivery: the same on every attempt, so a provider that knows it can refuse a second copy */
  instanceId: string;
}

/** How far a document got, as the access point tells it. */
export interface SubmissionState {
  /** accepted: the access point took it and sends it on; delivered: the receiver's access point confirmed it */
  state: DeliveryProgress;
  detail: string;
}

/** The access point's answer to a submission. */
export interface SubmissionResult extends SubmissionState {
  /** the provider's id of the message */
  messageId: string;
}

/** One access point API behind one small interface. */
export interface AccessPoint {
  readonly name: string;
  /** whether the API recognises a second submission of the same instance id (so a retry after a crash is safe) */
  readonly idempotent: boolean;
  submit(submission: Submission): Promise<SubmissionResult>;
  /** For an accepted message: has it been delivered since? Only APIs that can tell have it. */
  status?(messageId: string): Promise<SubmissionState>;
}

/** No answer came: the document may or may not have reached the access point. */
export class UncertainSubmissionError extends TransportError {}

const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

async function call(url: string, init: RequestInit, timeoutMs: number, what: string): Promise<{ status: number; text: string }> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') throw new UncertainSubmissionError(`${what} did not answer within ${timeoutMs} ms`, false);
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    const message = `${what} cannot be reached: ${(err as Error).message}${cause ? ` (${cause})` : ''}`;
    // refused or unresolvable: nothing was sent; a connection dropped mid-call may have delivered it
    if (cause && NOT_SENT.has(cause)) throw new TransportError(message, false);
    throw new UncertainSubmissionError(message, false);
  }
  return { status: response.status, text: await response.text() };
}

/** A refusal that cannot heal (bad credentials, a document the API will never take) is permanent; 429 and 5xx wait. */
function httpFailure(what: string, status: number, text: string): TransportError {
  const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
  return new TransportError(`${what} answered HTTP ${status}: ${text.slice(0, 300)}`, permanent);
}

/** "iso6523-actorid-upis::0106:1" → "0106:1": the APIs take the id without its scheme. */
function bareId(id: string): string {
  return id.replace(new RegExp(`^${PARTICIPANT_SCHEME}::`), '');
}

/** What both HTTP adapters share: their target's settings, its token from the environment, one POST that classifies failures. */
abstract class HttpAccessPoint implements AccessPoint {
  abstract readonly idempotent: boolean;
  constructor(
    readonly name: string,
    protected readonly config: PeppolTargetConfig,
  ) {}

  abstract submit(submission: Submission): Promise<SubmissionResult>;

  protected token(): string | undefined {
    return fromEnvironment(this.config.token, `target ${this.name} token`);
  }

  /** POSTs to the API; any answer but 200/201 is a failure, permanent or not by its status. */
  protected async get(path: string, headers: Record<string, string>, what: string): Promise<{ status: number; text: string }> {
    return call(`${this.config.url.replace(/\/+$/, '')}${path}`, { method: 'GET', headers }, this.config.timeoutMs ?? 60_000, what);
  }

  protected async post(path: string, headers: Record<string, string>, body: BodyInit, what: string): Promise<string> {
    const { status, text } = await call(
      `${this.config.url.replace(/\/+$/, '')}${path}`,
      { method: 'POST', headers, body },
      this.config.timeoutMs ?? 60_000,
      what,
    );
    if (status !== 200 && status !== 201) throw httpFailure(what, status, text);
    return text;
  }
}

/**
 * The open-source phase4 Peppol server (phax/phase4-peppol-standalone): POST
 * /sendas4/{sender}/{receiver}/{docType}/{process}/{countryC1} with the XML as the body and the
 * X-Token header; it looks the receiver up, sends over AS4 and answers with a JSON sending report
 * once the receiver's access point has answered. It cannot tell whether it sent something before.
 */
export class Phase4AccessPoint extends HttpAccessPoint {
  readonly idempotent = false;

  async submit(s: Submission): Promise<SubmissionResult> {
    const segments = [s.sender, s.receiver, s.documentType, s.process].map((v) => encodeURIComponent(bareId(v)));
    const token = this.token();
    const text = await this.post(
      `/sendas4/${segments.join('/')}/${this.config.countryC1 ?? 'NL'}`,
      { 'content-type': 'application/xml', ...(token ? { 'x-token': token } : {}) },
      new Uint8Array(s.document),
      `the phase4 access point ${this.name}`,
    );
    let report: Record<string, unknown>;
    try {
      report = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new TransportError(`the phase4 access point ${this.name} answered something that is not its JSON sending report`, false);
    }
    const errors = (report['as4ResponseErrors'] as { description?: string; errorCode?: string; shortDescription?: string }[] | undefined) ?? [];
    if (report['as4ResponseError'] === true || errors.length) {
      // the receiver's access point refused the message: sending it again gives the same answer
      const why = errors.map((e) => [e.errorCode, e.shortDescription, e.description].filter(Boolean).join(' ')).join('; ') || 'no reason given';
      throw new TransportError(`the receiver's access point refused the invoice: ${why}`, true);
    }
    if (report['overallSuccess'] !== true || report['sendingSuccess'] !== true) {
      const exception = (report['sendingException'] as { message?: string } | undefined)?.message;
      throw new TransportError(`phase4 could not send it (${String(report['sendingResult'] ?? 'no result')}${exception ? `: ${exception}` : ''})`, false);
    }
    const messageId = String(report['as4MessageId'] ?? report['sbdhInstanceIdentifier'] ?? s.instanceId);
    return {
      messageId,
      state: 'delivered',
      detail: `delivered to the receiver's access point ${String(report['c3EndpointUrl'] ?? '')} (AS4 message ${messageId})`,
    };
  }
}

/**
 * Storecove's document submissions (https://www.storecove.com/docs/): POST
 * /api/v2/document_submissions with the UBL as raw document data, routed by the receiver's
 * Peppol id; an idempotencyGuid makes a second submission of the same delivery a no-op.
 */
export class StorecoveAccessPoint extends HttpAccessPoint {
  readonly idempotent = true;

  async submit(s: Submission): Promise<SubmissionResult> {
    const [scheme, ...rest] = bareId(s.receiver).split(':');
    const key = this.token();
    const body = {
      legalEntityId: this.config.legalEntityId,
      idempotencyGuid: s.instanceId,
      routing: { eIdentifiers: [{ scheme, id: rest.join(':') }] },
      document: {
        documentType: 'invoice',
        rawDocumentData: { document: s.document.toString('base64'), parse: false, parseStrategy: 'ubl', processId: s.process, documentTypeId: s.documentType },
      },
    };
    const text = await this.post(
      '/api/v2/document_submissions',
      { 'content-type': 'application/json', accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      JSON.stringify(body),
      `Storecove (${this.name})`,
    );
    const guid = (JSON.parse(text) as { guid?: string }).guid;
    if (!guid) throw new TransportError(`Storecove (${this.name}) answered without a submission guid`, false);
    return { messageId: guid, state: 'accepted', detail: `accepted by Storecove for delivery over Peppol (submission ${guid})` };
  }

  /** Storecove's sending evidence exists once the document went over the network (404 while it is still under way). */
  async status(guid: string): Promise<SubmissionState> {
    const key = this.token();
    const what = `Storecove (${this.name})`;
    const { status, text } = await this.get(
      `/api/v2/document_submissions/${encodeURIComponent(guid)}/evidence/sending`,
      {
        accept: 'application/json',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      what,
    );
    if (status === 404) return { state: 'accepted', detail: 'still under way' };
    if (status !== 200) throw httpFailure(what, status, text);
    const evidence = JSON.parse(text) as { receiver?: string; network?: string; evidence?: { message_id?: string } };
    const via = [evidence.network, evidence.receiver && `to ${evidence.receiver}`, evidence.evidence?.message_id && `message ${evidence.evidence.message_id}`]
      .filter(Boolean)
      .join(', ');
    return { state: 'delivered', detail: `delivered over Peppol according to Storecove's sending evidence${via ? ` (${via})` : ''} (submission ${guid})` };
  }
}

/** The adapter a peppol target names. */
export function accessPointFor(name: string, config: PeppolTargetConfig): AccessPoint {
  return config.accessPoint === 'storecove' ? new StorecoveAccessPoint(name, config) : new Phase4AccessPoint(name, config);
}
