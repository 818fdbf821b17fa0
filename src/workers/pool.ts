import { Worker, isMainThread, parentPort, workerData, type TransferListItem } from 'node:worker_threads';

interface Request<Q> {
  id: number;
  payload: Q;
}
interface Answer<A> {
  id: number;
  result?: A;
  error?: string;
}

/**
 * Worker side of a pool: answers each request with `handle`, in turn. A result may name the buffers to
 * move (not copy) back to the main thread.
 */
export function serveRequests<Q, A>(handle: (payload: Q) => Promise<{ result: A; transfer?: TransferListItem[] }>): void {
  const port = parentPort;
  if (!port) throw new Error('serveRequests runs inside a worker thread');
  port.on('message', (req: Request<Q>) => {
    handle(req.payload).then(
      ({ result, transfer }) => port.postMessage({ id: req.id, result } satisfies Answer<A>, transfer ?? []),
      (err: Error) => port.postMessage({ id: req.id, error: err.message } satisfies Answer<A>),
    );
  });
}

/**
 * What a pool handed to this thread when it is one of the workers of `role`; undefined on the main thread
 * and in other pools' workers (a module that serves one role may be loaded by a worker of another).
 */
export function workerSetup<T extends object>(role: string): T | undefined {
  if (isMainThread) return undefined;
  const data = workerData as { role?: string } | undefined;
  return data?.role === role ? (data as T) : undefined;
}

interface Slot {
  worker: Worker;
  busy: number;
}

/**
 * Worker threads that run one script, each request going to the least busy one. A worker that dies
 * fails only its own requests and is replaced on the next call; idle workers do not keep the process
 * alive, busy ones do (a command-line run waits for its answers).
 */
export class WorkerPool<Q, A> {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, { slot: Slot; resolve: (a: A) => void; reject: (e: Error) => void }>();
  private next = 0;
  private closed = false;

  /** `role` names the threads in errors and lets the script see it is one of them (`workerSetup`). */
  constructor(
    private readonly script: URL,
    private readonly size: number,
    private readonly role: string,
    private readonly setup: object = {},
  ) {}

  private spawn(): Slot {
    const worker = new Worker(this.script, { workerData: { ...this.setup, role: this.role } });
    const slot: Slot = { worker, busy: 0 };
    worker.unref();
    worker.on('message', (a: Answer<A>) => {
      const p = this.pending.get(a.id);
      this.pending.delete(a.id);
      this.release(slot);
      if (a.error !== undefined) p?.reject(new Error(a.error));
      else p?.resolve(a.result as A);
    });
    const fail = (reason: string): void => {
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      for (const [id, p] of this.pending) {
        if (p.slot !== slot) continue;
        this.pending.delete(id);
        p.reject(new Error(`the ${this.role} thread stopped (${reason}); the request can be retried`));
      }
    };
    worker.on('error', (err) => fail(err.message));
    worker.on('exit', (code) => fail(`exit code ${code}`));
    this.slots.push(slot);
    return slot;
  }

  private release(slot: Slot): void {
    slot.busy--;
    if (slot.busy === 0) slot.worker.unref();
  }

  /** Runs one request on a worker; rejects with the worker's error message. */
  call(payload: Q, transfer: TransferListItem[] = []): Promise<A> {
    if (this.closed) return Promise.reject(new Error(`the ${this.role} pool is closed`));
    const idle = this.slots.find((s) => s.busy === 0);
    const slot = idle ?? (this.slots.length < this.size ? this.spawn() : this.slots.reduce((a, b) => (b.busy < a.busy ? b : a)));
    if (slot.busy++ === 0) slot.worker.ref();
    const id = ++this.next;
    return new Promise<A>((resolve, reject) => {
      this.pending.set(id, { slot, resolve, reject });
      slot.worker.postMessage({ id, payload } satisfies Request<Q>, transfer);
    });
  }

  /** Stops the workers; requests still under way are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
