import type { CalculatedInvoice } from '../model/invoice.js';
import type { Delivery } from '../routing/route.js';
import type { RenderedDocument } from './document.js';
import { embeddedFiles } from './pdf/embedded-files.js';
import type { UblProfile } from './ubl/profiles.js';

/** A UBL document inside what a delivery sends, and where it sits (for the report). */
export interface CarriedUbl {
  where: string;
  content: Buffer;
}

/**
 * The UBL profile a delivery's documents carry, or undefined when they carry none: the UBL format
 * itself, or an invoice's PDF with its UBL embedded (hybrid) or attached beside it (attachUbl).
 */
export function carriedUblProfile(
  delivery: { format: string; options: Delivery['options'] },
  invoice: Pick<CalculatedInvoice, 'kind'>,
): UblProfile | undefined {
  const carries =
    delivery.format === 'ubl' || (delivery.format === 'pdf' && invoice.kind === 'invoice' && Boolean(delivery.options.hybrid || delivery.options.attachUbl));
  return carries ? ((delivery.options.profile ?? 'peppol') as UblProfile) : undefined;
}

/** Every UBL a rendered document carries, wherever it sits: the document itself, an attachment, a file embedded in a PDF. */
export async function carriedUbl(document: RenderedDocument, format: string): Promise<CarriedUbl[]> {
  const found: CarriedUbl[] = [];
  if (format === 'ubl') found.push({ where: document.fileName, content: document.content });
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
