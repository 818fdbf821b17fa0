import { lstat, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { GatewayConfig } from '../config/load.js';
import { errorMessage, failureKind, GatewayError, LeaseLostError, ReaderError } from '../errors.js';
import type { FileRecord, Ledger } from '../ledger/ledger.js';
import type { Logger } from '../observability/log.js';
import { UnsafeFileError } from '../util/safe-open.js';
import { standardsInstalled } from '../validation/artefacts.js';
import { arrivalOf, freeName, hashFile, moveInto, sidecar, writeBeside, writeErrorReports, type Folders } from './folders.js';
import { FileStillWrittenError, type FileOutcome, type FileProcessor } from './process-file.js';
import { heartbeatEveryMs } from './heartbeat.js';
import { InboxShare } from './inbox-share.js';
import { SoloGate } from './solo-gate.js';
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

/** A file is set aside after the process stopped this often while working on it alone (it is what stops it). */
const MAX_SOLO_STOPS = 3;

/** What the intake needs from the node it runs in. */
export interface IntakeDeps {
  config: GatewayConfig;
  ledger: Ledger;
  folders: Folders;
  log: Logger;
  processor: FileProcessor;
  /** the node's heartbeat: a file that went through says the ledger answers; `down` while it does not */
  heartbeat: { answered(): void; readonly down?: string | undefined };
  /** the inbox subfolders the mappings name */
  sourceFolders(): { folder: string; doneMarkers: boolean }[];
  /** true once the node is stopping: no file is taken or tried again */
  stopping(): boolean;
}

/**
 * The file intake, as a lifecycle: a file the watcher offers (stable, or with its done-marker) is
 * **claimed** (renamed into processing/, the single winner, and recorded with its identity),
 * **processed** (alone when a process died under it before), and then **committed** (archive/ or
 * error/, and the ledger) or **rolled back**: it waits in processing/ while the environment fails
 * (the intake pauses), is left for the next start when the node stops, or is set aside only for a
 * failure that repeats on a healthy node. Files a dead node left are resumed; files no claim points
 * to are claimed once they have lain there a lease.
 */
export class FileIntake {
  private watcher?: InboxWatcher;
  private readonly limiter: Limiter;
  /** files side by side, or one alone after a process died under it */
  private readonly soloGate = new SoloGate();
  /** the file jobs under way (claims, processing, retries) */
  readonly inFlight = new Set<Promise<unknown>>();
  /** file jobs waiting for the environment: each timer with the step that runs its job again */
  private readonly retryTimers = new Map<NodeJS.Timeout, () => void>();
  /** looks every second whether the validation artefacts were installed meanwhile */
  private artefactWatch?: NodeJS.Timeout;
  /** why no new file is taken now (the environment failed); cleared when a waiting file goes through */
  intakePaused?: string;
  /** files this process is working on, so a lease it failed to renew in time is not taken over by itself */
  readonly activeFiles = new Set<number>();
  /** files waiting for the environment to heal before this process tries them again */
  private readonly waitingFiles = new Set<number>();
  /** inbox files handed to the claim queue and not claimed yet */
  private readonly offered = new Set<string>();
  /** the processing/ folders made (or found) by this process */
  private readonly processingDirs = new Set<string>();
  /** how many times files had to wait for the environment in the outage under way (0: none) */
  private filesWaiting = 0;
  private lastOrphanScan = Date.now();
  /** several nodes on one ledger: which inbox files this one takes first (undefined for a single node) */
  private readonly share?: InboxShare;
  /** called after each file, for run-once, tests and the bench */
  onFileDone?: (file: FileRecord, outcome: FileOutcome | 'duplicate') => void;

  private readonly config: GatewayConfig;
  private readonly ledger: Ledger;
  private readonly folders: Folders;
  private readonly log: Logger;
  private readonly processor: FileProcessor;

  constructor(private readonly deps: IntakeDeps) {
    this.config = deps.config;
    this.ledger = deps.ledger;
    this.folders = deps.folders;
    this.log = deps.log;
    this.processor = deps.processor;
    this.limiter = new Limiter(deps.config.service.watch.concurrency);
    // a node that misses three heartbeats is given no new files: the others share the inbox without it
    if (!deps.ledger.singleNode) this.share = new InboxShare(deps.ledger.nodeId, 3 * heartbeatEveryMs(deps.config.service.ledger.leaseMs));
  }

  /** Learns which nodes share the inbox now (after each heartbeat); a ledger that does not answer leaves the last list. */
  async refreshShare(): Promise<void> {
    if (this.share) this.share.update(await this.ledger.nodes());
  }

  /** Starts watching the inbox folders; ready files are offered to the claim queue. */
  async watch(): Promise<void> {
    const w = this.config.service.watch;
    const own = this.share;
    const share = own && {
      mine: (name: string) => own.mine(name),
      get generation() {
        return own.generation;
      },
      othersAfterMs: Math.max(5_000, 4 * w.stableForMs),
      room: () => w.concurrency - this.offered.size,
    };
    if (share) await this.refreshShare().catch(() => undefined);
    this.watcher = new InboxWatcher(this.config.service, this.deps.sourceFolders(), (f) => this.enqueue(f), this.log, this.offered, share);
    await this.watcher.start();
  }

  /** Stops watching and cancels the retries that wait for the environment (files under way go on). */
  async stopTaking(): Promise<void> {
    await this.watcher?.stop();
    for (const timer of this.retryTimers.keys()) clearTimeout(timer);
    clearInterval(this.artefactWatch);
  }

  /** Files another node claimed and whose lease expired (the node died): resumed here, exactly once. */
  async takeOverExpired(): Promise<void> {
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
    for (const { folder } of this.deps.sourceFolders()) {
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

  /** Files in processing/ from before a crash: resume those the ledger knows, claim the others. */
  async recover(): Promise<void> {
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

  track(job: Promise<unknown>): void {
    this.inFlight.add(job);
    void job.finally(() => this.inFlight.delete(job));
  }

  private enqueue(file: ReadyFile): void {
    if (this.deps.stopping() || this.offered.has(file.path)) return;
    // offered once: a rescan in a burst finds the file again, and a second claim of it would only fail
    this.offered.add(file.path);
    this.track(
      this.limiter.run(async () => {
        try {
          if (!this.deps.stopping()) await this.claim(file);
        } finally {
          this.offered.delete(file.path);
        }
      }),
    );
  }

  /** Claims a ready file: atomic rename into processing/ (the single winner), then the ledger record. */
  private async claim(file: ReadyFile): Promise<void> {
    // while the environment fails (disk full, ledger unreachable), new files stay in the inbox: the rescan offers them again
    if (this.intakePaused || this.deps.heartbeat.down) return;
    const dir = this.folders.processing(file.folder);
    // made once per folder, not for every file of a burst (made again below if someone removed it)
    if (!this.processingDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.processingDirs.add(dir);
    }
    const processingPath = await freeName(dir, basename(file.path));
    try {
      await rename(file.path, processingPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        const gone = await stat(dir).then(
          () => false,
          () => true,
        );
        if (!gone) return; // another node or a rescan took it
        this.processingDirs.delete(dir);
        return this.claim(file);
      }
      this.log.error('cannot claim file', { file: basename(file.path), error: errorMessage(err) });
      return;
    }
    if (file.marker) await unlink(file.marker).catch(() => undefined);
    await this.register(processingPath, file.folder, basename(file.path));
  }

  /** Records a file that is in processing/ and processes it; duplicates and empty files end here. */
  async register(processingPath: string, folder: string, name: string): Promise<void> {
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
      if (failureKind(err) === 'environment' && !this.deps.stopping()) {
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
      if (err instanceof FileStillWrittenError && !this.deps.stopping()) {
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
      if (this.deps.stopping()) {
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
      if (this.deps.stopping() || !standardsInstalled()) return;
      clearInterval(this.artefactWatch);
      this.artefactWatch = undefined;
      this.log.info('validation artefacts installed: the files waiting for them go on now');
      this.retryWaitingNow();
    }, 1000);
  }

  /** Runs every waiting file job now (the first that goes through resumes the intake). */
  retryWaitingNow(): void {
    for (const [timer, rerun] of [...this.retryTimers]) {
      clearTimeout(timer);
      rerun();
    }
  }

  private resumeIntake(): void {
    // a file went through: the ledger answers again, whatever the last renewal said
    this.deps.heartbeat.answered();
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
      if (!this.deps.stopping()) this.track(this.limiter.run(job));
    };
    const timer = setTimeout(rerun, waitMs);
    this.retryTimers.set(timer, rerun);
  }
}
