import { describedAs } from '../../kinds/formats.js';
import type { Format } from '../document.js';
import { writeCii, XRECHNUNG_GUIDELINE } from './write.js';

/** UN/CEFACT CII D16B under the EN 16931 rules (the syntax Germany and France read besides UBL). */
export const ciiFormat: Format = {
  ...describedAs('cii'),
  render: (invoice) => Buffer.from(writeCii(invoice)),
};

/** XRechnung 3.0 in CII: the German CIUS, checked with the KoSIT rules. */
export const xrechnungCiiFormat: Format = {
  ...describedAs('xrechnung-cii'),
  render: (invoice) => Buffer.from(writeCii(invoice, { guideline: XRECHNUNG_GUIDELINE })),
};
