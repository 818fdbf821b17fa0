import type { CalculatedInvoice } from '../../model/invoice.js';
import type { Delivery } from '../../routing/route.js';
import { describedAs } from '../../kinds/formats.js';
import type { Format } from '../document.js';
import type { UblProfile } from './profiles.js';
import { writeUbl } from './write.js';

let embeddedPdf: ((invoice: CalculatedInvoice, options: Delivery['options']) => Promise<Buffer>) | undefined;

/** Lets the UBL format embed a PDF rendition (route option embedPdf) without depending on the PDF module. */
export function setPdfRenderer(render: typeof embeddedPdf): void {
  embeddedPdf = render;
}

/** XRechnung 3.0 in UBL: the German CIUS, checked with the KoSIT rules. */
export const xrechnungUblFormat: Format = {
  ...describedAs('xrechnung-ubl'),
  render: (invoice) => Buffer.from(writeUbl(invoice, { profile: 'xrechnung' })),
};

/** UBL 2.1 (Peppol BIS 3 by default, NLCIUS or plain EN 16931 per route). */
export const ublFormat: Format = {
  ...describedAs('ubl'),
  async render(invoice, options) {
    const pdf = options.embedPdf && embeddedPdf ? { fileName: `${invoice.number ?? 'invoice'}.pdf`, content: await embeddedPdf(invoice, options) } : undefined;
    return Buffer.from(writeUbl(invoice, { profile: (options.profile ?? 'peppol') as UblProfile, ...(pdf ? { pdf } : {}) }));
  },
};
