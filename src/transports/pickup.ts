import { safeName } from '../util/safe-name.js';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { writeOnce } from './folder.js';
import { TransportError, type SendRequest, type Transport } from './transport.js';

/** Builds the mail for a delivery (subject, body, attachments, deterministic Message-ID). */
export type MailBuilder = (request: SendRequest) => Promise<Mail.Options> | Mail.Options;

/** Writes each mail as an .eml file into a pickup folder (Bcc kept for the pickup server): the embedded default, no server needed. */
export class PickupTransport implements Transport {
  constructor(
    private readonly dir: string,
    private readonly build: MailBuilder,
  ) {}

  async send(request: SendRequest): Promise<string> {
    const options = await this.build(request);
    const mail = new MailComposer(options).compile();
    // a pickup folder is read by a mail server that takes the recipients from the headers: the
    // archive Bcc must stay in the file (the server removes it when it sends)
    mail.keepBcc = true;
    const message = await mail.build();
    const name = `${safeName(request.delivery.idempotencyKey)}.eml`;
    try {
      const outcome = await writeOnce(this.dir, name, message, { sameNameIsEnough: true });
      return `${name} (${outcome})`;
    } catch (err) {
      if (err instanceof TransportError) throw err;
      throw new TransportError(`cannot write mail to ${this.dir}: ${(err as Error).message}`, false);
    }
  }

  async close(): Promise<void> {}
}
