import { GatewayError } from '../errors.js';
import type { CalculatedInvoice } from '../model/invoice.js';
import type { Delivery } from '../routing/route.js';
import type { Format, RenderedDocument } from './document.js';
import { jsonFormat } from './json.js';
import { ublFormat } from './ubl/index.js';

/** A format that does not exist (yet) or cannot express this invoice: permanent for the delivery. */
export class FormatError extends GatewayError {}

const formats = new Map<string, Format>();

/** Makes a format available to routes. */
export function registerFormat(format: Format): void {
  formats.set(format.name, format);
}
registerFormat(jsonFormat);
registerFormat(ublFormat);

/** Known format names. */
export function formatNames(): string[] {
  return [...formats.keys()];
}

/** Renders an invoice in a route's format; the file name is the invoice number (plus a resend suffix). */
export async function renderDocument(formatName: string, invoice: CalculatedInvoice, options: Delivery['options'], baseName: string): Promise<RenderedDocument> {
  const format = formats.get(formatName);
  if (!format) throw new FormatError(`format '${formatName}' is not available in this gateway (available: ${formatNames().join(', ')})`, { field: 'format' });
  const content = await format.render(invoice, options);
  return { fileName: `${baseName}.${format.extension}`, mediaType: format.mediaType, content };
}
