import type { Format } from '../document.js';
import type { UblProfile } from './profiles.js';
import { writeUbl } from './write.js';

/** UBL 2.1 (Peppol BIS 3 by default, NLCIUS or plain EN 16931 per route). */
export const ublFormat: Format = {
  name: 'ubl',
  extension: 'xml',
  mediaType: 'application/xml',
  render(invoice, options) {
    return Buffer.from(writeUbl(invoice, { profile: (options.profile ?? 'peppol') as UblProfile }));
  },
};
