import { availableParallelism } from 'node:os';
import { parentPort, Worker } from 'node:worker_threads';
import { loadConfig, type GatewayConfig } from '../config/load.js';
import {
  ConfigError,
  EnvironmentError,
  GatewayError,
  InternalError,
  MappingError,
  ReaderError,
  RoutingError,
  RuleError,
  type ErrorLocation,
} from '../errors.js';
import { prepareFile, type PrepareOptions, type PreparedInvoice } from '../service/prepare.js';
import { UnsafeFileError } from '../util/safe-open.js';
import { workerSetup } from './pool.js';

const ROLE = 'mapping';

/** An error as it crosses the thread boundary: its class by name, so the main thread knows whose fault it is. */
interface WireError {
  name: string;
  message: string;
  location: ErrorLocation;
  code?: string;
  stack?: string;
}

type WirePrepared = (Omit<PreparedInvoice & { ok: false }, 'errors'> & { errors: WireError[] }) | (PreparedInvoice & { ok: true });

type ToThread = { type: 'file'; path: string; options: PrepareOptions } | { type: 'more' };
type FromThread = { type: 'items'; items: WirePrepared[] } | { type: 'end' } | { type: 'failed'; error: WireError };

const ERROR_CLASSES: Record<string, new (message: string, location: ErrorLocation, code?: string) => GatewayError> = {
  ReaderError,
  MappingError,
  RuleError,
  ConfigError,
  RoutingError,
  EnvironmentError,
  UnsafeFileError,
};

function toWire(err: unknown): WireError {
  if (err instanceof GatewayError) return { name: err.name, message: err.message, location: err.location, code: err.code, stack: err.stack };
  const e = err as Error & { code?: string };
  return { name: 'Error', message: e?.message ?? String(err), location: {}, ...(typeof e?.code === 'string' ? { code: e.code } : {}), stack: e?.stack };
}

function fromWire(wire: WireError): Error {
  const known = ERROR_CLASSES[wire.name];
  if (known) return new known(wire.message, wire.location, wire.code);
  if (wire.name === 'InternalError') return new InternalError(wire.message, wire.location, wire.stack);
  // an errno code (ENOSPC, EACCES) keeps saying "environment"
  return Object.assign(new Error(wire.message), { code: wire.code, stack: wire.stack });
}

/** Invoices handed over at once; the thread then waits to be asked for more (a million-line file never piles up). */
const BATCH = 200;
/** A batch is handed over after this long even when not full, so slow records still show progress. */
const FLUSH_MS = 250;

// ---- the thread: reads, maps and checks one file at a time with its own copy of the configuration
const setup = workerSetup<{ configDir: string; mappingsDir: string }>(ROLE);
if (setup && parentPort) {
  const port = parentPort;
  const config = loadConfig(setup);
  let more: (() => void) | undefined;
  port.on('message', (message: ToThread) => {
    if (message.type === 'more') {
      more?.();
      more = undefined;
      return;
    }
    void (async () => {
      let items: WirePrepared[] = [];
      let last = Date.now();
      const handOver = async (): Promise<void> => {
        const waiting = new Promise<void>((resolve) => (more = resolve));
        port.postMessage({ type: 'items', items } satisfies FromThread);
        items = [];
        last = Date.now();
        await waiting;
      };
      try {
        for await (const item of prepareFile(message.path, config, message.options)) {
          items.push(item.ok ? item : { ...item, errors: item.errors.map(toWire) });
          if (items.length >= BATCH || Date.now() - last >= FLUSH_MS) await handOver();
        }
        // the last batch is not waited on: the thread is free for the next file at once
        if (items.length) port.postMessage({ type: 'items', items } satisfies FromThread);
        port.postMessage({ type: 'end' } satisfies FromThread);
      } catch (err) {
        port.postMessage({ type: 'failed', error: toWire(err) } satisfies FromThread);
      }
    })();
  });
}

/** A mapping thread stopped for a reason of its own (not a deadline of ours). */
class ThreadStoppedError extends Error {}

/** How long mapping may take: without handing over a single invoice, and for a whole file. */
export interface MappingDeadlines {
  /** no invoice finished in this long: an expression is stuck (a regular expression that backtracks without end) */
  stallMs: number;
  /** the whole file */
  fileMs: number;
}

export const DEFAULT_MAPPING_DEADLINES: MappingDeadlines = { stallMs: 30_000, fileMs: 15 * 60_000 };

/**
 * Mapping expressions run in worker threads, a file at a time per thread, so that none of them can
 * freeze the service: a thread that hands over nothing for `stallMs`, or is not done with a file
 * after `fileMs`, is terminated (which stops even a regular expression that never returns) and the
 * file is refused with the reason; the service, its health checks and its other files go on.
 */
export class MappingThreads {
  private readonly idle: Worker[] = [];
  private readonly crashes = new WeakMap<Worker, string>();
  private busy = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly config: GatewayConfig,
    private readonly deadlines: MappingDeadlines = DEFAULT_MAPPING_DEADLINES,
    private readonly size = Math.max(1, availableParallelism()),
  ) {}

  private spawn(): Worker {
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { role: ROLE, configDir: this.config.configDir, mappingsDir: this.config.mappingsDir },
    });
    // what made a thread stop is kept for the file that was using it; a stopped thread is never handed out again
    worker.on('error', (err) => this.crashes.set(worker, err.message));
    worker.once('exit', () => {
      const i = this.idle.indexOf(worker);
      if (i >= 0) this.idle.splice(i, 1);
    });
    return worker;
  }

  private async acquire(): Promise<Worker> {
    while (this.busy >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.busy++;
    const worker = this.idle.pop() ?? this.spawn();
    worker.ref();
    return worker;
  }

  /** Gives a thread back: kept for the next file when it finished cleanly, else ended. */
  private release(worker: Worker, reusable: boolean): void {
    this.busy--;
    if (reusable && !this.closed) {
      worker.unref();
      this.idle.push(worker);
    } else void worker.terminate();
    this.waiting.shift()?.();
  }

  /**
   * The invoices of a file, prepared in a thread (the same items prepareFile yields). A thread that
   * stops for a reason of its own before it handed over anything is not the file's fault: the file
   * is then prepared here, on the main thread, as before threads (and the log says so).
   */
  async *prepare(path: string, options: PrepareOptions = {}): AsyncGenerator<PreparedInvoice> {
    let handedOver = false;
    try {
      for await (const item of this.inThread(path, options)) {
        handedOver = true;
        yield item;
      }
    } catch (err) {
      if (!(err instanceof ThreadStoppedError) || handedOver) throw err;
      this.onThreadStopped?.(err.message);
      yield* prepareFile(path, this.config, options);
    }
  }

  /** Told when a thread stopped under a file and the file was prepared on the main thread instead. */
  onThreadStopped?: (why: string) => void;

  private async *inThread(path: string, options: PrepareOptions): AsyncGenerator<PreparedInvoice> {
    if (this.closed) throw new EnvironmentError('the mapping threads are stopped', {});
    const worker = await this.acquire();
    let healthy = true;
    let done = false;
    const inbox: FromThread[] = [];
    let wake: (() => void) | undefined;
    let exited: string | undefined;
    const onMessage = (m: FromThread): void => {
      inbox.push(m);
      // the thread is done with this file: it serves the next one while this one's last invoices are consumed
      if (m.type === 'end' || m.type === 'failed') detach(true);
      wake?.();
    };
    let attached = true;
    // listeners go first: an "end" still on its way must not hand a thread that is being ended to the next file
    const detach = (reusable: boolean): void => {
      if (!attached) return;
      attached = false;
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      this.release(worker, reusable);
    };
    const onExit = (code: number): void => {
      exited = `the mapping thread stopped (exit code ${code}${this.crashes.has(worker) ? `: ${this.crashes.get(worker)}` : ''})`;
      wake?.();
    };
    worker.on('message', onMessage);
    worker.on('exit', onExit);
    const started = Date.now();
    const name = options.displayName ?? path;
    try {
      worker.postMessage({ type: 'file', path, options } satisfies ToThread);
      for (;;) {
        while (!inbox.length && !exited) {
          const left = Math.min(this.deadlines.stallMs, started + this.deadlines.fileMs - Date.now());
          let timer: NodeJS.Timeout | undefined;
          const timedOut = await new Promise<boolean>((resolve) => {
            wake = () => resolve(false);
            timer = setTimeout(() => resolve(true), Math.max(0, left));
          });
          clearTimeout(timer);
          wake = undefined;
          if (timedOut && !inbox.length) {
            healthy = false;
            detach(false);
            const whole = Date.now() - started >= this.deadlines.fileMs;
            throw new MappingError(
              whole
                ? `mapping the file took longer than ${Math.round(this.deadlines.fileMs / 1000)} s and was stopped`
                : `a mapping expression ran for ${Math.round(this.deadlines.stallMs / 1000)} s without finishing an invoice and was stopped (a regular expression that backtracks, or an expression that loops?); nothing of this file was issued`,
              { file: name },
            );
          }
        }
        const message = inbox.shift();
        if (!message) {
          healthy = false;
          throw new ThreadStoppedError(exited ?? 'the mapping thread went away');
        }
        if (message.type === 'end' || message.type === 'failed') done = true;
        if (message.type === 'end') return;
        if (message.type === 'failed') throw fromWire(message.error);
        for (const item of message.items) yield item.ok ? item : { ...item, errors: item.errors.map((e) => fromWire(e) as GatewayError) };
        // a batch followed by the end needs no answer (the thread has moved on)
        if (!done && attached && !inbox.some((m) => m.type === 'end' || m.type === 'failed')) worker.postMessage({ type: 'more' } satisfies ToThread);
      }
    } finally {
      // a file left half-read (the caller stopped early) leaves its thread mid-way: it is not reused
      detach(healthy && !exited && done);
    }
  }

  /** Stops the threads (a file under way is refused as stopped). */
  /**
   * Starts the threads ahead of the first file: each loads the gateway's code and configuration
   * (about half a second of CPU), which a burst's first files would otherwise wait for.
   */
  warmUp(): void {
    if (this.closed) return;
    while (this.idle.length + this.busy < this.size) {
      const worker = this.spawn();
      worker.unref();
      this.idle.push(worker);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.idle.splice(0).map((w) => w.terminate()));
  }
}
