import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { ConfidentialClientApplication, type Configuration } from '@azure/msal-node';
import { Agent, fetch } from 'undici';
import type { GatewayFileSchema } from '../config/schema-types.js';
import { fromEnvironment, TransportError } from './transport.js';

/** How an app signs in to Microsoft Entra ID (client-credentials flow), as gateway.yaml states it (its schema's shape). */
export type AppSignIn = Pick<GatewayFileSchema.GraphTarget, 'tenant' | 'clientId' | 'clientSecret' | 'certificate' | 'authorityHost' | 'caFile'>;

/** An HTTPS client that trusts the system's CAs and, when given, the CAs of `caFile`. */
export function httpsAgent(caFile?: string): Agent {
  return new Agent({ connect: caFile ? { ca: readFileSync(caFile, 'utf-8') } : {}, keepAliveTimeout: 30_000 });
}

type MsalNetwork = NonNullable<NonNullable<Configuration['system']>['networkClient']>;

/** msal's HTTP calls through our agent (its own client knows no extra CA). */
function networkClient(agent: Agent): MsalNetwork {
  const call = async <T>(method: 'GET' | 'POST', url: string, options?: { headers?: Record<string, string>; body?: string }) => {
    const response = await fetch(url, {
      method,
      headers: options?.headers ?? {},
      body: options?.body ?? null,
      dispatcher: agent,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => (headers[name.toLowerCase()] = value));
    let body: unknown = {};
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = { error: 'not_json', error_description: text.slice(0, 200) };
    }
    return { headers, body: body as T, status: response.status };
  };
  return {
    sendGetRequestAsync: (url, options) => call('GET', url, options),
    sendPostRequestAsync: (url, options) => call('POST', url, options),
  };
}

/** Entra ID's answers that no retry heals: a wrong secret or certificate, an unknown app or tenant. */
const REFUSED = /invalid_client|unauthorized_client|invalid_request|invalid_scope|AADSTS(7000215|700016|700027|90002|50034|7000222)/;

/**
 * Access tokens for one app by the OAuth 2.0 client-credentials flow (@azure/msal-node): kept in
 * memory and renewed before they expire; `fresh` asks for a new one (an API answered 401 to the
 * one it had). Secrets and keys are read from the environment or key files, never logged.
 */
export class AppTokens {
  private readonly app: ConfidentialClientApplication;
  /** requests under way: mails sent side by side share one token request */
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    /** what the errors name: the target's name */
    private readonly what: string,
    signIn: AppSignIn,
    agent: Agent,
  ) {
    const tenant = fromEnvironment(signIn.tenant, `${what} tenant`)!;
    const clientId = fromEnvironment(signIn.clientId, `${what} clientId`)!;
    const host = (signIn.authorityHost ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
    const secret = fromEnvironment(signIn.clientSecret, `${what} clientSecret`);
    let certificate: { thumbprintSha256: string; privateKey: string; x5c: string } | undefined;
    if (signIn.certificate) {
      const pem = readOrFail(signIn.certificate.certificateFile, `${what} certificate`);
      certificate = {
        thumbprintSha256: new X509Certificate(pem).fingerprint256.replace(/:/g, ''),
        privateKey: readOrFail(signIn.certificate.privateKeyFile, `${what} private key`),
        x5c: pem,
      };
    }
    if (!secret && !certificate) throw new TransportError(`${what}: neither clientSecret nor certificate is set, so the app cannot sign in`, true);
    this.app = new ConfidentialClientApplication({
      auth: {
        clientId,
        authority: `${host}/${tenant}`,
        knownAuthorities: [new URL(host).host],
        ...(certificate ? { clientCertificate: certificate } : { clientSecret: secret! }),
      },
      system: { networkClient: networkClient(agent) },
    });
  }

  /** An access token for `scope` (e.g. https://graph.microsoft.com/.default). */
  token(scope: string, options: { fresh?: boolean } = {}): Promise<string> {
    const key = `${scope}|${options.fresh ? 'fresh' : ''}`;
    let request = this.pending.get(key);
    if (!request) {
      request = this.request(scope, options.fresh ?? false).finally(() => this.pending.delete(key));
      this.pending.set(key, request);
    }
    return request;
  }

  private async request(scope: string, fresh: boolean): Promise<string> {
    try {
      const result = await this.app.acquireTokenByClientCredential({ scopes: [scope], skipCache: fresh });
      if (!result?.accessToken) throw new Error('no access token in the answer');
      return result.accessToken;
    } catch (err) {
      const e = err as { errorCode?: string; errorMessage?: string; message?: string };
      const text = `${e.errorCode ?? ''} ${e.errorMessage ?? e.message ?? String(err)}`.trim();
      // a refused sign-in does not heal by waiting; a network error or an outage at Microsoft does
      throw new TransportError(`${this.what}: sign-in to Microsoft Entra ID failed: ${text.split('\n')[0]}`, REFUSED.test(text));
    }
  }
}

function readOrFail(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf-8');
  } catch (err) {
    // a key file on a share that is away comes back: the mail waits for it
    throw new TransportError(`${what}: cannot read ${path}: ${(err as Error).message}`, false);
  }
}
