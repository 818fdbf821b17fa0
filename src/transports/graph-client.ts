import type { Agent } from 'undici';
import { fetch } from 'undici';
import type { GraphTargetConfig } from '../config/types.js';
import { AppTokens, httpsAgent } from './oauth.js';
import { providerLimitWait } from './mail-quota.js';
import { fromEnvironment, TransportError } from './transport.js';

/** An OData string literal: a quote is doubled. */
export const odata = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/**
 * Microsoft Graph for one mailbox, signed in as the app (client credentials): the calls the mail
 * transport and the bounce reader make, each with a token (a 401 gets a fresh one once), and Graph's
 * errors turned into TransportErrors that say whether waiting helps and how long Graph asked to wait.
 */
export class GraphClient {
  readonly agent: Agent;
  readonly mailbox: string;
  private readonly tokens: AppTokens;
  private readonly base: string;
  private readonly scope: string;

  constructor(
    private readonly name: string,
    target: GraphTargetConfig,
  ) {
    this.agent = httpsAgent(target.caFile);
    this.tokens = new AppTokens(`target ${name}`, target, this.agent);
    const endpoint = (target.graphEndpoint ?? 'https://graph.microsoft.com').replace(/\/+$/, '');
    this.scope = `${endpoint}/.default`;
    this.mailbox = fromEnvironment(target.mailbox, `target ${name} mailbox`)!;
    this.base = `${endpoint}/v1.0/users/${encodeURIComponent(this.mailbox)}`;
  }

  /** One call under the mailbox (or to a full https address Graph gave, a next page); its JSON answer. */
  async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
    const { status, bytes } = await this.request(method, path, body);
    const text = bytes.toString('utf-8');
    return { status, json: (text ? JSON.parse(text) : {}) as T };
  }

  /** A GET whose answer is not JSON (a message's MIME source: `/messages/{id}/$value`). */
  async raw(path: string): Promise<Buffer> {
    return (await this.request('GET', path)).bytes;
  }

  private async request(method: string, path: string, body?: unknown, fresh = false): Promise<{ status: number; bytes: Buffer }> {
    const token = await this.tokens.token(this.scope, { fresh });
    let response;
    try {
      response = await fetch(path.startsWith('https://') ? path : `${this.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? null : JSON.stringify(body),
        dispatcher: this.agent,
        signal: AbortSignal.timeout(120_000),
      });
    } catch (err) {
      throw new TransportError(`${this.name}: Microsoft Graph did not answer: ${(err as Error).message}`, false);
    }
    // bytes, not text: a MIME source may carry 8-bit parts in other character sets
    const bytes = Buffer.from(await response.arrayBuffer());
    if (response.status === 401 && !fresh) return this.request(method, path, body, true);
    if (response.ok) return { status: response.status, bytes };
    throw this.failure(response.status, response.headers.get('retry-after'), bytes.toString('utf-8'));
  }

  /** Graph's error answer as a TransportError: whether waiting helps, and for how long Graph asked us to wait. */
  failure(status: number, retryAfter: string | null, text: string): TransportError {
    let detail = text.slice(0, 300);
    try {
      const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      if (e) detail = `${e.code ?? ''}: ${e.message ?? ''}`;
    } catch {
      // not JSON: the text as it came
    }
    const seconds = Number(retryAfter);
    const waitMs = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
    const limit = providerLimitWait(this.name, detail);
    if (limit) return limit;
    if (status === 429 || status === 503 || status === 504)
      return new TransportError(`${this.name}: Microsoft Graph asks to wait (${status} ${detail})`, false, {}, waitMs ?? 60_000);
    if (status === 403)
      return new TransportError(
        `${this.name}: the app may not use mailbox ${this.mailbox} (${detail}); give it the Mail.Send and Mail.ReadWrite application permissions and include the mailbox in its application access policy`,
        true,
      );
    if (status === 404) return new TransportError(`${this.name}: mailbox ${this.mailbox} was not found (${detail})`, true);
    if (status === 401) return new TransportError(`${this.name}: Microsoft Graph refused the app's token twice (${detail})`, false);
    return new TransportError(`${this.name}: Microsoft Graph answered ${status} (${detail})`, status >= 400 && status < 500);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
