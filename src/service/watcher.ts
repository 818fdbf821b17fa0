import { lstat, readdir, rename, stat } from 'node:fs/promises';
import iconv from 'iconv-lite';
import { basename, dirname, join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { ServiceSettings } from '../config/load.js';
import type { Logger } from '../observability/log.js';
import { filesOpenForWriting } from '../util/writers.js';

/** Above this many files waiting, the watcher scans instead of following events (see adjustForBurst). */
const BURST_FILES = 200;

/** Names legacy software uses while a file is still being written, and our own markers. */
const TEMPORARY = [/^\./, /^~\$/, /\.tmp$/i, /\.part$/i, /\.partial$/i, /\.filepart$/i, /\.crdownload$/i, /\.done$/i, /\.ok$/i];

/** True for names that are never taken: temporary files, dot files and done-markers. */
export function isTemporaryName(name: string): boolean {
  return TEMPORARY.some((p) => p.test(name));
}

/** Files handed on and not yet claimed: the watcher leaves them alone and counts them as its backlog. */
export interface OfferedFiles {
  has(path: string): boolean;
  readonly size: number;
}

/** Which files this node looks at first when several nodes watch the folder (see InboxShare). */
export interface WatchShare {
  mine(name: string): boolean;
  /** changes when the nodes sharing the folder change (who owns a file is then asked again) */
  readonly generation: number;
  /** a file another node should take is this node's too once it has lain in the inbox this long ... */
  othersAfterMs: number;
  /** ... and this node has room for it: how many more it may take (it helps when idle, it does not race the owner for a whole burst) */
  room(): number;
  /** how often the files of other nodes are looked over (default every second) */
  sweepEveryMs?: number;
}

/** A file that is complete and may be claimed. */
export interface ReadyFile {
  path: string;
  /** the inbox subfolder (source) */
  folder: string;
  size: number;
  /** the done-marker to remove after the claim, if the source writes one */
  marker?: string;
}

interface Tracked {
  folder: string;
  size: number;
  mtimeMs: number;
  stableSince: number;
  firstSeen: number;
}

/**
 * Watches inbox folders: chokidar events, a periodic full rescan (events get lost on shares and
 * in bursts) and a start-up scan; a file is ready when its size and time have been stable for
 * `stableFor`, or when its done-marker appears if the source writes one.
 */
export class InboxWatcher {
  private readonly tracked = new Map<string, Tracked>();
  /** files another node is to take first: not looked at until their owner is gone or late (see sweepOthers) */
  private readonly others = new Map<string, Tracked>();
  private othersSweptAt = 0;
  private othersGeneration = -1;
  /** links, pipes and devices seen in the inbox: reported once, never read */
  private readonly refused = new Set<string>();
  /** names that are not UTF-8 and could not be renamed: said once */
  private readonly unrenamable = new Set<string>();
  private watcher?: FSWatcher;
  private timers: NodeJS.Timeout[] = [];
  private checking = false;
  private readonly folderByDir = new Map<string, string>();
  /** true while a burst of files is drained by scanning instead of file-system events */
  private bursting = false;
  private scanTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly settings: ServiceSettings,
    /** inbox subfolders to watch, with whether the source writes done-markers */
    private readonly folders: { folder: string; doneMarkers: boolean }[],
    private readonly onReady: (file: ReadyFile) => void,
    private readonly log: Logger,
    /** what onReady was given and is still waiting for a claim */
    private readonly offered: OfferedFiles = new Set<string>(),
    /** several nodes on the folder: another node's files are left to it for a while (not even stat-ed) */
    private readonly share?: WatchShare,
  ) {
    for (const f of folders) this.folderByDir.set(join(settings.inbox, f.folder), f.folder);
  }

  async start(): Promise<void> {
    const dirs = [...this.folderByDir.keys()];
    const w = this.settings.watch;
    // scan mode: on SMB/NFS shares events are missed or come minutes late, so directory scans are the source
    if (w.mode === 'scan') {
      await this.rescan();
      this.timers.push(setInterval(() => void this.rescan(), w.rescanEveryMs));
      this.timers.push(setInterval(() => void this.check(), Math.max(50, Math.min(500, Math.floor(w.stableForMs / 4)))));
      return;
    }
    await this.follow(dirs);
    await this.rescan();
    this.timers.push(setInterval(() => void this.rescan(), w.rescanEveryMs));
    this.timers.push(setInterval(() => void this.check(), Math.max(50, Math.min(500, Math.floor(w.stableForMs / 4)))));
  }

  /**
   * Follows the folders' events (chokidar watches each file in them as well). Resolves once chokidar
   * has read the folders: a file that arrives before that counts as there from the start, which
   * `ignoreInitial` leaves out, so the scan that follows must come after it.
   */
  private async follow(dirs: string[]): Promise<void> {
    const watcher = watch(dirs, {
      depth: 0,
      ignoreInitial: true,
      usePolling: this.settings.watch.polling,
      interval: this.settings.watch.pollIntervalMs,
      ignored: (path: string) => isTemporaryName(basename(path)) && !this.folderByDir.has(path),
    });
    this.watcher = watcher;
    watcher.on('add', (path) => this.track(path));
    watcher.on('change', (path) => this.track(path));
    watcher.on('error', (err) => this.log.warn('watcher error; the rescan will catch up', { error: String(err) }));
    // bounded: a folder chokidar cannot read must not hold the start (the periodic rescan covers it)
    await new Promise<void>((resolve) => {
      const bound = setTimeout(resolve, 10_000);
      watcher.once('ready', () => {
        clearTimeout(bound);
        resolve();
      });
    });
  }

  /** Lists every inbox folder (start-up scan and periodic rescan). */
  async rescan(): Promise<void> {
    for (const dir of this.folderByDir.keys()) {
      let names: Buffer[];
      const listedAt = Date.now();
      try {
        names = await readdir(dir, { encoding: 'buffer' });
      } catch {
        continue;
      }
      const listed = new Set<string>();
      for (const raw of names) {
        const name = raw.toString('utf-8');
        if (Buffer.from(name, 'utf-8').equals(raw)) {
          listed.add(name);
          this.track(join(dir, name));
        } else await this.renameToUtf8(dir, raw);
      }
      // a file that left the folder (another node claimed it) is forgotten without a look at it
      if (this.share)
        for (const files of [this.tracked, this.others])
          for (const [path, t] of files) if (t.firstSeen < listedAt && dirname(path) === dir && !listed.has(basename(path))) files.delete(path);
    }
  }

  /**
   * A name that is not UTF-8 (a Windows program writing its code page to a Linux share) cannot be
   * opened by the name Node gives it: it is renamed once, read as Windows-1252, so the file goes on.
   */
  private async renameToUtf8(dir: string, raw: Buffer): Promise<void> {
    const readable = iconv.decode(raw, 'win1252').replace(/[/\\]/g, '_');
    const from = Buffer.concat([Buffer.from(`${dir}/`), raw]);
    let to = join(dir, readable);
    for (
      let n = 2;
      await lstat(to).then(
        () => true,
        () => false,
      );
      n++
    )
      to = join(dir, `${n}-${readable}`);
    try {
      await rename(from, to);
      this.log.warn('file name was not UTF-8: renamed, read as Windows-1252', { file: basename(to), source: this.folderByDir.get(dir) });
      this.track(to);
    } catch (err) {
      if (this.unrenamable.has(readable)) return;
      this.unrenamable.add(readable);
      this.log.error('a file whose name is not UTF-8 cannot be renamed; it waits in the inbox', {
        file: readable,
        source: this.folderByDir.get(dir),
        error: (err as Error).message,
      });
    }
  }

  private track(path: string): void {
    const name = basename(path);
    if (isTemporaryName(name) && !/\.(done|ok)$/i.test(name)) return;
    if (/\.(done|ok)$/i.test(name)) {
      // a marker makes its file ready at the next check
      const target = path.replace(/\.(done|ok)$/i, '');
      if (!this.tracked.has(target)) this.track(target);
      return;
    }
    const folder = this.folderByDir.get(dirname(path));
    if (folder === undefined || this.tracked.has(path) || this.others.has(path) || this.refused.has(path) || this.offered.has(path)) return;
    const entry = { folder, size: -1, mtimeMs: -1, stableSince: Date.now(), firstSeen: Date.now() };
    (this.share && !this.share.mine(name) ? this.others : this.tracked).set(path, entry);
  }

  /**
   * Once a second (`sweepEveryMs`), another node's files become this node's to look at: all of them whose owner
   * changed to this node (a node left), and, as far as this node has room, those that have waited
   * longer than `othersAfterMs` (their owner is slow or stalled).
   */
  private sweepOthers(now: number): void {
    const share = this.share;
    if (!share || !this.others.size || now - this.othersSweptAt < (share.sweepEveryMs ?? 1000)) return;
    this.othersSweptAt = now;
    const reassigned = share.generation !== this.othersGeneration;
    this.othersGeneration = share.generation;
    let room = share.room();
    for (const [path, t] of this.others) {
      const late = room > 0 && now - t.firstSeen >= share.othersAfterMs;
      if (!late && !(reassigned && share.mine(basename(path)))) continue;
      if (late && !share.mine(basename(path))) room--;
      this.others.delete(path);
      this.tracked.set(path, t);
    }
  }

  private async markerOf(path: string): Promise<string | undefined> {
    for (const suffix of ['.done', '.ok', '.DONE', '.OK']) {
      try {
        await stat(path + suffix);
        return path + suffix;
      } catch {
        // not this one
      }
    }
    return undefined;
  }

  /**
   * In a burst (thousands of files at once) chokidar re-reads and stats the whole folder on every
   * event, which costs more than the work itself; the watcher then drains the burst by scanning the
   * folders every second and returns to events when the backlog is small again. The backlog counts
   * the files handed on and not yet claimed too: they are still in the folder chokidar would read.
   */
  private async adjustForBurst(): Promise<void> {
    if (this.settings.watch.mode === 'scan') return;
    const dirs = [...this.folderByDir.keys()];
    const waiting = this.tracked.size + this.others.size + this.offered.size;
    if (!this.bursting && waiting > BURST_FILES) {
      this.bursting = true;
      // closed, not unwatched: a read under way would read the folder again and again (chokidar re-reads
      // a folder that changed while it read it), and it watches every file it saw
      const closing = this.watcher?.close();
      this.watcher = undefined;
      await closing;
      this.scanTimer = setInterval(() => void this.rescan(), 1000);
      this.log.info('many files at once: scanning the inbox instead of watching events until the backlog is done', { waiting });
    } else if (this.bursting && waiting < BURST_FILES / 4) {
      this.bursting = false;
      if (this.scanTimer) clearInterval(this.scanTimer);
      if (!this.stopped) await this.follow(dirs);
      await this.rescan();
      this.log.info('backlog done: watching events again');
    }
  }

  /** Checks tracked files for stability; ready ones are handed on and forgotten. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await this.adjustForBurst();
      const now = Date.now();
      this.sweepOthers(now);
      const w = this.settings.watch;
      // looked up once per round, and only when some file has been still long enough to be taken
      let writing: Set<string> | undefined;
      const stillWritten = async (path: string): Promise<boolean> => {
        writing ??= await filesOpenForWriting([...this.folderByDir.keys()]);
        return writing.has(path);
      };
      for (const [path, t] of this.tracked) {
        // seen, and not yet still for stableFor since it last changed: a look now could only find a
        // change, which the look when the time is up finds as well (a burst is not stat-ed over and over)
        if (t.size >= 0 && now - t.stableSince < w.stableForMs) continue;
        let info;
        try {
          // lstat: a link is not followed (a link to /etc/passwd must not be read as a CSV)
          info = await lstat(path);
        } catch {
          this.tracked.delete(path);
          continue;
        }
        if (!info.isFile()) {
          this.tracked.delete(path);
          if (!info.isDirectory()) {
            this.refused.add(path);
            this.log.warn('not a regular file (a link, pipe or device): left alone in the inbox', { file: basename(path), source: t.folder });
          }
          continue;
        }
        if (info.size !== t.size || info.mtimeMs !== t.mtimeMs) {
          t.size = info.size;
          t.mtimeMs = info.mtimeMs;
          t.stableSince = now;
          continue;
        }
        const usesMarker = this.folders.find((f) => f.folder === t.folder)?.doneMarkers ?? false;
        if (usesMarker) {
          const marker = await this.markerOf(path);
          if (!marker) continue;
          this.tracked.delete(path);
          this.onReady({ path, folder: t.folder, size: info.size, marker });
          continue;
        }
        if (now - t.stableSince < w.stableForMs) continue;
        if (info.size === 0 && now - t.firstSeen < w.emptyFileTimeoutMs) continue;
        if (await stillWritten(path)) {
          // a writer that pauses with its file open is not done: the file waits for it
          t.stableSince = now;
          continue;
        }
        this.tracked.delete(path);
        this.onReady({ path, folder: t.folder, size: info.size });
      }
    } finally {
      this.checking = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.scanTimer) clearInterval(this.scanTimer);
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.watcher?.close();
  }
}
