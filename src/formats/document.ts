import type { CalculatedInvoice } from '../model/invoice.js';
import type { Delivery } from '../routing/route.js';

/** A rendered document, ready for a transport: bytes, media type and a safe file name. */
export interface RenderedDocument {
  fileName: string;
  mediaType: string;
  content: Buffer;
  /** extra documents that travel with it (e.g. the UBL next to a PDF in one e-mail) */
  attachments?: RenderedDocument[];
}

/** A format turns a canonical invoice into a document: pure, no I/O. */
export interface Format {
  readonly name: string;
  readonly extension: string;
  readonly mediaType: string;
  render(invoice: CalculatedInvoice, options: Delivery['options']): Promise<Buffer> | Buffer;
}
