import { availableParallelism } from 'node:os';
import { isMainThread, workerData } from 'node:worker_threads';
import { serveRequests, WorkerPool } from '../workers/pool.js';
import type { Finding, ProfileName, ValidationEngine } from './engine.js';
import { SaxonJsEngine } from './saxonjs-engine.js';

interface Request { xml: string; profile: ProfileName; rulesOnly?: boolean }
const ROLE = 'saxonjs-validation';

if (!isMainThread && (workerData as { role?: string } | undefined)?.role === ROLE) {
  // A worker: one SaxonJS engine, its stylesheets loaded once, answering requests in turn.
  const engine = new SaxonJsEngine();
  serveRequests<Request, Finding[]>(async (req) => ({ result: await engine.validate(req.xml, req.profile, { rulesOnly: req.rulesOnly }) }));
}

/** The pure-Node engine spread over worker threads (one per core), each with the stylesheets loaded once. */
export class SaxonJsPool implements ValidationEngine {
  readonly name = 'saxon-js';
  private readonly pool: WorkerPool<Request, Finding[]>;

  constructor(size = availableParallelism()) {
    this.pool = new WorkerPool(new URL(import.meta.url), size, { role: ROLE }, 'SaxonJS validation');
  }

  validate(xml: string | Buffer, profile: ProfileName, options: { rulesOnly?: boolean } = {}): Promise<Finding[]> {
    return this.pool.call({ xml: Buffer.isBuffer(xml) ? xml.toString('utf-8') : xml, profile, ...(options.rulesOnly !== undefined ? { rulesOnly: options.rulesOnly } : {}) });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
