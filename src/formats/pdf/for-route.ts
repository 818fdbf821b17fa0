import type { SellerConfig } from '../../config/types.js';
import type { CalculatedInvoice } from '../../model/invoice.js';
import type { Delivery } from '../../routing/route.js';
import type { UblProfile } from '../ubl/profiles.js';
import { writeUbl } from '../ubl/write.js';
import { writeCii } from '../cii/write.js';
import { logoPath, renderPdf } from './render.js';
import { own } from '../../util/own.js';

/** What a PDF carries inside: nothing but its own rendition, or (Factur-X) the invoice's CII. */
export type PdfKind = 'pdf' | 'factur-x';

/** The PDF of an invoice for a route: language from the route, logo from the seller, UBL embedded for a hybrid invoice, CII for Factur-X. */
export function pdfFor(
  invoice: CalculatedInvoice,
  options: Delivery['options'],
  sellers: Record<string, SellerConfig>,
  configDir: string,
  kind: PdfKind = 'pdf',
): Promise<Buffer> {
  const seller = own(sellers, invoice.meta.sellerKey);
  const facturX = kind === 'factur-x' ? { cii: Buffer.from(writeCii(invoice)), conformanceLevel: 'EN 16931' as const } : undefined;
  const ubl =
    options.hybrid && kind === 'pdf' && invoice.kind === 'invoice'
      ? { fileName: `${invoice.number ?? 'invoice'}.xml`, content: Buffer.from(writeUbl(invoice, { profile: (options.profile ?? 'peppol') as UblProfile })) }
      : undefined;
  return renderPdf(invoice, {
    language: options.language === 'en' ? 'en' : 'nl',
    ...(seller?.logo ? { logo: logoPath(configDir, seller.logo) } : {}),
    ...(seller?.website ? { website: seller.website } : {}),
    ...(ubl ? { ubl } : {}),
    ...(facturX ? { facturX } : {}),
  });
}
