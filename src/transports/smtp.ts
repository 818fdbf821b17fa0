import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { TargetConfig } from '../config/types.js';
import type { MailTemplates } from '../mail/compose.js';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { envelopeOf, recipientCount } from '../mail/addresses.js';
import { ImapMailbox } from './imap-mailbox.js';
import { providerLimitWait, type MailQuota } from './mail-quota.js';
import { AppTokens, httpsAgent } from './oauth.js';
import { fromEnvironment, TransportError, type SendRequest, type Transport } from './transport.js';

type SmtpTarget = Extract<TargetConfig, { kind: 'smtp' }>;

/**
 * Paces sends to `perMinute` messages a minute for one server, across all connections: the
 * gateway's own queue, since nodemailer's limiter works per connection.
 */
export class RateLimiter {
  private next = 0;
  constructor(private readonly perMinute: number) {}
  async wait(): Promise<void> {
    if (!this.perMinute) return;
    const interval = 60_000 / this.perMinute;
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + interval;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }
}

/** An SMTP reply code from a nodemailer error, if the server gave one. */
function replyCode(err: unknown): number | undefined {
  const e = err as { responseCode?: number; response?: string };
  if (typeof e.responseCode === 'number') return e.responseCode;
  const m = /^(\d{3})[ -]/.exec(e.response ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Google's answers that no retry heals: the account may not act as the mailbox, or its key is not valid. */
const GOOGLE_REFUSED = /unauthorized_client|invalid_grant|invalid_client|access_denied|invalid_scope/;

/** A refused token request to Google, with what the administrator must do about it. */
function googleSignInFailure(name: string, text: string): TransportError {
  const hint = /unauthorized_client/.test(text)
    ? ' (in the Google Admin console, give the service account domain-wide delegation for https://mail.google.com/)'
    : '';
  return new TransportError(`${name}: sign-in to Google failed: ${text}${hint}`, GOOGLE_REFUSED.test(text));
}

/**
 * nodemailer's XOAUTH2 as a Google service account (two-legged: a JWT signed with the account's key,
 * acting as `user` by domain-wide delegation), from the JSON key file Google issues.
 */
function googleServiceAuth(name: string, user: string, account: { keyFile: string; caFile?: string }): object {
  const keyFile = fromEnvironment(account.keyFile, `target ${name} googleServiceAccount.keyFile`)!;
  let key: { client_email?: string; private_key?: string; token_uri?: string };
  try {
    key = JSON.parse(readFileSync(keyFile, 'utf-8')) as typeof key;
  } catch (err) {
    // a key file on a share that is away comes back; one that is not JSON does not
    throw new TransportError(`target ${name}: cannot read the service account key ${keyFile}: ${(err as Error).message}`, err instanceof SyntaxError);
  }
  if (!key.client_email || !key.private_key)
    throw new TransportError(`target ${name}: ${keyFile} is not a service account key (no client_email or private_key)`, true);
  return {
    type: 'OAuth2',
    user,
    // Google's documentation: iss is the service account's e-mail, aud the token endpoint
    serviceClient: key.client_email,
    privateKey: key.private_key,
    accessUrl: key.token_uri ?? 'https://oauth2.googleapis.com/token',
    ...(account.caFile ? { tls: { ca: readFileSync(account.caFile) } } : {}),
  };
}

/**
 * E-mail over SMTP (nodemailer, pooled connections, STARTTLS/TLS, auth from the environment,
 * optional DKIM). 4xx answers and connection failures are retried through the outbox; 5xx answers
 * are permanent, with the server's text kept.
 */
export class SmtpTransport implements Transport {
  private readonly transporter: Transporter<SMTPPool.SentMessageInfo>;
  private readonly limiter: RateLimiter;
  /** ends the app sign-in's HTTPS client when the server takes XOAUTH2 (Microsoft 365) instead of a password */
  private readonly closeOAuth?: () => Promise<void>;
  /** the account's mailbox over IMAP: a copy of each mail in Sent, or drafts (mode: draft) */
  private readonly mailbox?: ImapMailbox;
  /** why the last token request failed (nodemailer passes on only its text, not whether waiting helps) */
  private tokenFailure?: TransportError;

  constructor(
    private readonly name: string,
    private readonly target: SmtpTarget,
    private readonly templates: MailTemplates,
    /** the account's recipients per 24 hours, when its provider limits them (recipientsPerDay) */
    private readonly quota?: MailQuota,
  ) {
    const user = fromEnvironment(target.user, `target ${name} user`);
    const pass = fromEnvironment(target.password, `target ${name} password`);
    let auth: object | undefined = user ? { user, pass: pass ?? '' } : undefined;
    if (target.oauth2) {
      if (!user) throw new TransportError(`target ${name}: oauth2 needs user (the mailbox that sends)`, true);
      const agent = httpsAgent(target.oauth2.caFile);
      const tokens = new AppTokens(`target ${name}`, target.oauth2, agent);
      const scope = target.oauth2.scope ?? 'https://outlook.office365.com/.default';
      this.closeOAuth = () => agent.close();
      // nodemailer asks again with renew = true when the server refused the token it had
      auth = {
        type: 'OAuth2',
        user,
        provisionCallback: (_user: string, renew: boolean, done: (err: Error | null, token?: string) => void) =>
          void tokens.token(scope, { fresh: renew }).then(
            (token) => {
              this.tokenFailure = undefined;
              done(null, token);
            },
            (err: Error) => {
              if (err instanceof TransportError) this.tokenFailure = err;
              done(err);
            },
          ),
      };
    }
    if (target.googleServiceAccount) {
      if (!user) throw new TransportError(`target ${name}: googleServiceAccount needs user (the mailbox that sends)`, true);
      auth = googleServiceAuth(name, user, target.googleServiceAccount);
    }
    this.transporter = nodemailer.createTransport({
      pool: true,
      host: target.host,
      port: target.port ?? (target.secure ? 465 : 587),
      secure: target.secure ?? false,
      requireTLS: target.requireTLS ?? false,
      maxConnections: target.maxConnections ?? 3,
      ...(auth ? { auth } : {}),
      ...(target.dkim
        ? { dkim: { domainName: target.dkim.domainName, keySelector: target.dkim.keySelector, privateKey: readFileSync(target.dkim.privateKeyFile, 'utf-8') } }
        : {}),
      tls: { rejectUnauthorized: target.tlsRejectUnauthorized ?? true, ...(target.caFile ? { ca: readFileSync(target.caFile) } : {}) },
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
      socketTimeout: 60_000,
    } as SMTPPool.Options);
    this.limiter = new RateLimiter(target.messagesPerMinute ?? 0);
    if (target.imap) this.mailbox = new ImapMailbox(`target ${name}`, target.imap);
    else if (target.mode === 'draft') throw new TransportError(`target ${name}: mode draft needs imap (the mailbox whose Drafts folder gets the mails)`, true);
  }

  async send(request: SendRequest): Promise<string> {
    const mail = this.templates.build(request, this.target);
    if (!this.mailbox) return this.submit(mail, recipientCount(mail));
    // with the account's mailbox: the message is built once, so the copy in Sent is the very message sent
    const messageId = String(mail.messageId);
    const raw = await new MailComposer(mail).compile().build();
    if (this.target.mode === 'draft') {
      const placed = await this.mailbox.place('drafts', raw, messageId);
      return `${this.name}: draft ${messageId} ${placed ? 'placed in' : 'was already in'} the mailbox's Drafts`;
    }
    // tried before: the copy in Sent is made after the server took the mail, so finding it means it went out
    if (request.delivery.attempts > 1 && (await this.mailbox.holds('sent', messageId)))
      return `${this.name}: ${messageId} was sent before (found in the mailbox's Sent folder)`;
    const result = await this.submit({ envelope: envelopeOf(mail), raw }, recipientCount(mail));
    try {
      await this.mailbox.place('sent', raw, messageId);
      return `${result} (copy in Sent)`;
    } catch (err) {
      // the customer has the mail: it is sent; only the copy is missing, which the result and the log say
      return `${result} (no copy in Sent: ${(err as Error).message})`;
    }
  }

  /** Hands the mail to the server (at our pace); refusals become TransportErrors that say whether waiting helps. */
  private async submit(mail: Mail.Options, recipients: number): Promise<string> {
    await this.quota?.admit(recipients);
    await this.limiter.wait();
    try {
      const info = await this.transporter.sendMail(mail);
      const rejected = (info.rejected ?? []).map(String);
      if (rejected.length) {
        // the message went to the other recipients (the archive BCC); the customer's address was refused
        const errors = (info as { rejectedErrors?: { response?: string; responseCode?: number }[] }).rejectedErrors ?? [];
        const reasons = errors
          .map((e) => e.response)
          .filter(Boolean)
          .join('; ');
        const permanent = errors.every((e) => (e.responseCode ?? 550) >= 500);
        const limit = providerLimitWait(this.name, reasons || String(info.response));
        if (limit) throw limit;
        throw new TransportError(`${this.name}: the mail server refused ${rejected.join(', ')}: ${reasons || info.response}`, permanent);
      }
      return `${this.name}: ${info.messageId} ${info.response}`;
    } catch (err) {
      if (err instanceof TransportError) throw err;
      const code = replyCode(err);
      const text = (err as { response?: string }).response ?? (err as Error).message;
      // a refused login is permanent (a wrong password does not heal), a 454 "try later" is not
      if ((err as { code?: string }).code === 'EAUTH' && this.tokenFailure) throw this.tokenFailure;
      const google = this.googleRefusal(err);
      if (google) throw google;
      const limit = providerLimitWait(this.name, text);
      if (limit) throw limit;
      if ((err as { code?: string }).code === 'EAUTH')
        throw new TransportError(`${this.name}: authentication failed: ${text}`, code === undefined || code >= 500);
      if (code !== undefined && code >= 500) throw new TransportError(`${this.name}: the mail server refused the message: ${text}`, true);
      throw new TransportError(`${this.name}: ${code ? `temporary failure ${text}` : `could not deliver: ${text}`}`, false);
    }
  }

  /** A token request Google refused: nodemailer reports it as EAUTH with no reply from the mail server. */
  private googleRefusal(err: unknown): TransportError | undefined {
    if (!this.target.googleServiceAccount || (err as { code?: string }).code !== 'EAUTH' || replyCode(err) !== undefined) return undefined;
    return googleSignInFailure(this.name, (err as Error).message);
  }

  /** check-config --online: a token for XOAUTH2 (when used) and a login at the server; what stands in the way, or undefined. */
  async check(): Promise<string | undefined> {
    try {
      await this.transporter.verify();
      return undefined;
    } catch (err) {
      return this.googleRefusal(err)?.message ?? this.tokenFailure?.message ?? `${this.name}: ${(err as Error).message}`;
    }
  }

  async close(): Promise<void> {
    this.transporter.close();
    await this.closeOAuth?.();
  }
}
