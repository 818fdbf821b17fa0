import { copyFile, lstat, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { GatewayConfig } from '../config/load.js';
import { errorMessage, failureKind, GatewayError, LeaseLostError, NodeReplacedError, ReaderError } from '../errors.js';
import type { FileRecord, Ledger } from '../ledger/ledger.js';
import type { OpenLedger } from '../ledger/open.js';
import type { Transports } from '../transports/index.js';
import { closeFormats } from '../formats/index.js';
import type { UblGate } from '../validation/gate.js';
import type { MappingThreads } from '../workers/mapping-threads.js';
import { arrivalOf, Folders, freeName, hashFile, moveInto, sidecar, writeBeside, writeErrorReports } from './folders.js';
import type { Logger } from '../observability/log.js';
import type { Outbox } from './outbox.js';
import { FileStillWrittenError, type FileOutcome, type FileProcessor } from './process-file.js';
import type { Scheduler } from './scheduler.js';
import { SoloGate } from './solo-gate.js';
import type { Issuer } from './issuing.js';
import { checkRuntime } from '../config/check-runtime.js';
import type { PeppolFollowUp } from '../peppol/follow-up.js';
import { ConfigErrors } from '../config/yaml-file.js';
import type { ExportBatcher } from './exports.js';
import { InboxWatcher, type ReadyFile } from './watcher.js';
import type { NodeParts } from '../app.js';
import { NodeHeartbeat } from './heartbeat.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { createWebServer, type ReadinessCheck, type WebServer } from '../web/server.js';
import { ConsoleService } from '../web/console-service.js';
import { standardsInstalled } from '../validation/artefacts.js';
import { UnsafeFileError } from '../util/safe-open.js';
import { usesUblValidation } from '../config/load.js';

/** A small counting semaphore: at most `limit` file jobs at once. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await job();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** A file is set aside after the process stopped this often while working on it alone (it is what stops it). */
const MAX_SOLO_STOPS = 3;

/** The running gateway: watcher → claim → file processor → ledger → outbox, plus the scheduler. */
/** How long /readyz waits for the ledger to answer a ping. */
const READY_PING_MS = 2_000;

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
  private watcher?: InboxWatcher;
  private readonly limiter: Limiter;
  /** files side by side, or one alone after a process died under it */
  private readonly soloGate = new SoloGate();
  private readonly gate: UblGate;
  /** mapping runs here: an expression that never ends cannot freeze the service */
  private readonly mappingThreads: MappingThreads;
  private readonly issuer: Issuer;
  readonly exports: ExportBatcher;
  readonly metrics: GatewayMetrics;
  private web?: WebServer;
  private readonly wake: () => void;
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopping = false;
  private stopDone: Promise<void> = Promise.resolve();
  /** file jobs waiting for the environment: each timer with the step that runs its job again */
  private readonly retryTimers = new Map<NodeJS.Timeout, () => void>();
  /** looks every second whether the validation artefacts were installed meanwhile */
  private artefactWatch?: NodeJS.Timeout;
  /** why no new file is taken now (the environment failed); cleared when a waiting file goes through */
  private intakePaused?: string;
  /** why this node is paused: the ledger cannot be reached (no file is claimed, nothing is sent) */
  /** files this process is working on, so a lease it failed to renew in time is not taken over by itself */
  private readonly activeFiles = new Set<number>();
  /** files waiting for the environment to heal before this process tries them again */
  private readonly waitingFiles = new Set<number>();
  /** inbox files handed to the claim queue and not claimed yet */
  private readonly offered = new Set<string>();
  private readonly heartbeat: NodeHeartbeat;
  /** how many times files had to wait for the environment in the outage under way (0: none) */
  private filesWaiting = 0;
  private lastOrphanScan = Date.now();
  /** called after each file, for tests and the bench */
  onFileDone?: (file: FileRecord, outcome: FileOutcome | 'duplicate') => void;
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
    this.limiter = new Limiter(s.watch.concurrency);
    this.heartbeat = new NodeHeartbeat(this.ledger, s.ledger.leaseMs, this.log, {
      paused: () => this.intakePaused,
      renewed: async () => {
        if (!this.stopping) await this.takeOverExpired();
      },
      reachableAgain: () => this.outbox.wake(),
      replaced: (err) => this.replaced(err),
    });
    // the accounting batcher waits while files are under way (their invoices go in the same batch)
    parts.exports.busy = () => this.inFlight.size > 0;
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
    await this.warmUpValidation();
    if (this.stopping) return;
    await this.recover();
    this.heartbeat.start();
    this.outbox.start();
    this.scheduler.start();
    this.exports.start();
    this.peppolFollowUp.start();
    this.watcher = new InboxWatcher(this.config.service, this.sourceFolders(), (f) => this.enqueue(f), this.log, this.offered);
    await this.watcher.start();
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

  /** Files another node claimed and whose lease expired (the node died): resumed here, exactly once. */
  private async takeOverExpired(): Promise<void> {
    for (const file of await this.ledger.takeOverFiles({ own: false })) {
      if (this.activeFiles.has(file.id) || this.waitingFiles.has(file.id)) continue;
      this.log.warn('taking over a file whose node stopped renewing its lease', { file: file.name, fileId: file.id });
      await this.resume(file);
    }
    await this.claimOrphans();
  }

  /**
   * A node that died between moving a file into processing/ and recording its claim leaves a
   * file no ledger row points to; once it has lain there longer than a lease, some node claims it
   * (the ledger's unique claim decides which). Looked for once per lease period.
   */
  private async claimOrphans(): Promise<void> {
    const leaseMs = this.config.service.ledger.leaseMs;
    if (Date.now() - this.lastOrphanScan < leaseMs) return;
    this.lastOrphanScan = Date.now();
    await this.registerOrphans(2 * leaseMs);
  }

  /** Registers the files in processing/ that no claim points to and that have lain there `minAgeMs`, except `known` ones. */
  private async registerOrphans(minAgeMs: number, known: Set<string> = new Set()): Promise<void> {
    for (const { folder } of this.sourceFolders()) {
      const dir = this.folders.processing(folder);
      let names: string[] = [];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      for (const name of names.filter((n) => !n.startsWith('.'))) {
        const path = join(dir, name);
        if (!known.has(path) && (await this.isOrphan(path, minAgeMs))) this.track(this.limiter.run(() => this.register(path, folder, name)));
      }
    }
  }

  /**
   * Whether a file in processing/ has lain there at least `minAgeMs` and no claim names this very
   * file (its arrival: no clock is compared with another, so a name used again is a new file).
   */
  private async isOrphan(path: string, minAgeMs: number): Promise<boolean> {
    const info = await lstat(path).catch(() => undefined);
    if (!info || Date.now() - info.ctimeMs < minAgeMs) return false;
    return !(await this.ledger.claimedAs(path, arrivalOf(info)));
  }

  /** Resumes a claimed file after a stop (this node's or a dead node's); one that vanished from processing/ is recorded as such. */
  private async resume(file: FileRecord): Promise<void> {
    const folder = basename(join(file.processingPath, '..'));
    try {
      await stat(file.processingPath);
    } catch {
      // its node moved it on (archive/ or error/) and stopped before recording that: the invoices it stored tell which
      const stored = (await this.ledger.invoicesOfFile(file.id)).filter((i) => i.state !== 'rejected').length;
      if (stored) {
        if (await this.ledger.markVanished(file.id, 'done', `processed (${stored} invoice(s) stored) by a node that stopped before recording it`))
          this.log.warn('a file finished by a node that stopped before recording it: recorded as done', { file: file.name, fileId: file.id, stored });
      } else if (await this.ledger.markVanished(file.id, 'error', 'the file disappeared from processing/ during a stop')) {
        this.log.error('claimed file is gone after a stop', { file: file.name, fileId: file.id });
      }
      return;
    }
    this.log.warn('resuming a file interrupted by a stop', { file: file.name, fileId: file.id });
    this.track(this.limiter.run(() => this.processActive(file, folder)));
  }

  /** Refuses to start on settings that would fail every send (a secret not set, a key file missing); logs warnings. */
  private async checkSettings(): Promise<void> {
    const { errors, warnings } = await checkRuntime(this.config);
    for (const w of warnings) this.log.warn(w);
    if (errors.length) throw new ConfigErrors(errors);
  }

  /** Files in processing/ from before a crash: resume those the ledger knows, claim the others. */
  private async recover(): Promise<void> {
    const known = new Set<string>();
    // on SQLite this process is the only one (the lock says so): a file no claim points to is its own leftover;
    // with several nodes it may be another node's file on its way to its claim, so only an old one is taken
    const alone = this.ledger.singleNode;
    const interrupted = await this.ledger.takeOverFiles({ own: true });
    if (interrupted.length) this.log.info('resuming files interrupted by the last stop', { files: interrupted.length });
    for (const file of interrupted) {
      known.add(file.processingPath);
      await this.resume(file);
    }
    await this.registerOrphans(alone ? 0 : 2 * this.config.service.ledger.leaseMs, known);
  }

  private track(job: Promise<unknown>): void {
    this.inFlight.add(job);
    void job.finally(() => this.inFlight.delete(job));
  }

  private enqueue(file: ReadyFile): void {
    if (this.stopping || this.offered.has(file.path)) return;
    // offered once: a rescan in a burst finds the file again, and a second claim of it would only fail
    this.offered.add(file.path);
    this.track(
      this.limiter.run(async () => {
        try {
          if (!this.stopping) await this.claim(file);
        } finally {
          this.offered.delete(file.path);
        }
      }),
    );
  }

  /** Claims a ready file: atomic rename into processing/ (the single winner), then the ledger record. */
  private async claim(file: ReadyFile): Promise<void> {
    // while the environment fails (disk full, ledger unreachable), new files stay in the inbox: the rescan offers them again
    if (this.intakePaused || this.heartbeat.down) return;
    const dir = this.folders.processing(file.folder);
    await mkdir(dir, { recursive: true });
    const processingPath = await freeName(dir, basename(file.path));
    try {
      await rename(file.path, processingPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // another node or a rescan took it
      this.log.error('cannot claim file', { file: basename(file.path), error: errorMessage(err) });
      return;
    }
    if (file.marker) await unlink(file.marker).catch(() => undefined);
    await this.register(processingPath, file.folder, basename(file.path));
  }

  /** Records a file that is in processing/ and processes it; duplicates and empty files end here. */
  private async register(processingPath: string, folder: string, name: string): Promise<void> {
    try {
      // this very file (its inode and modification time): a claim for it means another node has (had) it
      const arrival = arrivalOf(await lstat(processingPath));
      let contentHash: string;
      try {
        // kept originals get the gateway's own file mode (umask 027: 0640), not the writer's
        contentHash = await hashFile(processingPath, 0o666 & ~this.config.service.umask);
      } catch (err) {
        if (!(err instanceof UnsafeFileError)) throw err;
        await this.setAsideUnread(processingPath, folder, name, arrival, err);
        return;
      }
      const record = await this.ledger.claimFile({ source: folder, name, contentHash, processingPath, arrival });
      if (!record) return;
      // the claim looked for an earlier file with this content in the same statement
      const earlier = this.config.service.onDuplicateFile === 'skip' && record.sameContentAs ? await this.ledger.file(record.sameContentAs) : undefined;
      if (earlier) {
        const finalPath = await moveInto(processingPath, this.folders.duplicates(folder), name);
        await writeBeside(
          sidecar(finalPath, '.duplicate.txt'),
          `${name} has the same content (SHA-256 ${contentHash}) as ${earlier.name}, processed on ${earlier.claimedAt} (file #${earlier.id}).\nNothing was issued or sent again. To process it anyway, set onDuplicateFile: process in gateway.yaml.\n`,
        );
        await this.ledger.finishFile(record.id, 'duplicate', { finalPath, error: `same content as file #${earlier.id}` });
        this.log.warn('duplicate file skipped', { file: name, fileId: record.id, source: folder, sameAs: earlier.id });
        // it went through: if it was what waited for the disk, the intake opens again
        this.resumeIntake();
        this.onFileDone?.(record, 'duplicate');
        return;
      }
      if ((await lstat(processingPath)).size === 0) {
        const message = `the file is empty (it stayed empty for ${Math.round(this.config.service.watch.emptyFileTimeoutMs / 1000)} s)`;
        await this.refuseWhole(record, processingPath, folder, new ReaderError(message, { file: name }), {
          report: `invoice-gateway could not process ${name}\n\n${message}.\nWhat to do: check the export in the source system and drop the file again.\n`,
          log: 'empty file moved to error/',
        });
        return;
      }
      await this.processActive(record, folder, true);
    } catch (err) {
      if (failureKind(err) === 'environment' && !this.stopping) {
        // the ledger or the disk failed, not the file: it is registered again later
        this.waitForEnvironment(err, this.log.child({ file: name, source: folder }), () => this.register(processingPath, folder, name));
        return;
      }
      this.log.error('file could not be registered', { file: name, source: folder, error: errorMessage(err) });
    }
  }

  /**
   * A file that is not a plain file of its own (a link swapped in, a hard link, another owner's
   * file): recorded, moved to error/ as it is (a rename moves a link, not its target) with a report
   * that quotes nothing of it.
   */
  private async setAsideUnread(processingPath: string, folder: string, name: string, arrival: string, err: UnsafeFileError): Promise<void> {
    const record = await this.ledger.claimFile({ source: folder, name, contentHash: 'not read', processingPath, arrival });
    if (!record) return;
    await this.refuseWhole(record, processingPath, folder, err, {
      report: `invoice-gateway did not read ${name}\n\n${err.message}.\nWhat to do: drop the export itself as a plain file (no link).\n`,
      log: 'file not read: not a plain file of its own',
    });
  }

  /** A registered file refused as a whole before it was read for invoices: moved to error/ with its reports, and recorded. */
  private async refuseWhole(
    record: FileRecord,
    processingPath: string,
    folder: string,
    err: GatewayError,
    text: { report: string; log: string },
  ): Promise<void> {
    const finalPath = await moveInto(processingPath, this.folders.error(folder), record.name);
    await writeErrorReports(finalPath, text.report, { file: record.name, source: folder, rejected: [{ key: '', errors: [err.toJSON()] }] });
    await this.ledger.finishFile(record.id, 'error', { finalPath, error: err.message });
    this.log.warn(text.log, { file: record.name, fileId: record.id, source: folder, error: err.message });
    // it went through: if it was what waited for the disk, the intake opens again
    this.resumeIntake();
    this.onFileDone?.(record, { state: 'error', issued: 0, held: 0, rejected: 0, finalPath });
  }

  /**
   * Processes a claimed file. A broken environment (disk, ledger) leaves it waiting in processing/
   * and tries again later; any other unexpected failure is retried once, then the file is set
   * aside in error/ with the stack. A file a process died under is processed alone from then on; one
   * the process died under three times while alone (it is what stops the process) is set aside.
   */
  private async processClaimed(file: FileRecord, folder: string, retried = false, fresh = false): Promise<void> {
    const log = this.log.child({ file: file.name, fileId: file.id, source: folder });
    try {
      // counted on this process, which is fully started (its validation helpers answer): a kill while a
      // node starts, or while a file waits for the environment, is not the file's doing
      // (a fresh claim counted its first start itself: no extra write for every file)
      // a process died while this file was under way (killed from outside, or by this file): it is
      // taken up alone, so that only deaths with nothing else under way count against it
      const alone = !retried && !fresh && (await this.ledger.startAttempt(file.id)) >= 2;
      const outcome = await (alone
        ? this.soloGate.solo(() => this.processAlone(file, folder, log))
        : this.soloGate.beside(() => this.processor.process(file, folder)));
      this.resumeIntake();
      this.onFileDone?.(file, outcome);
    } catch (err) {
      if (err instanceof LeaseLostError) {
        log.warn('another node took this file over; this node leaves it', { error: err.message });
        return;
      }
      if (err instanceof FileStillWrittenError && !this.stopping) {
        // its writer paused longer than stableFor: nothing was numbered; looked at again once it has been still that long
        log.warn('file is still being written: nothing numbered yet; taken up again once it stays unchanged', { error: err.message });
        await this.ledger.forgetAttempt(file.id).catch(() => undefined);
        this.waitingFiles.add(file.id);
        this.later(
          async () => {
            this.waitingFiles.delete(file.id);
            await this.processActive(file, folder);
          },
          Math.max(1_000, this.config.service.watch.stableForMs),
        );
        return;
      }
      if (this.stopping) {
        // the stop closed what this file was using: left for the next start, not the file's fault
        log.warn('file left for the next start (the service is stopping)', { error: errorMessage(err) });
        await this.ledger.forgetAttempt(file.id).catch(() => undefined);
        return;
      }
      const kind = failureKind(err);
      if (kind === 'environment') {
        this.waitingFiles.add(file.id);
        await this.ledger.forgetAttempt(file.id).catch(() => undefined);
        this.waitForEnvironment(err, log, () => this.afterPause(file, folder, log));
        return;
      }
      if (!retried) {
        log.error('unexpected failure while processing a file; trying once more', { error: errorMessage(err), stack: (err as Error).stack });
        await this.processClaimed(file, folder, true, fresh);
        return;
      }
      try {
        const outcome = await this.processor.quarantine(file, folder, err, 'processing failed twice');
        log.error('file set aside in error/ after an unexpected failure', { error: errorMessage(err), report: outcome.reportPath });
        this.onFileDone?.(file, outcome);
      } catch (second) {
        log.error('file could not be set aside; it stays in processing/', { error: errorMessage(second) });
      }
    }
  }

  /** Processes a file with nothing else under way; one the process died under MAX_SOLO_STOPS times like that is set aside. */
  private async processAlone(file: FileRecord, folder: string, log: Logger): Promise<FileOutcome> {
    const starts = await this.ledger.startSoloAttempt(file.id);
    if (starts > MAX_SOLO_STOPS) {
      const outcome = await this.processor.quarantine(
        file,
        folder,
        new Error(`the gateway stopped ${MAX_SOLO_STOPS} times while processing this file with no other file under way`),
        'processing did not finish',
      );
      log.error('file set aside: the gateway stopped each time it processed this file alone', { report: outcome.reportPath, times: MAX_SOLO_STOPS });
      return outcome;
    }
    log.warn('a process stopped while this file was under way: it is processed alone now', { aloneStart: starts });
    return this.processor.process(file, folder);
  }

  /**
   * Takes a file up again after the environment failed: its lease may have expired meanwhile (the
   * ledger was unreachable) and another node may have taken it over; then this node leaves it.
   */
  private async afterPause(file: FileRecord, folder: string, log: Logger): Promise<void> {
    this.waitingFiles.delete(file.id);
    let mine: boolean;
    try {
      // a file this node finished (moved out of processing/) but could not record: only it knows the outcome, so it records it
      mine = this.processor.finishedUnrecorded(file.id) || (await this.ledger.reclaimFile(file.id));
    } catch (err) {
      if (failureKind(err) !== 'environment') throw err;
      this.waitingFiles.add(file.id);
      this.waitForEnvironment(err, log, () => this.afterPause(file, folder, log));
      return;
    }
    if (!mine) {
      log.warn('another node took this file over while this node was paused; left to it', {});
      return;
    }
    await this.processActive(file, folder);
  }

  /** Processes a claimed file, known meanwhile as this process's own (a lease it renews late is not taken over by itself). */
  private async processActive(file: FileRecord, folder: string, fresh = false): Promise<void> {
    this.activeFiles.add(file.id);
    try {
      await this.processClaimed(file, folder, false, fresh);
    } finally {
      this.activeFiles.delete(file.id);
    }
  }

  /**
   * The environment failed (disk, ledger, validator), not the file: it waits in processing/, the
   * intake pauses, and `job` runs again after a rescan interval.
   */
  private waitForEnvironment(err: unknown, log: Logger, job: () => Promise<void>): void {
    const waitMs = this.config.service.watch.rescanEveryMs;
    // an outage is said once, not once per waiting file and retry: the first file says it, the others
    // are counted (each still has its own line at debug level), and the end of the outage says how many went on
    const reason = errorMessage(err);
    if (this.filesWaiting === 0)
      log.error('files wait in processing/: the environment failed, not the files; they are tried again by themselves', {
        error: reason,
        retryInMs: waitMs,
      });
    else log.debug('file waits in processing/ for the environment', { error: reason });
    this.filesWaiting++;
    this.later(job, waitMs);
    if (!standardsInstalled()) {
      // only the files with a UBL route wait for the artefacts: the others go on, so the intake stays open
      this.watchArtefacts();
      return;
    }
    if (!this.intakePaused) this.log.error('intake paused: new files stay in the inbox until the environment works again', { error: errorMessage(err) });
    this.intakePaused = errorMessage(err);
  }

  /**
   * An operator who runs install-standards while files wait for the artefacts sees them go on at
   * once instead of after a rescan interval (the check is a stat of the install state).
   */
  private watchArtefacts(): void {
    if (this.artefactWatch) return;
    this.artefactWatch = setInterval(() => {
      if (this.stopping || !standardsInstalled()) return;
      clearInterval(this.artefactWatch);
      this.artefactWatch = undefined;
      this.log.info('validation artefacts installed: the files waiting for them go on now');
      this.retryWaitingNow();
    }, 1000);
  }

  /** Runs every waiting file job now (the first that goes through resumes the intake). */
  private retryWaitingNow(): void {
    for (const [timer, rerun] of [...this.retryTimers]) {
      clearTimeout(timer);
      rerun();
    }
  }

  private resumeIntake(): void {
    // a file went through: the ledger answers again, whatever the last renewal said
    this.heartbeat.answered();
    if (this.filesWaiting) {
      this.log.info('the environment works again: the files that waited go on', { waits: this.filesWaiting });
      this.filesWaiting = 0;
    }
    if (!this.intakePaused) return;
    this.intakePaused = undefined;
    this.log.info('intake resumed: the environment works again');
    // the files that stayed in the inbox meanwhile are offered now, not at the next rescan
    void this.watcher?.rescan();
  }

  /** Runs a file job again after a pause (the environment failed), unless the service stops first. */
  private later(job: () => Promise<void>, waitMs: number): void {
    const rerun = (): void => {
      this.retryTimers.delete(timer);
      if (!this.stopping) this.track(this.limiter.run(job));
    };
    const timer = setTimeout(rerun, waitMs);
    this.retryTimers.set(timer, rerun);
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
    this.onFileDone = (file, result) => {
      record = file;
      outcome = result;
    };
    this.outbox.start();
    await this.register(processingPath, folder, basename(path));
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
    await until(this.watcher?.stop(), 1_000);
    await until(this.web?.app.close(), 1_000);
    for (const timer of this.retryTimers.keys()) clearTimeout(timer);
    clearInterval(this.artefactWatch);
    await until(this.scheduler.stop(), 1_000);
    this.peppolFollowUp.stop();
    const filesDone = await until(Promise.allSettled([...this.inFlight]));
    if (!filesDone) {
      const left = [...this.activeFiles];
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
