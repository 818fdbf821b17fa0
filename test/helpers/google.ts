import { generateKeyPairSync, randomUUID, verify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './paths.js';
import { selfSignedCertificate } from './tls.js';

/**
 * A local HTTPS stub of Google's OAuth 2.0 token endpoint for service accounts, written from Google's
 * "Using OAuth 2.0 for Server to Server Applications": a POST of grant_type
 * urn:ietf:params:oauth:grant-type:jwt-bearer with an RS256-signed assertion whose iss is the service
 * account's e-mail, sub the user it acts as (domain-wide delegation), scope the API's scope and aud
 * the token endpoint, valid at most an hour. It answers an access token, or Google's errors: an
 * unknown signature invalid_grant, a user the account may not act as (no delegation for the scope)
 * unauthorized_client.
 */
export interface GoogleStub {
  /** the token endpoint (the key file's token_uri) */
  tokenUrl: string;
  /** the stub's certificate (PEM file), for the gateway's caFile */
  caFile: string;
  /** the service account's key file, as the Google Cloud console downloads it */
  keyFile: string;
  clientEmail: string;
  /** the users the account may act as, per scope (what an admin grants under domain-wide delegation) */
  delegated: Map<string, string>;
  tokenRequests: number;
  /** each token issued: for whom, with what scope */
  issued: Map<string, { sub: string; scope: string }>;
  close(): Promise<void>;
}

const b64url = (text: string): Buffer => Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');

async function formOf(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

/** Starts the stub with one service account (its key file written to a temp folder). */
export async function startGoogleStub(): Promise<GoogleStub> {
  const tls = selfSignedCertificate();
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientEmail = 'invoice-gateway@devries-facturatie.iam.gserviceaccount.com';
  const stub: GoogleStub = {
    tokenUrl: '',
    caFile: tls.cert,
    keyFile: join(tempDir('igw-google-'), 'service-account.json'),
    clientEmail,
    delegated: new Map(),
    tokenRequests: 0,
    issued: new Map(),
    close: async () => undefined,
  };
  const server = createServer({ key: readFileSync(tls.key), cert: readFileSync(tls.cert) }, (req, res) => {
    const answer = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      if (req.method !== 'POST' || req.url !== '/token') return answer(404, { error: 'not_found' });
      stub.tokenRequests++;
      const form = await formOf(req);
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
        return answer(400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' });
      const [h, p, s] = (form.get('assertion') ?? '').split('.');
      const header = h ? (JSON.parse(b64url(h).toString()) as { alg?: string }) : {};
      if (!h || !p || !s || header.alg !== 'RS256' || !verify('sha256', Buffer.from(`${h}.${p}`), publicKey, b64url(s)))
        return answer(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
      const claims = JSON.parse(b64url(p).toString()) as { iss: string; sub?: string; scope: string; aud: string; iat: number; exp: number };
      const now = Math.floor(Date.now() / 1000);
      if (claims.iss !== clientEmail || claims.aud !== stub.tokenUrl || claims.exp - claims.iat > 3600 || claims.exp < now - 60)
        return answer(400, {
          error: 'invalid_grant',
          error_description: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.',
        });
      if (!claims.sub || stub.delegated.get(claims.sub) !== claims.scope)
        return answer(401, {
          error: 'unauthorized_client',
          error_description: 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
        });
      const token = `ya29.stub-${randomUUID()}`;
      stub.issued.set(token, { sub: claims.sub, scope: claims.scope });
      return answer(200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
    })().catch((err: Error) => answer(500, { error: 'stub', error_description: err.message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.tokenUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  writeFileSync(
    stub.keyFile,
    JSON.stringify(
      {
        type: 'service_account',
        project_id: 'devries-facturatie',
        private_key_id: randomUUID().replace(/-/g, ''),
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        client_email: clientEmail,
        client_id: '104729385710293847561',
        auth_uri: 'https://accounts.google.com/o/oauth2/auth',
        token_uri: stub.tokenUrl,
      },
      null,
      2,
    ),
  );
  stub.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return stub;
}
