import type { SellerConfig } from '../../config/types.js';
import { describedAs } from '../../kinds/formats.js';
import type { Format } from '../document.js';
import { pdfFor } from './for-route.js';
import type { PdfRenderPool } from './pool.js';

export { pdfFor } from './for-route.js';

/** The PDF format, bound to the sellers' configuration (logos, websites); rendered on a pool's threads when given one. */
export function pdfFormat(sellers: Record<string, SellerConfig>, configDir: string, pool?: PdfRenderPool): Format {
  return {
    ...describedAs('pdf'),
    render: (invoice, options) => (pool ? pool.render(invoice, options) : pdfFor(invoice, options, sellers, configDir)),
  };
}
