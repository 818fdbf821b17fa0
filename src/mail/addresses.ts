import addressparser from 'nodemailer/lib/addressparser/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';

/** An address as Microsoft Graph writes it. */
export interface GraphAddress {
  emailAddress: { address: string; name?: string };
}

/** Recipients in Graph's form, from an address field ("Name <a@b.nl>, c@d.nl"). */
export function recipients(field: Mail.Options['to']): GraphAddress[] {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  return list.flatMap((a) =>
    typeof a === 'string'
      ? addressparser(a, { flatten: true }).map((p) => ({ emailAddress: { address: p.address, ...(p.name ? { name: p.name } : {}) } }))
      : 'address' in a
        ? [{ emailAddress: { address: a.address ?? '', ...(a.name ? { name: a.name } : {}) } }]
        : recipients(a as Mail.Options['to']),
  );
}

/** How many recipients a mail has (To, Cc and Bcc): what a mailbox's daily limit counts. */
export function recipientCount(mail: Mail.Options): number {
  return recipients(mail.to).length + recipients(mail.cc).length + recipients(mail.bcc).length;
}

/** Who the server is told the mail is from and for: every To, Cc and Bcc address (the raw message carries no Bcc). */
export function envelopeOf(mail: Mail.Options): { from: string; to: string[] } {
  const to = [...recipients(mail.to), ...recipients(mail.cc), ...recipients(mail.bcc)].map((r) => r.emailAddress.address).filter(Boolean);
  return { from: recipients(mail.from as Mail.Options['to'])[0]?.emailAddress.address ?? '', to };
}

/** Whether a person typed one plain e-mail address (a corrected recipient): local part, @, a dotted domain. */
export function isMailAddress(text: string): boolean {
  return /^[^\s@<>,;]+@[^\s@<>,;]+\.[^\s@<>,;]+$/.test(text);
}
