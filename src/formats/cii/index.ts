import { describedAs } from '../../kinds/formats.js';
import type { Format } from '../document.js';
import { writeCii } from './write.js';

/** UN/CEFACT CII D16B under the EN 16931 rules (the syntax Germany and France read besides UBL). */
export const ciiFormat: Format = {
  ...describedAs('cii'),
  render: (invoice) => Buffer.from(writeCii(invoice)),
};
