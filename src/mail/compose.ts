import { safeName } from '../util/safe-name.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { loadYaml } from '../config/yaml-file.js';
import { dec } from '../model/decimal.js';
import { formatDate, formatMoney } from '../model/display.js';
import type { CalculatedInvoice } from '../model/invoice.js';
import type { SendRequest } from '../transports/transport.js';
import type { MailTemplatesFileSchema } from '../config/schema-types.js';

/** config/mail-templates.yaml (its schema's shape). */
type TemplatesFile = MailTemplatesFileSchema.MailTemplatesFile;
interface Compiled {
  subject: HandlebarsTemplateDelegate;
  text: HandlebarsTemplateDelegate;
  html?: HandlebarsTemplateDelegate;
}

/** Sender settings of a mail server or pickup folder. */
export interface SenderSettings {
  from?: string;
  replyTo?: string;
  bcc?: string;
}

/** The placeholders a template can use, formatted for the mail's language. */
export function templateValues(invoice: CalculatedInvoice, language: string): Record<string, unknown> {
  return {
    number: invoice.number ?? '',
    amount: formatMoney(invoice.totals.payableAmount, invoice.currency, language),
    total: formatMoney(invoice.totals.taxInclusiveAmount, invoice.currency, language),
    dueDate: formatDate(invoice.dueDate, language),
    issueDate: formatDate(invoice.issueDate, language),
    validUntil: formatDate(invoice.validUntil, language),
    customer: invoice.buyer.contact?.name ?? invoice.buyer.name,
    seller: invoice.seller.name,
    iban: invoice.payment?.iban ?? '',
    paymentReference: invoice.payment?.paymentReference ?? invoice.number ?? '',
    orderReference: invoice.orderReference ?? invoice.salesOrderReference ?? '',
    paid: dec(invoice.totals.payableAmount).lte(0),
    kind: invoice.kind,
  };
}

/** Mail texts from config/mail-templates.yaml, compiled once. */
export class MailTemplates {
  private readonly compiled = new Map<string, Compiled>();
  private readonly file: TemplatesFile;

  constructor(configDir: string) {
    const path = join(configDir, 'mail-templates.yaml');
    this.file = existsSync(path) ? loadYaml<TemplatesFile>(path, 'mail-templates').value : { templates: {} };
  }

  private get(name: string, language: 'nl' | 'en'): Compiled {
    const key = `${name}/${language}`;
    let hit = this.compiled.get(key);
    if (!hit) {
      const set = this.file.templates[name] ?? this.file.templates['invoice'] ?? {};
      const text = set[language] ?? set.nl ?? set.en ?? { subject: 'Invoice {{number}}', text: 'Invoice {{number}} is attached.' };
      hit = {
        subject: Handlebars.compile(text.subject, { noEscape: true, strict: false }),
        text: Handlebars.compile(text.text, { noEscape: true }),
        ...(text.html ? { html: Handlebars.compile(text.html) } : {}),
      };
      this.compiled.set(key, hit);
    }
    return hit;
  }

  /** Builds the mail for a delivery: texts, the document attached, a Message-ID derived from the idempotency key. */
  build({ delivery, document, invoice }: SendRequest, sender: SenderSettings): Mail.Options {
    const language = delivery.options.language === 'en' ? 'en' : 'nl';
    const template = this.get(delivery.options.template ?? (invoice.kind === 'quote' ? 'quote' : 'invoice'), language);
    const values = templateValues(invoice, language);
    const domain = /@([^>\s]+)>?\s*$/.exec(sender.from ?? '')?.[1] ?? 'invoice-gateway.local';
    return {
      from: sender.from ?? `${invoice.seller.name} <noreply@${domain}>`,
      to: delivery.target,
      ...(sender.replyTo ? { replyTo: sender.replyTo } : {}),
      ...(sender.bcc ? { bcc: sender.bcc } : {}),
      subject: template.subject(values).trim(),
      text: template.text(values),
      ...(template.html ? { html: template.html(values) } : {}),
      messageId: `<${safeName(delivery.idempotencyKey)}@${domain}>`,
      attachments: [document, ...(document.attachments ?? [])].map((d) => ({ filename: d.fileName, content: d.content, contentType: d.mediaType })),
    };
  }
}
