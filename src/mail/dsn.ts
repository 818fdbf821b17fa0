import PostalMime from 'postal-mime';

/** A delivery status notification for one of our mails: who could not be reached, and why. */
export interface Bounce {
  /** the Message-ID of the mail that bounced (ours: derived from the delivery's key) */
  originalMessageId: string;
  /** the recipient the report is about */
  recipient?: string;
  /** the enhanced status code, e.g. 5.1.1 */
  status?: string;
  /** the remote server's own words, e.g. "smtp; 550 5.1.1 <x@y>: Recipient address rejected: User unknown" */
  diagnostic?: string;
}

/** What a message in the sender's mailbox is, as far as the gateway is concerned. */
export type MailboxMessage = { kind: 'bounce'; bounce: Bounce } | { kind: 'delayed' | 'auto-reply' | 'other' };

/** The "Name: value" fields of a delivery-status body (RFC 3464), per-recipient blocks folded into one list. */
function fields(text: string): Map<string, string>[] {
  const blocks: Map<string, string>[] = [];
  for (const block of text
    .replace(/\r\n/g, '\n')
    .replace(/\n[ \t]+/g, ' ')
    .split(/\n\s*\n/)) {
    const map = new Map<string, string>();
    for (const line of block.split('\n')) {
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line.trim());
      if (m) map.set(m[1]!.toLowerCase(), m[2]!.trim());
    }
    if (map.size) blocks.push(map);
  }
  return blocks;
}

/** The Message-ID in a block of original headers (text/rfc822-headers, or the returned message/rfc822). */
function messageIdIn(headers: string): string | undefined {
  return /^Message-ID:\s*(<[^>\s]+>)/im.exec(headers.replace(/\r\n[ \t]+/g, ' '))?.[1];
}

/**
 * Reads a message from the sender's mailbox: a bounce (RFC 3464 multipart/report with a
 * message/delivery-status part, as Postfix, Exim and Exchange send them) with the recipient, status
 * and the remote server's words, and the Message-ID of the mail it returns; a delay notice
 * (Action: delayed, not a failure yet); an auto-reply (RFC 3834 Auto-Submitted, an out-of-office);
 * or anything else (a customer's reply: left for the people who read the mailbox).
 */
export async function readMailboxMessage(raw: Buffer): Promise<MailboxMessage> {
  // postal-mime keeps a report's parts as they are (mailparser folds the delivery status into the text)
  const mail = await PostalMime.parse(raw, { attachmentEncoding: 'utf8', rfc822Attachments: true });
  const text = (a: { content: string | ArrayBuffer | Uint8Array }): string =>
    typeof a.content === 'string' ? a.content : Buffer.from(a.content as Uint8Array).toString('utf-8');
  const report = mail.attachments.find((a) => /^message\/(global-)?delivery-status$/i.test(a.mimeType));
  if (report) {
    const blocks = fields(text(report));
    const recipients = blocks.filter((b) => b.has('action'));
    const failed = recipients.find((b) => /^failed$/i.test(b.get('action') ?? ''));
    const original = mail.attachments.find((a) => /^(text\/rfc822-headers|message\/(global-)?rfc822(-headers)?)$/i.test(a.mimeType));
    const originalMessageId = original ? messageIdIn(text(original)) : undefined;
    if (failed && originalMessageId) {
      const recipient = (failed.get('final-recipient') ?? failed.get('original-recipient'))?.replace(/^rfc822;\s*/i, '');
      return {
        kind: 'bounce',
        bounce: {
          originalMessageId,
          ...(recipient ? { recipient } : {}),
          ...(failed.get('status') ? { status: failed.get('status')! } : {}),
          ...(failed.get('diagnostic-code') ? { diagnostic: failed.get('diagnostic-code')! } : {}),
        },
      };
    }
    if (recipients.some((b) => /^delayed$/i.test(b.get('action') ?? ''))) return { kind: 'delayed' };
  }
  const auto = (mail.headers.find((h) => h.key === 'auto-submitted')?.value ?? '').trim().toLowerCase();
  if (auto && auto !== 'no') return { kind: 'auto-reply' };
  return { kind: 'other' };
}

/** The delivery key a Message-ID of ours carries (the inverse of safeName, for names it did not shorten). */
export function keyOfMessageId(messageId: string): string | undefined {
  const local = /^<([^@>]+)@[^>]+>$/.exec(messageId.trim())?.[1];
  if (!local) return undefined;
  try {
    // "~2F" and friends are the UTF-8 bytes of what safeName replaced
    return Buffer.from(
      local.replace(/~([0-9A-F]{2})/g, (_m, hex: string) => `%${hex}`),
      'latin1',
    )
      .toString('latin1')
      .replace(/(%[0-9A-F]{2})+/g, (run) => decodeURIComponent(run));
  } catch {
    return undefined;
  }
}
