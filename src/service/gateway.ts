import { copyFile, mkdir, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { GatewayConfig } from '../config/load.js';
import { errorMessage, NodeReplacedError } from '../errors.js';
import type { FileRecord, Ledger } from '../ledger/ledger.js';
import type { OpenLedger } from '../ledger/open.js';
import type { Transports } from '../transports/index.js';
import { closeFormats } from '../formats/index.js';
import type { UblGate } from '../validation/gate.js';
import type { MappingThreads } from '../workers/mapping-threads.js';
import { freeName, type Folders } from './folders.js';
import type { Logger } from '../observability/log.js';
import type { Outbox } from './outbox.js';
import type { FileOutcome, FileProcessor } from './process-file.js';
import type { Scheduler } from './scheduler.js';
import type { Issuer } from './issuing.js';
import { checkRuntime } from '../config/check-runtime.js';
import type { PeppolFollowUp } from '../peppol/follow-up.js';
import type { BounceWatch } from './bounce-watch.js';
import { ConfigErrors } from '../config/yaml-file.js';
import type { ExportBatcher } from './exports.js';
import { FileIntake } from './intake.js';
import type { NodeParts } from '../app.js';
import { NodeHeartbeat } from './heartbeat.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { createWebServer, type ReadinessCheck, type WebServer } from '../web/server.js';
import { ConsoleService } from '../web/console-service.js';
import { standardsInstalled } from '../validation/artefacts.js';
import { usesUblValidation } from '../config/load.js';

/** How long /readyz waits for the ledger to answer a ping. */
const READY_PING_MS = 2_000;

/**
 * A running node: its file intake (watcher → claim → file processor → ledger), the outbox, the
 * scheduler, the accounting batches, the heartbeat and the console, started and stopped in order.
 */
export class GatewayService {
  readonly config: GatewayConfig;
  private readonly log: Logger;
  private readonly opened: OpenLedger;
  readonly ledger: Ledger;
  readonly folders: Folders;
  readonly transports: Transports;
  private readonly processor: FileProcessor;
  private readonly outbox: Outbox;
  private readonly scheduler: Scheduler;
  private readonly peppolFollowUp: PeppolFollowUp;
  private readonly bounces: BounceWatch;
  /** the file intake: claims, processing, waits for the environment, take-overs */
  readonly intake: FileIntake;
  private readonly gate: UblGate;
  /** mapping runs here: an expression that never ends cannot freeze the service */
  private readonly mappingThreads: MappingThreads;
  private readonly issuer: Issuer;
  readonly exports: ExportBatcher;
  readonly metrics: GatewayMetrics;
  private web?: WebServer;
  private readonly wake: () => void;
  private stopping = false;
  private stopDone: Promise<void> = Promise.resolve();
  private readonly heartbeat: NodeHeartbeat;
  /** called when another process took this node's id over (see replaced); the run command exits */
  onReplaced?: (err: NodeReplacedError) => void;

  /** A node of the parts `buildNode` (src/app.ts) made from the configuration. */
  constructor(parts: NodeParts) {
    const s = parts.config.service;
    this.config = parts.config;
    this.log = parts.log;
    this.opened = parts.opened;
    this.ledger = parts.opened.ledger;
    this.folders = parts.folders;
    this.transports = parts.transports;
    this.metrics = parts.metrics;
    this.gate = parts.gate;
    this.outbox = parts.outbox;
    this.wake = parts.wake;
    this.issuer = parts.issuer;
    this.mappingThreads = parts.mappingThreads;
    this.processor = parts.processor;
    this.scheduler = parts.scheduler;
    this.exports = parts.exports;
    this.peppolFollowUp = parts.peppolFollowUp;
    this.bounces = parts.bounces;
    this.heartbeat = new NodeHeartbeat(this.ledger, s.ledger.leaseMs, this.log, {
      paused: () => this.intake.intakePaused,
      renewed: async () => {
        if (this.stopping) return;
        await this.intake.refreshShare();
        await this.intake.takeOverExpired();
      },
      reachableAgain: () => this.outbox.wake(),
      replaced: (err) => this.replaced(err),
    });
    this.intake = new FileIntake({
      config: this.config,
      ledger: this.ledger,
      folders: this.folders,
      log: this.log,
      processor: this.processor,
      heartbeat: this.heartbeat,
      sourceFolders: () => this.sourceFolders(),
      stopping: () => this.stopping,
    });
    // the accounting batcher waits while files are under way (their invoices go in the same batch)
    parts.exports.busy = () => this.intake.inFlight.size > 0;
  }

  /** The inbox subfolders the mappings name. */
  sourceFolders(): { folder: string; doneMarkers: boolean }[] {
    const seen = new Map<string, boolean>();
    for (const m of this.config.mappings) {
      const folder = m.definition.match.folder ?? m.name;
      seen.set(
        folder,
        (seen.get(folder) ?? false) || this.config.service.watch.doneMarkers.includes(m.name) || this.config.service.watch.doneMarkers.includes(folder),
      );
    }
    return [...seen].map(([folder, doneMarkers]) => ({ folder, doneMarkers }));
  }

  /** Recovers what a crash left, then starts watching, sending and scheduling. */
  async start(): Promise<void> {
    await this.checkSettings();
    for (const { folder } of this.sourceFolders()) await mkdir(this.folders.inbox(folder), { recursive: true });
    await this.ledger.renewLeases();
    const released = await this.ledger.releaseOwnSending();
    if (released) this.log.warn('deliveries interrupted by a stop are due again', { count: released });
    this.mappingThreads.warmUp();
    await this.warmUpValidation();
    if (this.stopping) return;
    await this.intake.recover();
    this.heartbeat.start();
    this.outbox.start();
    this.scheduler.start();
    this.exports.start();
    this.peppolFollowUp.start();
    this.bounces.start();
    await this.intake.watch();
    await this.startWeb();
    this.log.info('gateway running', {
      inbox: this.config.service.inbox,
      sources: this.sourceFolders().map((f) => f.folder),
      ledger: this.ledger.description,
      node: this.ledger.nodeId,
    });
  }

  /**
   * Starts the validation helpers and waits until they answer before any file is taken: a node
   * starting on a busy machine says what it waits for, and a file is never counted against a node
   * that could not yet work on it. After the request time limit it goes on regardless (files wait).
   */
  private async warmUpValidation(): Promise<void> {
    if (!usesUblValidation(this.config) || !standardsInstalled()) return;
    const started = Date.now();
    const limitMs = this.config.service.validation.requestTimeoutMs;
    this.log.info('starting the UBL validation helpers; files are taken once they answer', { waitAtMostSeconds: limitMs / 1000 });
    const ready = await this.gate.warmUp(limitMs).catch(() => false);
    if (this.stopping) return;
    if (ready) this.log.info('validation helpers ready', { seconds: Math.round((Date.now() - started) / 100) / 10 });
    else this.log.warn('the validation helpers did not answer in time; files with a UBL route wait for them', { seconds: limitMs / 1000 });
  }

  /**
   * Serves the console, the API, /healthz, /readyz and /metrics when `console:` is configured. A
   * port that cannot be bound is said and the gateway runs on without its console.
   */
  private async startWeb(): Promise<void> {
    const settings = this.config.service.console;
    if (!settings) return;
    const console = new ConsoleService({
      config: this.config,
      ledger: this.ledger,
      issuer: this.issuer,
      gate: this.gate,
      exports: this.exports,
      readiness: () => this.readiness(),
      wake: this.wake,
      peppol: () => this.transports.peppolDirectory(),
    });
    const web = await createWebServer({
      ledger: this.ledger,
      metrics: this.metrics,
      readiness: () => this.readiness(),
      console,
      settings,
      logError: (message, meta) => this.log.error(message, meta),
    });
    try {
      const address = await web.app.listen({ host: settings.host, port: settings.port });
      this.web = web;
      this.log.info('console listening', { address, users: web.users.list().length, usersFile: settings.usersFile });
      if (!web.users.list().length) this.log.warn('the console has no users yet: add one with `invoice-gateway console-user add <name> --role admin`', {});
    } catch (err) {
      await web.app.close();
      this.log.error('the console cannot listen; the gateway runs on without it', { host: settings.host, port: settings.port, error: errorMessage(err) });
    }
  }

  /** The console's server, once it listens (the demo adds its one-time login to it). */
  get webServer(): WebServer | undefined {
    return this.web;
  }

  /** The readiness checks: the ledger answers, the validation artefacts are installed, every inbox folder is reachable. */
  async readiness(): Promise<ReadinessCheck[]> {
    const checks: ReadinessCheck[] = [];
    try {
      // a probe must answer quickly: a ledger that does not answer within the limit is not ready
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the ledger did not answer within ${READY_PING_MS / 1000} s`)), READY_PING_MS);
      });
      await Promise.race([this.ledger.ping(), limit]).finally(() => clearTimeout(timer));
      checks.push({ name: 'ledger', ok: true, detail: this.ledger.description });
    } catch (err) {
      checks.push({ name: 'ledger', ok: false, detail: errorMessage(err) });
    }
    const installed = standardsInstalled();
    checks.push({ name: 'validation', ok: installed, detail: installed ? 'official artefacts installed' : 'the validation artefacts are not installed' });
    for (const { folder } of this.sourceFolders()) {
      const dir = this.folders.inbox(folder);
      const info = await stat(dir).catch((err: NodeJS.ErrnoException) => err);
      const ok = !(info instanceof Error) && info.isDirectory();
      checks.push({ name: `inbox:${folder}`, ok, detail: ok ? dir : `${dir}: ${info instanceof Error ? info.code : 'not a folder'}` });
    }
    return checks;
  }

  /**
   * Another process runs under this node id now (this one was frozen longer than its lease): it owns
   * the id's work. This one takes nothing more and sends nothing more; `onReplaced` ends the process.
   */
  private replaced(err: NodeReplacedError): void {
    this.log.error('this node was replaced: another process runs under its id; stopping without touching its work', {
      node: this.ledger.nodeId,
      error: err.message,
    });
    // whatever it still writes is fenced off by the ledger; the process ends without it
    if (this.onReplaced) this.onReplaced(err);
    else void this.stop();
  }

  /** Refuses to start on settings that would fail every send (a secret not set, a key file missing); logs warnings. */
  private async checkSettings(): Promise<void> {
    const { errors, warnings } = await checkRuntime(this.config);
    for (const w of warnings) this.log.warn(w);
    if (errors.length) throw new ConfigErrors(errors);
  }

  /**
   * run-once: takes one file (copied, so the original stays where it is) through the pipeline, the
   * outbox and the accounting batches (written now, whatever their window), without watching;
   * `progress` is called as deliveries finish.
   */
  async runOnce(
    path: string,
    folder: string,
    progress: (done: number, total: number) => void,
  ): Promise<{ file: FileRecord | undefined; outcome?: FileOutcome | 'duplicate'; sent: number; dead: number; waiting: number }> {
    await this.checkSettings();
    const released = await this.ledger.releaseOwnSending();
    if (released) this.log.warn('deliveries interrupted by a stop are due again', { count: released });
    const dir = this.folders.processing(folder);
    await mkdir(dir, { recursive: true });
    const processingPath = await freeName(dir, basename(path));
    await copyFile(path, processingPath);
    let record: FileRecord | undefined;
    let outcome: FileOutcome | 'duplicate' | undefined;
    this.intake.onFileDone = (file, result) => {
      record = file;
      outcome = result;
    };
    this.outbox.start();
    await this.intake.register(processingPath, folder, basename(path));
    await this.scheduler.tick();
    for (;;) {
      await this.exports.tick(Date.now(), { force: true });
      const c = record ? await this.ledger.deliveryStatesOfFile(record.id) : { total: 0, sent: 0, dead: 0, failed: 0 };
      progress(c.sent + c.dead, c.total);
      if (c.sent + c.dead + c.failed >= c.total) {
        await this.outbox.stop();
        return { file: record ? await this.ledger.file(record.id) : undefined, ...(outcome ? { outcome } : {}), sent: c.sent, dead: c.dead, waiting: c.failed };
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * Graceful stop, within `stopWithin`: no new files, finish those under way, let sends complete,
   * close the ledger. What is not finished by then is left as it is (files in processing/, sends
   * due again): the next start resumes it, exactly once, from the ledger.
   */
  async stop(): Promise<void> {
    if (this.stopping) return this.stopDone;
    this.stopping = true;
    this.stopDone = this.stopWithin(this.config.service.stopWithinMs);
    return this.stopDone;
  }

  private async stopWithin(boundMs: number): Promise<void> {
    const deadline = Date.now() + boundMs;
    this.log.info('stopping: finishing work under way', { withinSeconds: boundMs / 1000 });
    /** Waits for `work` until the deadline (at least `minMs`); false when it was left unfinished. */
    const until = async (work: Promise<unknown> | undefined, minMs = 0): Promise<boolean> => {
      if (!work) return true;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), Math.max(minMs, deadline - Date.now()))));
      const done = work.then(
        () => true,
        () => true,
      );
      try {
        return await Promise.race([done, late]);
      } finally {
        clearTimeout(timer);
      }
    };
    await until(this.intake.stopTaking(), 1_000);
    await until(this.web?.app.close(), 1_000);
    await until(this.scheduler.stop(), 1_000);
    this.peppolFollowUp.stop();
    this.bounces.stop();
    const filesDone = await until(Promise.allSettled([...this.intake.inFlight]));
    if (!filesDone) {
      const left = [...this.intake.activeFiles];
      this.log.warn('stop: files still under way are left for the next start (it resumes them from the ledger)', {
        files: left.length,
        afterSeconds: boundMs / 1000,
      });
      // a stop that leaves a file is not the file's fault: it does not count towards setting it aside
      for (const id of left) await until(this.ledger.forgetAttempt(id), 1_000);
    }
    this.exports.stop();
    if (filesDone) await until(this.exports.tick());
    if (!(await until(this.outbox.stop())))
      this.log.warn('stop: sends still under way are left; they are due again at the next start', { afterSeconds: boundMs / 1000 });
    // the transports close their connections, forcibly when a server does not answer
    await until(this.transports.close(), 3_000);
    await until(closeFormats(), 1_000);
    await until(this.mappingThreads.close(), 1_000);
    await until(this.gate.close(), 3_000);
    // leases are renewed until the work under way is done, so no other node takes it over meanwhile
    await until(this.heartbeat.stop(), 1_000);
    if (filesDone)
      await until(
        this.ledger.leave().catch((err: unknown) => this.log.warn('could not sign off from the ledger', { error: errorMessage(err) })),
        2_000,
      );
    await until(this.opened.close(), 2_000);
    this.log.info('stopped', filesDone ? {} : { leftForNextStart: true });
  }
}
