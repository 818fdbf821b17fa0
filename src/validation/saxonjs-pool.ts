import { availableParallelism } from 'node:os';
import { serveRequests, WorkerPool, workerSetup } from '../workers/pool.js';
import type { Finding, ProfileName, ValidateOptions, ValidationEngine } from './engine.js';
import { SaxonJsEngine } from './saxonjs-engine.js';

interface Request {
  xml: string;
  profile: ProfileName;
  rulesOnly?: boolean;
  release?: string;
}
const ROLE = 'SaxonJS validation';

if (workerSetup(ROLE)) {
  // A worker: one SaxonJS engine, its stylesheets loaded once, answering requests in turn.
  const engine = new SaxonJsEngine();
  serveRequests<Request, Finding[]>(async (req) => ({
    result: await engine.validate(req.xml, req.profile, { rulesOnly: req.rulesOnly, release: req.release }),
  }));
}

/** The pure-Node engine spread over worker threads (one per core), each with the stylesheets loaded once. */
export class SaxonJsPool implements ValidationEngine {
  readonly name = 'saxon-js';
  private readonly pool: WorkerPool<Request, Finding[]>;

  constructor(size = availableParallelism()) {
    this.pool = new WorkerPool(new URL(import.meta.url), size, ROLE);
  }

  validate(xml: string | Buffer, profile: ProfileName, options: ValidateOptions = {}): Promise<Finding[]> {
    return this.pool.call({
      xml: Buffer.isBuffer(xml) ? xml.toString('utf-8') : xml,
      profile,
      ...(options.rulesOnly !== undefined ? { rulesOnly: options.rulesOnly } : {}),
      ...(options.release !== undefined ? { release: options.release } : {}),
    });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
