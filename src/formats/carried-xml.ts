import type { CalculatedInvoice } from '../model/invoice.js';
import type { Delivery } from '../routing/route.js';
import type { ProfileName } from '../validation/engine.js';
import { writeCii, XRECHNUNG_GUIDELINE } from './cii/write.js';
import type { RenderedDocument } from './document.js';
import { embeddedFiles } from './pdf/embedded-files.js';
import type { UblProfile } from './ubl/profiles.js';
import { writeUbl } from './ubl/write.js';

/** An e-invoice a delivery's documents carry: the rules it must pass and how it is written. */
export interface CarriedEInvoice {
  /** "peppol UBL", "en16931 CII": for reports */
  label: string;
  profile: ProfileName;
  write(invoice: CalculatedInvoice): string;
}

/** An XML e-invoice inside what a delivery sends, and where it sits (for the report). */
export interface CarriedXml {
  where: string;
  content: Buffer;
}

/**
 * The e-invoice a delivery's documents carry, or undefined when they carry none: UBL (sent as UBL,
 * embedded in a hybrid PDF, attached beside a PDF) in the route's profile, or CII under the EN 16931 rules.
 */
export function carriedEInvoice(
  delivery: { format: string; options: Delivery['options'] },
  invoice: Pick<CalculatedInvoice, 'kind'>,
): CarriedEInvoice | undefined {
  if (delivery.format === 'cii') return { label: 'en16931 CII', profile: 'en16931', write: (inv) => writeCii(inv) };
  if (delivery.format === 'factur-x') return { label: 'en16931 CII (Factur-X)', profile: 'en16931', write: (inv) => writeCii(inv) };
  if (delivery.format === 'xrechnung-ubl') return { label: 'xrechnung UBL', profile: 'xrechnung', write: (inv) => writeUbl(inv, { profile: 'xrechnung' }) };
  if (delivery.format === 'xrechnung-cii')
    return { label: 'xrechnung CII', profile: 'xrechnung', write: (inv) => writeCii(inv, { guideline: XRECHNUNG_GUIDELINE }) };
  const carriesUbl =
    delivery.format === 'ubl' || (delivery.format === 'pdf' && invoice.kind === 'invoice' && Boolean(delivery.options.hybrid || delivery.options.attachUbl));
  if (!carriesUbl) return undefined;
  const profile = (delivery.options.profile ?? 'peppol') as UblProfile;
  return { label: `${profile} UBL`, profile, write: (inv) => writeUbl(inv, { profile }) };
}

/** Every XML e-invoice a rendered document carries, wherever it sits: the document itself, an attachment, a file embedded in a PDF. */
export async function carriedXml(document: RenderedDocument): Promise<CarriedXml[]> {
  const found: CarriedXml[] = [];
  if (document.mediaType === 'application/xml') found.push({ where: document.fileName, content: document.content });
  if (document.mediaType === 'application/pdf') {
    for (const file of await embeddedFiles(document.content)) {
      if (file.name.toLowerCase().endsWith('.xml')) found.push({ where: `${file.name} embedded in ${document.fileName}`, content: file.content });
    }
  }
  for (const attachment of document.attachments ?? []) {
    if (attachment.mediaType === 'application/xml') found.push({ where: `${attachment.fileName} attached`, content: attachment.content });
  }
  return found;
}
