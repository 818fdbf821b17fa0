import { readFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import type { GatewayFileSchema } from '../config/schema-types.js';
import { fromEnvironment, TransportError } from './transport.js';

/** The mailbox behind an SMTP account, over IMAP: where the copy of a sent mail and the drafts go (the schema's shape). */
export type ImapSettings = NonNullable<GatewayFileSchema.SmtpTarget['imap']>;

/** The keyword a message read for bounces gets (not \Seen: people read this mailbox too). */
const CHECKED = '$InvoiceGatewayChecked';

/**
 * A copy of each mail the gateway sent, in the mailbox's Sent folder (so the mail client shows what
 * went out), and drafts for review (`\Draft`), over IMAP (imapflow). Both are found by the mail's
 * Message-ID before anything is appended, so a retry after a stop never leaves a second copy.
 */
export class ImapMailbox {
  private readonly password: string | undefined;
  private readonly folders = new Map<'sent' | 'drafts', string>();

  constructor(
    private readonly what: string,
    private readonly settings: ImapSettings,
  ) {
    this.password = fromEnvironment(settings.password, `${what} imap.password`);
  }

  private async connect(): Promise<ImapFlow> {
    const s = this.settings;
    const client = new ImapFlow({
      host: s.host,
      port: s.port ?? (s.secure ? 993 : 143),
      secure: s.secure ?? false,
      auth: { user: s.user, pass: this.password ?? '' },
      logger: false,
      tls: { rejectUnauthorized: true, ...(s.caFile ? { ca: readFileSync(s.caFile) } : {}) },
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
      socketTimeout: 60_000,
    });
    // an error after the work is done (the server closing) must not become an unhandled event
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      const e = err as { authenticationFailed?: boolean; responseText?: string; message: string };
      throw new TransportError(
        `${this.what}: the IMAP mailbox ${s.user}@${s.host} ${e.authenticationFailed ? `refused the login (${e.responseText ?? e.message})` : `cannot be reached (${e.message})`}`,
        Boolean(e.authenticationFailed),
      );
    }
    return client;
  }

  /** The folder by its special use (RFC 6154), as the server names it, or the usual name. */
  private async folder(client: ImapFlow, which: 'sent' | 'drafts'): Promise<string> {
    const given = which === 'sent' ? this.settings.sentFolder : this.settings.draftsFolder;
    if (given) return given;
    const known = this.folders.get(which);
    if (known) return known;
    const use = which === 'sent' ? '\\Sent' : '\\Drafts';
    const found = (await client.list()).find((f) => f.specialUse === use)?.path ?? (which === 'sent' ? 'Sent' : 'Drafts');
    this.folders.set(which, found);
    return found;
  }

  private async within<T>(work: (client: ImapFlow) => Promise<T>): Promise<T> {
    const client = await this.connect();
    try {
      return await work(client);
    } catch (err) {
      if (err instanceof TransportError) throw err;
      throw new TransportError(`${this.what}: IMAP: ${(err as { responseText?: string }).responseText ?? (err as Error).message}`, false);
    } finally {
      await client.logout().catch(() => undefined);
    }
  }

  /** Whether a mail with this Message-ID is in the folder. */
  async holds(which: 'sent' | 'drafts', messageId: string): Promise<boolean> {
    return this.within(async (client) => this.find(client, await this.folder(client, which), messageId));
  }

  private async find(client: ImapFlow, path: string, messageId: string): Promise<boolean> {
    const lock = await client.getMailboxLock(path);
    try {
      const hits = await client.search({ header: { 'message-id': messageId } }, { uid: true });
      return Array.isArray(hits) && hits.length > 0;
    } finally {
      lock.release();
    }
  }

  /**
   * The inbox's messages of the last `days` days not yet looked at by the gateway, each handed to
   * `look` and then marked with a keyword of ours (never \Seen: people read this mailbox too).
   */
  async readNew(days: number, look: (raw: Buffer) => Promise<void>): Promise<number> {
    return this.within(async (client) => {
      const lock = await client.getMailboxLock('INBOX');
      try {
        const uids = await client.search({ since: new Date(Date.now() - days * 86_400_000), unKeyword: CHECKED }, { uid: true });
        if (!Array.isArray(uids) || !uids.length) return 0;
        for (const uid of uids) {
          const message = await client.fetchOne(String(uid), { source: true }, { uid: true });
          if (message && message.source) await look(message.source);
          await client.messageFlagsAdd(String(uid), [CHECKED], { uid: true });
        }
        return uids.length;
      } finally {
        lock.release();
      }
    });
  }

  /** Puts the raw message into the folder unless one with its Message-ID is there; true when it was put there now. */
  async place(which: 'sent' | 'drafts', raw: Buffer, messageId: string): Promise<boolean> {
    return this.within(async (client) => {
      const path = await this.folder(client, which);
      if (await this.find(client, path, messageId)) return false;
      await client.append(path, raw, which === 'sent' ? ['\\Seen'] : ['\\Draft', '\\Seen']);
      return true;
    });
  }
}
