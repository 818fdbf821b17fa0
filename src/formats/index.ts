import { GatewayError } from '../errors.js';
import type { CalculatedInvoice } from '../model/invoice.js';
import type { Delivery } from '../routing/route.js';
import type { Format, RenderedDocument } from './document.js';
import { ciiFormat, xrechnungCiiFormat } from './cii/index.js';
import { jsonFormat } from './json.js';
import { setPdfRenderer, ublFormat, xrechnungUblFormat } from './ubl/index.js';
import { pdfFormat } from './pdf/index.js';
import { PdfRenderPool } from './pdf/pool.js';
import type { SellerConfig } from '../config/types.js';

/** A format that does not exist (yet) or cannot express this invoice: permanent for the delivery. */
export class FormatError extends GatewayError {}

const formats = new Map<string, Format>();

/** Makes a format available to routes. */
export function registerFormat(format: Format): void {
  formats.set(format.name, format);
}
registerFormat(jsonFormat);
registerFormat(ublFormat);
registerFormat(ciiFormat);
registerFormat(xrechnungUblFormat);
registerFormat(xrechnungCiiFormat);

let pdfPool: PdfRenderPool | undefined;

/**
 * Registers the formats that need configuration (the PDF's logos); call once at start. With
 * `renderThreads` above 0 the PDFs are rendered on that many worker threads.
 */
export function configureFormats(sellers: Record<string, SellerConfig>, configDir: string, renderThreads = 0): void {
  void pdfPool?.close();
  pdfPool = renderThreads > 0 ? new PdfRenderPool(renderThreads, sellers, configDir) : undefined;
  const pdf = pdfFormat(sellers, configDir, pdfPool);
  registerFormat(pdf);
  registerFormat(pdfFormat(sellers, configDir, pdfPool, 'factur-x'));
  setPdfRenderer(async (invoice, options) => pdf.render(invoice, options));
}

/** Stops the render threads, if any. */
export async function closeFormats(): Promise<void> {
  await pdfPool?.close();
  pdfPool = undefined;
}

/** Known format names. */
export function formatNames(): string[] {
  return [...formats.keys()];
}

/** Renders an invoice in a route's format; the file name is the invoice number (plus a resend suffix). */
export async function renderDocument(
  formatName: string,
  invoice: CalculatedInvoice,
  options: Delivery['options'],
  baseName: string,
): Promise<RenderedDocument> {
  const format = formats.get(formatName);
  if (!format) throw new FormatError(`format '${formatName}' is not available in this gateway (available: ${formatNames().join(', ')})`, { field: 'format' });
  const content = await format.render(invoice, options);
  const document: RenderedDocument = { fileName: `${baseName}.${format.extension}`, mediaType: format.mediaType, content };
  if (options.attachUbl && formatName === 'pdf' && invoice.kind === 'invoice') {
    // an e-mail with the PDF for people and the UBL for their bookkeeping software
    document.attachments = [await renderDocument('ubl', invoice, options, baseName)];
  }
  return document;
}
