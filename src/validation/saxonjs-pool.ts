import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import type { Finding, ProfileName, ValidationEngine } from './engine.js';
import { SaxonJsEngine } from './saxonjs-engine.js';

interface Request { id: number; xml: string; profile: ProfileName; rulesOnly?: boolean }
interface Answer { id: number; findings?: Finding[]; error?: string }

if (!isMainThread && parentPort) {
  // A worker: one SaxonJS engine, its stylesheets loaded once, answering requests in turn.
  const engine = new SaxonJsEngine();
  const port = parentPort;
  port.on('message', (req: Request) => {
    engine.validate(req.xml, req.profile, { rulesOnly: req.rulesOnly }).then(
      (findings) => port.postMessage({ id: req.id, findings } satisfies Answer),
      (err: Error) => port.postMessage({ id: req.id, error: err.message } satisfies Answer),
    );
  });
}

/** The pure-Node engine spread over worker threads (one per core), each with the stylesheets loaded once. */
export class SaxonJsPool implements ValidationEngine {
  readonly name = 'saxon-js';
  private readonly workers: { worker: Worker; busy: number }[] = [];
  private readonly pending = new Map<number, { resolve: (f: Finding[]) => void; reject: (e: Error) => void }>();
  private next = 0;

  constructor(size = availableParallelism()) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL(import.meta.url));
      const slot = { worker, busy: 0 };
      worker.on('message', (a: Answer) => {
        slot.busy--;
        const p = this.pending.get(a.id);
        this.pending.delete(a.id);
        if (a.error !== undefined) p?.reject(new Error(a.error));
        else p?.resolve(a.findings ?? []);
      });
      this.workers.push(slot);
    }
  }

  validate(xml: string | Buffer, profile: ProfileName, options: { rulesOnly?: boolean } = {}): Promise<Finding[]> {
    const slot = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    slot.busy++;
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, xml: Buffer.isBuffer(xml) ? xml.toString('utf-8') : xml, profile, rulesOnly: options.rulesOnly } satisfies Request);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
