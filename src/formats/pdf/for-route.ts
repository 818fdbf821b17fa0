import type { SellerConfig } from '../../config/types.js';
import type { CalculatedInvoice } from '../../model/invoice.js';
import type { Delivery } from '../../routing/route.js';
import type { UblProfile } from '../ubl/profiles.js';
import { writeUbl } from '../ubl/write.js';
import { logoPath, renderPdf } from './render.js';
import { own } from '../../util/own.js';

/** The PDF of an invoice for a route: language from the route, logo from the seller, UBL embedded for a hybrid invoice. */
export function pdfFor(invoice: CalculatedInvoice, options: Delivery['options'], sellers: Record<string, SellerConfig>, configDir: string): Promise<Buffer> {
  const seller = own(sellers, invoice.meta.sellerKey);
  const ubl =
    options.hybrid && invoice.kind === 'invoice'
      ? { fileName: `${invoice.number ?? 'invoice'}.xml`, content: Buffer.from(writeUbl(invoice, { profile: (options.profile ?? 'peppol') as UblProfile })) }
      : undefined;
  return renderPdf(invoice, {
    language: options.language === 'en' ? 'en' : 'nl',
    ...(seller?.logo ? { logo: logoPath(configDir, seller.logo) } : {}),
    ...(seller?.website ? { website: seller.website } : {}),
    ...(ubl ? { ubl } : {}),
  });
}
