import { recipientCount, recipients } from '../mail/addresses.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { fetch } from 'undici';
import type { GraphTargetConfig } from '../config/types.js';
import type { MailTemplates } from '../mail/compose.js';
import { GraphClient, odata } from './graph-client.js';
import { GraphInbox } from './graph-inbox.js';
import type { MailQuota } from './mail-quota.js';
import { RateLimiter } from './smtp.js';
import { TransportError, type SendRequest, type SendOutcome, type Transport } from './transport.js';

type GraphTarget = GraphTargetConfig;

/**
 * Attachments up to this size go in the request that creates the message; larger ones through an
 * upload session (Graph: "3 MB"). Read as 3,000,000 bytes: in base64 that is 4,000,000, which leaves
 * room for the rest of the message under Graph's limit of 4 MiB a request (3 MiB would fill it).
 */
const INLINE_LIMIT = 3_000_000;
/** Upload session chunks: a multiple of 320 KiB, as Graph asks, below its 4 MB request limit. */
const CHUNK = 10 * 320 * 1024;
/** Exchange Online lets one mailbox send 30 messages a minute. */
export const M365_MESSAGES_PER_MINUTE = 30;
/** ... and 10,000 recipients in any 24 hours. */
export const M365_RECIPIENTS_PER_DAY = 10_000;

interface GraphMessage {
  id: string;
  isDraft?: boolean;
}
interface Attachment {
  name: string;
  contentType: string;
  content: Buffer;
}

/** The mail's attachments as bytes. */
function attachmentsOf(mail: Mail.Options): Attachment[] {
  return (mail.attachments ?? []).map((a) => ({
    name: String(a.filename ?? 'attachment'),
    contentType: String(a.contentType ?? 'application/octet-stream'),
    content: Buffer.isBuffer(a.content) ? a.content : Buffer.from(String(a.content ?? '')),
  }));
}

/**
 * E-mail from a Microsoft 365 mailbox through Microsoft Graph, signed in as an app (client
 * credentials; a secret or, better, a certificate). Each mail is made as a draft carrying our
 * deterministic Message-ID, its large attachments uploaded in chunks, and then sent: Exchange keeps
 * the copy in Sent Items. In `mode: draft` it stays in Drafts for someone to check and send from
 * Outlook. A mail tried before (the process stopped between the send and its record) is looked up by
 * its Message-ID first, so the customer never gets it twice. 429 and 503 answers wait as long as
 * Graph's Retry-After says; a 401 gets a fresh token once.
 */
export class GraphMailTransport implements Transport {
  private readonly graph: GraphClient;
  private readonly mailbox: string;
  private readonly limiter: RateLimiter;

  constructor(
    private readonly name: string,
    private readonly target: GraphTarget,
    private readonly templates: MailTemplates,
    /** the mailbox's recipients per 24 hours, counted in the ledger */
    private readonly quota?: MailQuota,
  ) {
    this.graph = new GraphClient(name, target);
    this.mailbox = this.graph.mailbox;
    this.limiter = new RateLimiter(target.messagesPerMinute ?? M365_MESSAGES_PER_MINUTE);
  }

  /** Our message in a folder of the mailbox (SentItems, Drafts), found by its Message-ID. */
  private async find(folder: 'SentItems' | 'Drafts', messageId: string): Promise<GraphMessage | undefined> {
    const query = `?$filter=${encodeURIComponent(`internetMessageId eq ${odata(messageId)}`)}&$select=id,isDraft&$top=1`;
    const { json } = await this.graph.call<{ value?: GraphMessage[] }>('GET', `/mailFolders/${folder}/messages${query}`);
    return json.value?.[0];
  }

  async send(request: SendRequest): Promise<SendOutcome> {
    const mail = this.templates.build(request, { ...this.target, from: this.target.from ?? this.mailbox });
    const messageId = String(mail.messageId);
    const files = attachmentsOf(mail);
    const draftOnly = this.target.mode === 'draft';
    // tried before: the mail may have gone out, or its draft may wait, from the attempt a stop interrupted
    if (request.delivery.attempts > 1) {
      if (await this.find('SentItems', messageId)) return this.sentBefore(messageId);
      const left = await this.find('Drafts', messageId);
      if (left && (await this.whole(left.id, files))) {
        if (draftOnly) return this.placed(messageId);
        await this.quota?.admit(recipientCount(mail));
        return this.sendDraft(left.id, messageId);
      }
      // a draft whose upload was cut off lacks an attachment: it is made again, never sent as it is
      if (left) await this.graph.call('DELETE', `/messages/${encodeURIComponent(left.id)}`);
    }
    if (!draftOnly) await this.quota?.admit(recipientCount(mail));
    const draft = await this.createDraft(mail, messageId, files);
    if (draftOnly) return this.placed(messageId);
    return this.sendDraft(draft.id, messageId);
  }

  /** The outcome of a mail found in Sent Items: an earlier attempt sent it. */
  private sentBefore(messageId: string): SendOutcome {
    return { result: `${this.name}: ${messageId} was sent from ${this.mailbox} before (found in Sent Items)` };
  }

  /** The outcome of mode draft: the mail waits in Drafts for a person. */
  private placed(messageId: string): SendOutcome {
    return { result: `${this.name}: draft ${messageId} placed in ${this.mailbox} Drafts` };
  }

  private async sendDraft(id: string, messageId: string): Promise<SendOutcome> {
    // paced where the mail leaves: Exchange counts sends, not drafts
    await this.limiter.wait();
    try {
      await this.graph.call('POST', `/messages/${encodeURIComponent(id)}/send`);
    } catch (err) {
      // the draft left Drafts meanwhile: the earlier send went through after all
      if (err instanceof TransportError && /not found/.test(err.message) && (await this.find('SentItems', messageId))) return this.sentBefore(messageId);
      throw err;
    }
    return { result: `${this.name}: ${messageId} sent from ${this.mailbox} (copy in Sent Items)` };
  }

  /** The message as a draft with our Message-ID; attachments over 3 MB (or past the request limit) are uploaded after it. */
  private async createDraft(mail: Mail.Options, messageId: string, files: Attachment[]): Promise<GraphMessage> {
    const total = files.reduce((sum, f) => sum + f.content.length, 0);
    // all in the first request when it stays within Graph's 4 MB (base64 grows by a third); else each on its own
    const inline = total <= INLINE_LIMIT ? files : [];
    const html = typeof mail.html === 'string' ? mail.html : undefined;
    const { json: draft } = await this.graph.call<GraphMessage>('POST', '/messages', {
      subject: mail.subject,
      body: html ? { contentType: 'HTML', content: html } : { contentType: 'Text', content: String(mail.text ?? '') },
      toRecipients: recipients(mail.to),
      ...(mail.cc ? { ccRecipients: recipients(mail.cc) } : {}),
      ...(mail.bcc ? { bccRecipients: recipients(mail.bcc) } : {}),
      ...(mail.replyTo ? { replyTo: recipients(mail.replyTo) } : {}),
      ...(this.target.from ? { from: recipients(this.target.from)[0] } : {}),
      internetMessageId: messageId,
      attachments: inline.map((f) => ({
        '@odata.type': '#microsoft.graph.fileAttachment',
        name: f.name,
        contentType: f.contentType,
        contentBytes: f.content.toString('base64'),
      })),
    });
    if (!inline.length)
      for (const f of files) {
        if (f.content.length < INLINE_LIMIT)
          await this.graph.call('POST', `/messages/${encodeURIComponent(draft.id)}/attachments`, {
            '@odata.type': '#microsoft.graph.fileAttachment',
            name: f.name,
            contentType: f.contentType,
            contentBytes: f.content.toString('base64'),
          });
        else await this.upload(draft.id, f);
      }
    return draft;
  }

  /** Whether a draft left by an earlier attempt holds every attachment (an upload that was cut off adds none). */
  private async whole(draftId: string, files: Attachment[]): Promise<boolean> {
    const { json } = await this.graph.call<{ value?: { name: string; size: number }[] }>(
      'GET',
      `/messages/${encodeURIComponent(draftId)}/attachments?$select=name,size`,
    );
    const present = json.value ?? [];
    return files.every((f) => present.some((p) => p.name === f.name && p.size >= f.content.length));
  }

  /** A large attachment through an upload session, in chunks (the upload URL carries its own authorisation). */
  private async upload(draftId: string, file: Attachment): Promise<void> {
    const { json: session } = await this.graph.call<{ uploadUrl: string }>('POST', `/messages/${encodeURIComponent(draftId)}/attachments/createUploadSession`, {
      AttachmentItem: { attachmentType: 'file', name: file.name, size: file.content.length, contentType: file.contentType },
    });
    const size = file.content.length;
    for (let start = 0; start < size; start += CHUNK) {
      const chunk = file.content.subarray(start, Math.min(size, start + CHUNK));
      let response;
      try {
        response = await fetch(session.uploadUrl, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes ${start}-${start + chunk.length - 1}/${size}` },
          body: chunk,
          dispatcher: this.graph.agent,
          signal: AbortSignal.timeout(120_000),
        });
      } catch (err) {
        throw new TransportError(`${this.name}: the upload of ${file.name} was cut off: ${(err as Error).message}`, false);
      }
      const text = await response.text();
      if (!response.ok) throw this.graph.failure(response.status, response.headers.get('retry-after'), text);
    }
  }

  /** The mailbox's inbox, read for bounces with this transport's sign-in. */
  inbox(): GraphInbox {
    return new GraphInbox(this.graph);
  }

  /** check-config --online: signs in and opens the mailbox's Sent Items; what stands in the way, or undefined. */
  async check(): Promise<string | undefined> {
    try {
      await this.graph.call('GET', '/mailFolders/SentItems?$select=id');
      await this.graph.call('GET', '/mailFolders/Drafts?$select=id');
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }

  async close(): Promise<void> {
    await this.graph.close();
  }
}
