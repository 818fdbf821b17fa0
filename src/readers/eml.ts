import { simpleParser } from 'mailparser';
import { ReaderError } from '../errors.js';
import { readAll, type ReadContext, type ReaderInput } from './record.js';

/** One attachment taken out of an e-mail file. */
export interface MailAttachment {
  name: string;
  content: Buffer;
  contentType: string;
}

/** The attachments of an `.eml` file (order systems that can only mail), in message order. */
export async function readEmlAttachments(input: ReaderInput, ctx: ReadContext, maxBytes = 50 * 1024 * 1024): Promise<MailAttachment[]> {
  const bytes = await readAll(input, maxBytes, () => new ReaderError(`mail file is larger than ${maxBytes} bytes`, { file: ctx.file }));
  if (bytes.length === 0) throw new ReaderError('the file is empty', { file: ctx.file });
  let mail;
  try {
    mail = await simpleParser(bytes, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
  } catch (err) {
    throw new ReaderError(`not a readable e-mail: ${(err as Error).message}`, { file: ctx.file });
  }
  const attachments = mail.attachments
    .filter((a) => a.contentDisposition !== 'inline' || a.filename)
    .map((a, i) => ({ name: a.filename ?? `attachment-${i + 1}`, content: a.content, contentType: a.contentType }));
  if (attachments.length === 0) throw new ReaderError('the e-mail has no attachments to process', { file: ctx.file });
  return attachments;
}
