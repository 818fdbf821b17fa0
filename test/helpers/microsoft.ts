import { constants, createPublicKey, randomUUID, verify, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { selfSignedCertificate } from './tls.js';

/**
 * A local HTTPS stand-in for Microsoft Entra ID (the v2.0 token endpoint, client-credentials flow)
 * and Microsoft Graph's mail API, written from Microsoft's public documentation:
 * - identity: GET /{tenant}/v2.0/.well-known/openid-configuration, POST /{tenant}/oauth2/v2.0/token
 *   (client_secret, or a client_assertion JWT signed with the app's certificate, RS256 or PS256);
 *   unknown client or wrong secret: 401 invalid_client with its AADSTS code;
 * - Graph v1.0 under /users/{mailbox}: POST messages (a draft; internetMessageId settable while it
 *   is one), POST messages/{id}/attachments, POST messages/{id}/attachments/createUploadSession
 *   and the PUT of chunks to its uploadUrl (no Authorization header; multiples of 320 KiB;
 *   Content-Range), POST messages/{id}/send (202; the message moves to Sent Items), GET
 *   mailFolders/{SentItems|Drafts}/messages?$filter=internetMessageId eq '…', GET
 *   messages/{id}/attachments, DELETE messages/{id}; requests over 4 MB: 413; a mailbox the app may
 *   not use: 403 ErrorAccessDenied; an expired token: 401 InvalidAuthenticationToken; throttling:
 *   429 with Retry-After.
 */
export interface MicrosoftStub {
  /** https://127.0.0.1:port */
  base: string;
  /** the stub's self-signed certificate (PEM file): the gateway's caFile */
  caFile: string;
  tenant: string;
  clientId: string;
  clientSecret: string;
  /** mailboxes the app may use (an application access policy); others answer 403 */
  mailboxes: Set<string>;
  /** tokens issued, and how many token requests came */
  tokenRequests: number;
  /** every Graph request: method, path, status */
  requests: { method: string; path: string; status: number }[];
  /** messages per mailbox folder */
  folders: Map<string, StubMessage[]>;
  /** messages sent (what the recipients get), in order */
  sent: StubMessage[];
  /** mail that arrived in a mailbox's inbox: its MIME source, and the extended properties the app set on it */
  inbox: Map<string, InboxMessage[]>;
  /** a message arrives in the mailbox's inbox (a bounce Exchange made, a customer's reply) */
  deliver(mailbox: string, raw: string): void;
  /** the next `count` Graph requests answer 429 with Retry-After `seconds` */
  throttle(count: number, seconds: number): void;
  /** every token issued so far stops working (they expired) */
  expireTokens(): void;
  /** called when a message is sent, before the 202 goes out */
  onSend?: (message: StubMessage) => void;
  /** the app's certificate (PEM) for sign-in with a client assertion */
  registerCertificate(pem: string): void;
  close(): Promise<void>;
}

export interface StubMessage {
  id: string;
  mailbox: string;
  folder: 'Drafts' | 'SentItems';
  internetMessageId: string;
  subject: string;
  body: { contentType: string; content: string };
  toRecipients: { emailAddress: { address: string; name?: string } }[];
  bccRecipients?: { emailAddress: { address: string } }[];
  replyTo?: { emailAddress: { address: string } }[];
  attachments: { id: string; name: string; contentType: string; content: Buffer }[];
  /** attachments uploaded in chunks through an upload session */
  uploadedInChunks: number;
  /** when it was sent (epoch ms) */
  sentAt?: number;
}

export interface InboxMessage {
  id: string;
  receivedDateTime: string;
  raw: Buffer;
  /** singleValueExtendedProperties by id */
  properties: Map<string, string>;
  /** what Outlook shows as read */
  isRead: boolean;
}

/** The app's ids and secret as an operator gives them: in the environment, never in the YAML. */
export function signInEnv(ms: MicrosoftStub): Record<string, string> {
  return { M365_TENANT_ID: ms.tenant, M365_CLIENT_ID: ms.clientId, M365_CLIENT_SECRET: ms.clientSecret };
}

/** A graph target in gateway.yaml that sends from `mailbox` through the stub, signed in from signInEnv. */
export function stubGraphTarget(ms: MicrosoftStub, mailbox: string): Record<string, unknown> {
  return {
    kind: 'graph',
    mailbox,
    tenant: '${M365_TENANT_ID}',
    clientId: '${M365_CLIENT_ID}',
    clientSecret: '${M365_CLIENT_SECRET}',
    authorityHost: ms.base,
    graphEndpoint: ms.base,
    caFile: ms.caFile,
  };
}

const GRAPH_LIMIT = 4 * 1024 * 1024;
const CHUNK_UNIT = 320 * 1024;

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function b64url(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** Starts the stub on a loopback port. */
export async function startMicrosoftStub(): Promise<MicrosoftStub> {
  const tls = selfSignedCertificate();
  const tokens = new Set<string>();
  let throttled = 0;
  let retryAfter = 1;
  const certificates: X509Certificate[] = [];
  const uploads = new Map<string, { messageId: string; name: string; contentType: string; size: number; parts: Buffer[]; received: number }>();
  const stub: MicrosoftStub = {
    base: '',
    caFile: tls.cert,
    tenant: 'contoso-tenant-id',
    clientId: '11111111-2222-3333-4444-555555555555',
    clientSecret: 'stub-secret-value',
    mailboxes: new Set(['facturen@devries-kantoor.nl']),
    tokenRequests: 0,
    requests: [],
    folders: new Map(),
    sent: [],
    inbox: new Map(),
    deliver(mailbox, raw) {
      const list = stub.inbox.get(mailbox.toLowerCase()) ?? [];
      list.push({
        id: randomUUID(),
        receivedDateTime: new Date().toISOString(),
        raw: Buffer.from(raw.replace(/\r?\n/g, '\r\n')),
        properties: new Map(),
        isRead: false,
      });
      stub.inbox.set(mailbox.toLowerCase(), list);
    },
    throttle(count, seconds) {
      throttled = count;
      retryAfter = seconds;
    },
    expireTokens() {
      tokens.clear();
    },
    registerCertificate(pem) {
      certificates.push(new X509Certificate(pem));
    },
    close: async () => undefined,
  };
  const folder = (mailbox: string, name: string): StubMessage[] => {
    const key = `${mailbox}|${name}`;
    if (!stub.folders.has(key)) stub.folders.set(key, []);
    return stub.folders.get(key)!;
  };
  const findMessage = (mailbox: string, id: string): StubMessage | undefined =>
    [...folder(mailbox, 'Drafts'), ...folder(mailbox, 'SentItems')].find((m) => m.id === id);

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
  const graphError = (res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void =>
    json(res, status, { error: { code, message, innerError: { 'request-id': randomUUID(), date: new Date().toISOString() } } }, headers);

  /** The client assertion (RFC 7523): signed with a registered certificate's key, for this client and endpoint. */
  const assertionValid = (jwt: string, audience: string): boolean => {
    const [h, p, s] = jwt.split('.');
    if (!h || !p || !s) return false;
    const header = JSON.parse(b64url(h).toString()) as { alg: string };
    const claims = JSON.parse(b64url(p).toString()) as { aud: string; iss: string; sub: string; exp: number };
    if (claims.iss !== stub.clientId || claims.sub !== stub.clientId || claims.aud !== audience || claims.exp * 1000 < Date.now()) return false;
    return certificates.some((cert) => {
      const key = createPublicKey(cert.publicKey.export({ type: 'spki', format: 'pem' }));
      const data = Buffer.from(`${h}.${p}`);
      if (header.alg === 'PS256') return verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, b64url(s));
      if (header.alg === 'RS256') return verify('sha256', data, key, b64url(s));
      return false;
    });
  };

  const identity = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const tenantBase = `${stub.base}/${stub.tenant}`;
    if (req.method === 'GET' && path.startsWith(`/${stub.tenant}/`) && path.endsWith('/.well-known/openid-configuration')) {
      json(res, 200, {
        token_endpoint: `${tenantBase}/oauth2/v2.0/token`,
        authorization_endpoint: `${tenantBase}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${tenantBase}/oauth2/v2.0/logout`,
        issuer: `${tenantBase}/v2.0`,
        jwks_uri: `${tenantBase}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
      });
      return;
    }
    if (req.method === 'POST' && path === `/${stub.tenant}/oauth2/v2.0/token`) {
      stub.tokenRequests++;
      const form = new URLSearchParams((await bodyOf(req)).toString());
      const refuse = (code: number, text: string): void =>
        json(res, 401, { error: 'invalid_client', error_description: `AADSTS${code}: ${text}`, error_codes: [code], timestamp: new Date().toISOString() });
      if (form.get('grant_type') !== 'client_credentials') return json(res, 400, { error: 'unsupported_grant_type', error_description: 'AADSTS70003' });
      if (form.get('client_id') !== stub.clientId)
        return refuse(700016, `Application with identifier '${form.get('client_id')}' was not found in the directory.`);
      const secret = form.get('client_secret');
      const assertion = form.get('client_assertion');
      const ok = secret ? secret === stub.clientSecret : assertion ? assertionValid(assertion, `${tenantBase}/oauth2/v2.0/token`) : false;
      if (!ok) return refuse(7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.');
      if (!/\/\.default$/.test(form.get('scope') ?? '')) return json(res, 400, { error: 'invalid_scope', error_description: 'AADSTS1002012' });
      const token = `stub-${randomUUID()}`;
      tokens.add(token);
      json(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
      return;
    }
    json(res, 404, { error: 'not_found' });
  };

  const graph = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const path = decodeURIComponent(url.pathname);
    const record = (status: number): void => void stub.requests.push({ method: req.method ?? '', path: url.pathname, status });
    // the upload URL carries its own authorisation: a bearer token with it is refused, as Graph documents
    const upload = /^\/upload\/([^/]+)$/.exec(url.pathname);
    if (upload) {
      const session = uploads.get(upload[1]!);
      if (req.headers.authorization) return (record(401), graphError(res, 401, 'InvalidAuthenticationToken', 'No Authorization header with an upload URL'));
      if (!session || req.method !== 'PUT') return (record(404), graphError(res, 404, 'ErrorItemNotFound', 'no such upload session'));
      const body = await bodyOf(req);
      const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(req.headers['content-range'] ?? ''));
      const start = Number(range?.[1]);
      const end = Number(range?.[2]);
      const last = end + 1 === session.size;
      if (
        !range ||
        start !== session.received ||
        end - start + 1 !== body.length ||
        (!last && body.length % CHUNK_UNIT !== 0) ||
        body.length > 60 * 1024 * 1024
      )
        return (record(416), graphError(res, 416, 'InvalidRange', `expected bytes ${session.received}- in multiples of 320 KiB`));
      session.parts.push(body);
      session.received += body.length;
      if (!last)
        return (
          record(200),
          json(res, 200, { expirationDateTime: new Date(Date.now() + 3600_000).toISOString(), nextExpectedRanges: [`${session.received}-`] })
        );
      uploads.delete(upload[1]!);
      const [mailbox, messageId] = session.messageId.split('|') as [string, string];
      const message = findMessage(mailbox, messageId);
      message?.attachments.push({ id: randomUUID(), name: session.name, contentType: session.contentType, content: Buffer.concat(session.parts) });
      if (message) message.uploadedInChunks++;
      record(201);
      return json(res, 201, undefined);
    }
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!auth || !tokens.has(auth[1]!))
      return (record(401), graphError(res, 401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.'));
    if (throttled > 0) {
      throttled--;
      record(429);
      return graphError(res, 429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', { 'retry-after': String(retryAfter) });
    }
    const m = /^\/v1\.0\/users\/([^/]+)(\/.*)$/.exec(path);
    if (!m) return (record(404), graphError(res, 404, 'ResourceNotFound', 'unknown resource'));
    const mailbox = m[1]!.toLowerCase();
    const rest = m[2]!;
    if (!stub.mailboxes.has(mailbox))
      return (
        record(403),
        graphError(res, 403, 'ErrorAccessDenied', 'Access to OData is disabled: the application access policy does not include this mailbox.')
      );
    const body = req.method === 'POST' || req.method === 'PATCH' ? await bodyOf(req) : Buffer.alloc(0);
    if (body.length > GRAPH_LIMIT) return (record(413), graphError(res, 413, 'RequestEntityTooLarge', 'The request exceeds the 4 MB limit.'));
    const parsed = body.length ? (JSON.parse(body.toString()) as Record<string, unknown>) : {};
    let r: RegExpExecArray | null;
    if (req.method === 'POST' && rest === '/messages') {
      const attachments = ((parsed['attachments'] as { name: string; contentType: string; contentBytes: string }[] | undefined) ?? []).map((a) => ({
        id: randomUUID(),
        name: a.name,
        contentType: a.contentType,
        content: Buffer.from(a.contentBytes, 'base64'),
      }));
      const message: StubMessage = {
        id: randomUUID(),
        mailbox,
        folder: 'Drafts',
        internetMessageId: (parsed['internetMessageId'] as string | undefined) ?? `<${randomUUID()}@stub.outlook.com>`,
        subject: parsed['subject'] as string,
        body: parsed['body'] as StubMessage['body'],
        toRecipients: parsed['toRecipients'] as StubMessage['toRecipients'],
        ...(parsed['bccRecipients'] ? { bccRecipients: parsed['bccRecipients'] as StubMessage['bccRecipients'] } : {}),
        ...(parsed['replyTo'] ? { replyTo: parsed['replyTo'] as StubMessage['replyTo'] } : {}),
        attachments,
        uploadedInChunks: 0,
      };
      folder(mailbox, 'Drafts').push(message);
      record(201);
      return json(res, 201, { id: message.id, isDraft: true, internetMessageId: message.internetMessageId });
    }
    if ((r = /^\/messages\/([^/]+)\/attachments\/createUploadSession$/.exec(rest)) && req.method === 'POST') {
      const message = findMessage(mailbox, r[1]!);
      if (!message) return (record(404), graphError(res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.'));
      const item = parsed['AttachmentItem'] as { name: string; size: number; contentType?: string };
      const id = randomUUID();
      uploads.set(id, {
        messageId: `${mailbox}|${message.id}`,
        name: item.name,
        contentType: item.contentType ?? 'application/octet-stream',
        size: item.size,
        parts: [],
        received: 0,
      });
      record(201);
      return json(res, 201, {
        uploadUrl: `${stub.base}/upload/${id}`,
        expirationDateTime: new Date(Date.now() + 3600_000).toISOString(),
        nextExpectedRanges: ['0-'],
      });
    }
    if ((r = /^\/messages\/([^/]+)\/attachments$/.exec(rest))) {
      const message = findMessage(mailbox, r[1]!);
      if (!message) return (record(404), graphError(res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.'));
      if (req.method === 'GET')
        return (record(200), json(res, 200, { value: message.attachments.map((a) => ({ id: a.id, name: a.name, size: a.content.length + 200 })) }));
      const a = parsed as { name: string; contentType: string; contentBytes: string };
      message.attachments.push({ id: randomUUID(), name: a.name, contentType: a.contentType, content: Buffer.from(a.contentBytes, 'base64') });
      record(201);
      return json(res, 201, { id: message.attachments.at(-1)!.id });
    }
    if ((r = /^\/messages\/([^/]+)\/send$/.exec(rest)) && req.method === 'POST') {
      const drafts = folder(mailbox, 'Drafts');
      const at = drafts.findIndex((d) => d.id === r![1]);
      if (at < 0) return (record(404), graphError(res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.'));
      const [message] = drafts.splice(at, 1);
      message!.folder = 'SentItems';
      folder(mailbox, 'SentItems').push(message!);
      message!.sentAt = Date.now();
      stub.sent.push(message!);
      stub.onSend?.(message!);
      record(202);
      return json(res, 202, undefined);
    }
    if ((r = /^\/messages\/([^/]+)$/.exec(rest)) && req.method === 'DELETE') {
      const drafts = folder(mailbox, 'Drafts');
      const at = drafts.findIndex((d) => d.id === r![1]);
      if (at < 0) return (record(404), graphError(res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.'));
      drafts.splice(at, 1);
      record(204);
      return json(res, 204, undefined);
    }
    // the inbox, as Graph lists it: $filter on receivedDateTime, our extended property expanded where set, pages of $top
    if (/^\/mailFolders\/inbox\/messages$/i.test(rest) && req.method === 'GET') {
      const since = /^receivedDateTime ge (\S+)$/.exec(url.searchParams.get('$filter') ?? '')?.[1];
      const expand = /^singleValueExtendedProperties\(\$filter=id eq '((?:[^']|'')*)'\)$/.exec(url.searchParams.get('$expand') ?? '')?.[1]?.replace(/''/g, "'");
      const top = Number(url.searchParams.get('$top') ?? 10);
      const skip = Number(url.searchParams.get('$skip') ?? 0);
      const all = (stub.inbox.get(mailbox) ?? []).filter((x) => !since || x.receivedDateTime >= since);
      const page = all.slice(skip, skip + top).map((x) => {
        const value = expand === undefined ? undefined : [...x.properties].find(([id]) => id.toLowerCase() === expand.toLowerCase());
        return { id: x.id, receivedDateTime: x.receivedDateTime, ...(value ? { singleValueExtendedProperties: [{ id: value[0], value: value[1] }] } : {}) };
      });
      const next = new URL(url);
      next.searchParams.set('$skip', String(skip + top));
      record(200);
      return json(res, 200, { value: page, ...(skip + top < all.length ? { '@odata.nextLink': next.toString() } : {}) });
    }
    const inboxMessage = (id: string) => (stub.inbox.get(mailbox) ?? []).find((x) => x.id === id);
    if ((r = /^\/messages\/([^/]+)\/\$value$/.exec(rest)) && req.method === 'GET') {
      const message = inboxMessage(r[1]!);
      if (!message) return (record(404), graphError(res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.'));
      record(200);
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end(message.raw);
    }
    if ((r = /^\/messages\/([^/]+)$/.exec(rest)) && req.method === 'PATCH') {
      const message = inboxMessage(r[1]!);
      if (!message) return (record(404), graphError(res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.'));
      for (const p of (parsed['singleValueExtendedProperties'] as { id: string; value: string }[] | undefined) ?? []) message.properties.set(p.id, p.value);
      if (typeof parsed['isRead'] === 'boolean') message.isRead = parsed['isRead'];
      record(200);
      return json(res, 200, { id: message.id });
    }
    if ((r = /^\/mailFolders\/(SentItems|Drafts)\/messages$/.exec(rest)) && req.method === 'GET') {
      const filter = /^internetMessageId eq '((?:[^']|'')*)'$/.exec(url.searchParams.get('$filter') ?? '');
      const wanted = filter?.[1]?.replace(/''/g, "'");
      const found = folder(mailbox, r[1]!).filter((x) => wanted === undefined || x.internetMessageId === wanted);
      record(200);
      return json(res, 200, { value: found.map((x) => ({ id: x.id, isDraft: x.folder === 'Drafts' })) });
    }
    if ((r = /^\/mailFolders\/(SentItems|Drafts)$/.exec(rest)) && req.method === 'GET')
      return (record(200), json(res, 200, { id: r[1], displayName: r[1] === 'SentItems' ? 'Sent Items' : 'Drafts' }));
    record(400);
    return graphError(res, 400, 'BadRequest', `unsupported in the stub: ${req.method} ${rest}`);
  };

  const server = createServer({ key: readFileSync(tls.key), cert: readFileSync(tls.cert) }, (req, res) => {
    const url = new URL(req.url ?? '/', stub.base);
    const handled = url.pathname.startsWith('/v1.0/') || url.pathname.startsWith('/upload/') ? graph(req, res, url) : identity(req, res, url.pathname);
    handled.catch((err: Error) => {
      if (!res.headersSent) json(res, 500, { error: { code: 'stub', message: err.message } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return stub;
}
