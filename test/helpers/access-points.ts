import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a stub does with the next submissions. */
export interface StubBehaviour {
  /** answer 503 to this many submissions first (the provider is down for a while) */
  downFor: number;
  /** take the next submission and never answer it (the gateway is killed meanwhile) */
  hangOnce: boolean;
}

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A stub HTTP server on 127.0.0.1 with the bookkeeping both access point stubs share. */
abstract class StubServer {
  private server?: Server;
  readonly behaviour: StubBehaviour = { downFor: 0, hangOnce: false };
  /** every call, answered or not */
  calls = 0;
  private readonly hanging: ServerResponse[] = [];

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  protected abstract handle(req: IncomingMessage, payload: Buffer, res: ServerResponse): void;

  /** Takes it, and answers never (true) or 503 (true) per the behaviour; false: answer normally. */
  protected interfere(res: ServerResponse, take: () => void): boolean {
    if (this.behaviour.downFor > 0) {
      this.behaviour.downFor--;
      res.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable');
      return true;
    }
    if (this.behaviour.hangOnce) {
      this.behaviour.hangOnce = false;
      take();
      this.hanging.push(res);
      return true;
    }
    return false;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.calls++;
      void body(req).then((payload) => this.handle(req, payload, res));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** One document a phase4 stub took. */
export interface Phase4Sent {
  sender: string;
  receiver: string;
  docType: string;
  process: string;
  country: string;
  xml: string;
}

/**
 * The phase4 Peppol server's sending API as its README documents it: POST
 * /sendas4/{senderId}/{receiverId}/{docTypeId}/{processId}/{countryC1}, the XML as the body, the
 * X-Token header; the answer is its JSON sending report (sendingSuccess, overallSuccess,
 * as4MessageId, as4ResponseErrors).
 */
export class Phase4Stub extends StubServer {
  readonly sent: Phase4Sent[] = [];
  /** receivers whose access point refuses the message (an AS4 error from C3) */
  readonly refusing = new Map<string, string>();

  constructor(readonly token: string) {
    super();
  }

  protected handle(req: IncomingMessage, payload: Buffer, res: ServerResponse): void {
    const m = /^\/sendas4\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)\/([A-Z]{2})$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m) return void res.writeHead(404).end();
    if (req.headers['x-token'] !== this.token) return void res.writeHead(403).end('Forbidden');
    const [sender, receiver, docType, process] = m.slice(1, 5).map((s) => decodeURIComponent(s!));
    const doc: Phase4Sent = { sender: sender!, receiver: receiver!, docType: docType!, process: process!, country: m[5]!, xml: payload.toString('utf-8') };
    if (this.interfere(res, () => this.sent.push(doc))) return;
    this.sent.push(doc);
    const refusal = this.refusing.get(doc.receiver);
    const messageId = `${this.sent.length}@phase4.stub`;
    const report = refusal
      ? {
          sendingResult: 'SUCCESS',
          as4MessageId: messageId,
          as4ResponseError: true,
          as4ResponseErrors: [{ errorCode: 'EBMS:0004', shortDescription: 'Other', description: refusal, severity: 'failure' }],
          sendingSuccess: true,
          overallSuccess: false,
        }
      : {
          sendingResult: 'SUCCESS',
          as4MessageId: messageId,
          c3EndpointUrl: 'https://ap.receiver.test/as4',
          as4ResponseError: false,
          sendingSuccess: true,
          overallSuccess: true,
        };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(report));
  }
}

/** One submission a Storecove stub took. */
export interface StorecoveSubmission {
  guid: string;
  body: {
    legalEntityId: number;
    idempotencyGuid?: string;
    routing: { eIdentifiers: { scheme: string; id: string }[] };
    document: { documentType: string; rawDocumentData: { document: string; parseStrategy: string; processId: string; documentTypeId: string } };
  };
}

/**
 * Storecove's document submission API as its public documentation gives it: POST
 * /api/v2/document_submissions with a Bearer key and a DocumentSubmission body; 200 with the
 * submission's guid. A second POST with the same idempotencyGuid is not processed again.
 */
export class StorecoveStub extends StubServer {
  /** by idempotencyGuid: what was taken (once each) */
  readonly submissions = new Map<string, StorecoveSubmission>();
  /** submissions (by guid) that have gone over the network: their sending evidence exists */
  readonly transmitted = new Set<string>();
  /** POSTs of a document, answered or not (the follow-up's evidence requests are not counted) */
  submitCalls = 0;

  /** Every submission so far has been transmitted. */
  transmitAll(): void {
    for (const s of this.submissions.values()) this.transmitted.add(s.guid);
  }

  constructor(readonly apiKey: string) {
    super();
  }

  protected handle(req: IncomingMessage, payload: Buffer, res: ServerResponse): void {
    if (req.headers['authorization'] !== `Bearer ${this.apiKey}`) return void res.writeHead(401).end();
    const evidence = /^\/api\/v2\/document_submissions\/([^/]+)\/evidence\/sending$/.exec(req.url ?? '');
    if (req.method === 'GET' && evidence) {
      const guid = decodeURIComponent(evidence[1]!);
      if (!this.transmitted.has(guid)) return void res.writeHead(404).end();
      const receiver = [...this.submissions.values()].find((s) => s.guid === guid)?.body.routing.eIdentifiers[0];
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ network: 'peppol', receiver: `${receiver?.scheme}:${receiver?.id}`, evidence: { message_id: `as4-${guid}` } }));
    }
    if (req.method !== 'POST' || req.url !== '/api/v2/document_submissions') return void res.writeHead(404).end();
    this.submitCalls++;
    const parsed = JSON.parse(payload.toString('utf-8')) as StorecoveSubmission['body'];
    if (!parsed.legalEntityId || !parsed.routing?.eIdentifiers?.length || !parsed.document?.rawDocumentData?.document) {
      return void res.writeHead(422, { 'content-type': 'application/json' }).end(JSON.stringify([{ source: 'document', details: 'incomplete' }]));
    }
    const key = parsed.idempotencyGuid ?? `anonymous-${this.calls}`;
    const existing = this.submissions.get(key);
    const take = (): StorecoveSubmission => {
      const made = existing ?? { guid: `sc-${this.submissions.size + 1}-${key.slice(0, 8)}`, body: parsed };
      this.submissions.set(key, made);
      return made;
    };
    if (this.interfere(res, () => void take())) return;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ guid: take().guid }));
  }
}
