import { copyFile, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { GatewayConfig } from '../config/load.js';
import { errorMessage, failureKind, ReaderError } from '../errors.js';
import type { FileRecord, Ledger } from '../ledger/ledger.js';
import { SqliteLedger } from '../ledger/sqlite.js';
import { LedgerLock } from '../ledger/lock.js';
import { mkdirSync } from 'node:fs';
import { MailTemplates } from '../mail/compose.js';
import { Transports } from '../transports/index.js';
import { closeFormats, configureFormats } from '../formats/index.js';
import { UblGate } from '../validation/gate.js';
import { Folders, freeName, hashFile, moveInto, sidecar, writeBeside, writeErrorReports } from './folders.js';
import type { Logger } from './log.js';
import { Outbox } from './outbox.js';
import { FileProcessor, type FileOutcome } from './process-file.js';
import { Scheduler } from './scheduler.js';
import { Issuer } from './issuing.js';
import { checkRuntime } from '../config/check-runtime.js';
import { ConfigErrors } from '../config/yaml-file.js';
import { ExportBatcher } from './exports.js';
import { InboxWatcher, type ReadyFile } from './watcher.js';

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

/** The running gateway: watcher → claim → file processor → ledger → outbox, plus the scheduler. */
export class GatewayService {
  readonly ledger: Ledger;
  private readonly lock: LedgerLock;
  readonly folders: Folders;
  readonly transports: Transports;
  private readonly processor: FileProcessor;
  private readonly outbox: Outbox;
  private readonly scheduler: Scheduler;
  private watcher?: InboxWatcher;
  private readonly limiter: Limiter;
  private readonly gate: UblGate;
  private readonly issuer: Issuer;
  readonly exports: ExportBatcher;
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopping = false;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** why no new file is taken now (the environment failed); cleared when a waiting file goes through */
  private intakePaused?: string;
  /** called after each file, for tests and the bench */
  onFileDone?: (file: FileRecord, outcome: FileOutcome | 'duplicate') => void;

  constructor(
    readonly config: GatewayConfig,
    private readonly log: Logger,
    options: { deliver?: boolean } = {},
  ) {
    const s = config.service;
    configureFormats(config.sellers.sellers, config.configDir, s.outbox.renderThreads);
    this.folders = new Folders(s);
    // the ledger holds whole invoices, the logs customer names: nothing the gateway creates is world-readable
    process.umask(s.umask);
    mkdirSync(s.dataDir, { recursive: true });
    this.lock = LedgerLock.acquire(this.folders.ledgerFile());
    try {
      this.ledger = new SqliteLedger(this.folders.ledgerFile());
    } catch (err) {
      this.lock.release();
      throw err;
    }
    this.transports = new Transports(s, new MailTemplates(config.configDir));
    this.gate = new UblGate(log);
    this.outbox = new Outbox(this.ledger, this.transports, s.outbox, log, this.gate);
    const wake = options.deliver === false ? () => undefined : () => this.outbox.wake();
    this.issuer = new Issuer(config, this.gate);
    this.processor = new FileProcessor(config, this.ledger, this.folders, log, this.issuer, wake);
    this.scheduler = new Scheduler(this.ledger, this.issuer, this.folders, s.scheduler.checkEveryMs, log, wake);
    this.limiter = new Limiter(s.watch.concurrency);
    this.exports = new ExportBatcher(config, this.ledger, log, () => this.inFlight.size > 0, this.transports);
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
    const released = this.ledger.releaseSending();
    if (released) this.log.warn('deliveries interrupted by a stop are due again', { count: released });
    await this.recover();
    this.outbox.start();
    this.scheduler.start();
    this.exports.start();
    this.watcher = new InboxWatcher(this.config.service, this.sourceFolders(), (f) => this.enqueue(f), this.log);
    await this.watcher.start();
    this.log.info('gateway running', {
      inbox: this.config.service.inbox,
      sources: this.sourceFolders().map((f) => f.folder),
      ledger: this.folders.ledgerFile(),
    });
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
    for (const file of this.ledger.unfinishedFiles()) {
      known.add(file.processingPath);
      const folder = basename(join(file.processingPath, '..'));
      try {
        await stat(file.processingPath);
      } catch {
        this.ledger.finishFile(file.id, 'error', { error: 'the file disappeared from processing/ during a stop' });
        this.log.error('claimed file is gone after a stop', { file: file.name, fileId: file.id });
        continue;
      }
      this.log.warn('resuming a file interrupted by a stop', { file: file.name, fileId: file.id });
      this.track(this.limiter.run(() => this.processClaimed(file, folder, false, true)));
    }
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
        if (!known.has(path)) this.track(this.limiter.run(() => this.register(path, folder, name)));
      }
    }
  }

  private track(job: Promise<unknown>): void {
    this.inFlight.add(job);
    void job.finally(() => this.inFlight.delete(job));
  }

  private enqueue(file: ReadyFile): void {
    if (this.stopping) return;
    this.track(this.limiter.run(() => (this.stopping ? Promise.resolve() : this.claim(file))));
  }

  /** Claims a ready file: atomic rename into processing/ (the single winner), then the ledger record. */
  private async claim(file: ReadyFile): Promise<void> {
    // while the environment fails (disk full, ledger unwritable), new files stay in the inbox: the rescan offers them again
    if (this.intakePaused) return;
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
      const contentHash = await hashFile(processingPath);
      const earlier = this.config.service.onDuplicateFile === 'skip' ? this.ledger.findProcessed(folder, contentHash) : undefined;
      const record = this.ledger.claimFile({ source: folder, name, contentHash, processingPath });
      if (!record) return;
      if (earlier) {
        const finalPath = await moveInto(processingPath, this.folders.duplicates(folder), name);
        await writeBeside(
          sidecar(finalPath, '.duplicate.txt'),
          `${name} has the same content (SHA-256 ${contentHash}) as ${earlier.name}, processed on ${earlier.claimedAt} (file #${earlier.id}).\nNothing was issued or sent again. To process it anyway, set onDuplicateFile: process in gateway.yaml.\n`,
        );
        this.ledger.finishFile(record.id, 'duplicate', { finalPath, error: `same content as file #${earlier.id}` });
        this.log.warn('duplicate file skipped', { file: name, fileId: record.id, source: folder, sameAs: earlier.id });
        this.onFileDone?.(record, 'duplicate');
        return;
      }
      if ((await stat(processingPath)).size === 0) {
        const finalPath = await moveInto(processingPath, this.folders.error(folder), name);
        const message = `the file is empty (it stayed empty for ${Math.round(this.config.service.watch.emptyFileTimeoutMs / 1000)} s)`;
        await writeErrorReports(
          finalPath,
          `invoice-gateway could not process ${name}\n\n${message}.\nWhat to do: check the export in the source system and drop the file again.\n`,
          { file: name, source: folder, rejected: [{ key: '', errors: [new ReaderError(message, { file: name }).toJSON()] }] },
        );
        this.ledger.finishFile(record.id, 'error', { finalPath, error: message });
        this.log.warn('empty file moved to error/', { file: name, fileId: record.id, source: folder });
        this.onFileDone?.(record, { state: 'error', issued: 0, held: 0, rejected: 0, finalPath });
        return;
      }
      await this.processClaimed(record, folder);
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
   * Processes a claimed file. A broken environment (disk, ledger) leaves it waiting in processing/
   * and tries again later; any other unexpected failure is retried once, then the file is set
   * aside in error/ with the stack. A file resumed after a stop for the third time (it may be what
   * stops the process) is set aside at once.
   */
  private async processClaimed(file: FileRecord, folder: string, retried = false, resumed = false): Promise<void> {
    const log = this.log.child({ file: file.name, fileId: file.id, source: folder });
    try {
      if (resumed && this.ledger.startAttempt(file.id) > 2) {
        const outcome = await this.processor.quarantine(
          file,
          folder,
          new Error('the gateway stopped three times while processing this file'),
          'processing did not finish',
        );
        log.error('file set aside: the gateway stopped three times while processing it', { report: outcome.reportPath });
        this.onFileDone?.(file, outcome);
        return;
      }
      const outcome = await this.processor.process(file, folder);
      this.resumeIntake();
      this.onFileDone?.(file, outcome);
    } catch (err) {
      const kind = failureKind(err);
      if (kind === 'environment') {
        this.waitForEnvironment(err, log, () => this.processClaimed(file, folder));
        return;
      }
      if (!retried) {
        log.error('unexpected failure while processing a file; trying once more', { error: errorMessage(err), stack: (err as Error).stack });
        await this.processClaimed(file, folder, true);
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

  /**
   * The environment failed (disk, ledger, validator), not the file: it waits in processing/, the
   * intake pauses, and `job` runs again after a rescan interval.
   */
  private waitForEnvironment(err: unknown, log: Logger, job: () => Promise<void>): void {
    const waitMs = this.config.service.watch.rescanEveryMs;
    log.error('file waits in processing/: the environment failed, not the file; tried again later', { error: errorMessage(err), retryInMs: waitMs });
    if (!this.intakePaused) this.log.error('intake paused: new files stay in the inbox until the environment works again', { error: errorMessage(err) });
    this.intakePaused = errorMessage(err);
    this.later(job, waitMs);
  }

  private resumeIntake(): void {
    if (!this.intakePaused) return;
    this.intakePaused = undefined;
    this.log.info('intake resumed: the environment works again');
    // files that arrived meanwhile are offered again at the next rescan
  }

  /** Runs a file job again after a pause (the environment failed), unless the service stops first. */
  private later(job: () => Promise<void>, waitMs: number): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (!this.stopping) this.track(this.limiter.run(job));
    }, waitMs);
    this.retryTimers.add(timer);
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
    const released = this.ledger.releaseSending();
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
      const c = record ? this.ledger.deliveryStatesOfFile(record.id) : { total: 0, sent: 0, dead: 0, failed: 0 };
      progress(c.sent + c.dead, c.total);
      if (c.sent + c.dead + c.failed >= c.total) {
        await this.outbox.stop();
        return { file: record ? this.ledger.file(record.id) : undefined, ...(outcome ? { outcome } : {}), sent: c.sent, dead: c.dead, waiting: c.failed };
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Graceful stop: no new files, finish those under way, let sends complete, close the ledger. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info('stopping: finishing work under way');
    await this.watcher?.stop();
    for (const timer of this.retryTimers) clearTimeout(timer);
    await this.scheduler.stop();
    await Promise.allSettled([...this.inFlight]);
    this.exports.stop();
    await this.exports.tick();
    await this.outbox.stop();
    await this.transports.close();
    await closeFormats();
    await this.gate.close();
    this.ledger.close();
    this.lock.release();
    this.log.info('stopped');
  }
}
