import type { SellerConfig } from '../../config/types.js';
import type { CalculatedInvoice } from '../../model/invoice.js';
import type { Delivery } from '../../routing/route.js';
import { serveRequests, WorkerPool, workerSetup } from '../../workers/pool.js';
import { pdfFor, type PdfKind } from './for-route.js';

interface Job {
  invoice: CalculatedInvoice;
  options: Delivery['options'];
  kind: PdfKind;
}
interface Setup {
  sellers: Record<string, SellerConfig>;
  configDir: string;
}
const ROLE = 'PDF rendering';

const setup = workerSetup<Setup>(ROLE);
if (setup) {
  // A worker: fonts and logos loaded once, PDFs rendered in turn and moved (not copied) back.
  const { sellers, configDir } = setup;
  serveRequests<Job, Uint8Array>(async ({ invoice, options, kind }) => {
    const bytes = new Uint8Array(await pdfFor(invoice, options, sellers, configDir, kind));
    return { result: bytes, transfer: [bytes.buffer] };
  });
}

/**
 * PDF rendering on worker threads: a PDF takes about 10 ms of CPU, which on the main thread would hold up
 * the watcher, the ledger and the mail connections during a bulk run.
 */
export class PdfRenderPool {
  private readonly pool: WorkerPool<Job, Uint8Array>;

  constructor(threads: number, sellers: Record<string, SellerConfig>, configDir: string) {
    this.pool = new WorkerPool(new URL(import.meta.url), threads, ROLE, { sellers, configDir } satisfies Setup);
  }

  /** The PDF of an invoice for a route, rendered on a worker. */
  async render(invoice: CalculatedInvoice, options: Delivery['options'], kind: PdfKind = 'pdf'): Promise<Buffer> {
    const bytes = await this.pool.call({ invoice, options, kind });
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
