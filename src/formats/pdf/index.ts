import type { SellerConfig } from '../../config/types.js';
import { describedAs } from '../../kinds/formats.js';
import type { Format } from '../document.js';
import { pdfFor, type PdfKind } from './for-route.js';
import type { PdfRenderPool } from './pool.js';

export { pdfFor } from './for-route.js';

/**
 * The PDF format (or, as `factur-x`, the PDF with the invoice's CII inside), bound to the sellers'
 * configuration (logos, websites); rendered on a pool's threads when given one.
 */
export function pdfFormat(sellers: Record<string, SellerConfig>, configDir: string, pool?: PdfRenderPool, kind: PdfKind = 'pdf'): Format {
  return {
    ...describedAs(kind),
    render: (invoice, options) => (pool ? pool.render(invoice, options, kind) : pdfFor(invoice, options, sellers, configDir, kind)),
  };
}
