import { describedAs } from '../kinds/formats.js';
import type { Format } from './document.js';

/** The canonical invoice as JSON: for systems that read the gateway's own model, and for tests. */
export const jsonFormat: Format = {
  ...describedAs('json'),
  render(invoice) {
    const { meta: _meta, ...document } = invoice;
    return Buffer.from(`${JSON.stringify(document, null, 2)}\n`);
  },
};
