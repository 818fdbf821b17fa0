import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ArtefactError } from './artefacts.js';
import { ARCHIVE_NAME, extractAll } from './archives.js';
import { defaultDownloadPolicy, download, LookupFailedError, NotFoundError, type DownloadPolicy } from './download.js';

/**
 * A place the artefacts come from. It may hold the content of official addresses (the internet
 * itself, or a mirror laid out as `<host>/<path>`, as `wget -x` makes it) and/or files laid out as
 * installed (a copy of an installed `standards/` folder, or a folder or archive shaped like it).
 */
export interface ArtefactSource {
  readonly description: string;
  /** Readies the source (downloads and unpacks an archive) into a scratch folder. */
  prepare?(scratch: string): Promise<void>;
  /** A local copy of what an official address serves, or undefined when this source does not have it. */
  fetch?(url: string, scratch: string): Promise<string | undefined>;
  /** A file by its installed path (or, for a single-file download, by its own name), or undefined. */
  file?(installed: string, ownName?: string): string | undefined;
}

/** Tells the installer what happens (downloads, retries), for its progress lines. */
export type Progress = (line: string) => void;

/** A file name for a download or unpacked archive, unique per address or path. */
function scratchName(location: string): string {
  const name = /^https?:\/\//i.test(location) ? basename(new URL(location).pathname) : basename(location);
  return `${createHash('sha256').update(location).digest('hex').slice(0, 16)}-${name}`;
}

/** "https://host/a/b.zip" → "host/a/b.zip", where a mirror keeps it. */
export function mirrorPath(url: string): string {
  const u = new URL(url);
  return `${u.host}${decodeURIComponent(u.pathname)}`;
}

async function fetchOrAbsent(url: string, target: string, policy: DownloadPolicy, progress: Progress): Promise<string | undefined> {
  try {
    progress(`downloading ${url}`);
    await download(url, target, policy, (why) => progress(`  ${why}`));
    return target;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw new ArtefactError(`could not download ${url}: ${(err as Error).message}`, {}, err instanceof LookupFailedError ? 'LOOKUP' : undefined);
  }
}

/** The official addresses themselves (needs the internet). */
class OfficialSource implements ArtefactSource {
  readonly description = 'the official addresses';
  /** hosts whose name could not be looked up: their other addresses are not tried again */
  private readonly unknownHosts = new Map<string, string>();
  constructor(
    private readonly policy: DownloadPolicy,
    private readonly progress: Progress,
  ) {}
  async fetch(url: string, scratch: string): Promise<string | undefined> {
    const host = new URL(url).hostname;
    const known = this.unknownHosts.get(host);
    if (known) throw new ArtefactError(`could not download ${url}: ${known}`);
    try {
      return await fetchOrAbsent(url, join(scratch, scratchName(url)), this.policy, this.progress);
    } catch (err) {
      if (err instanceof ArtefactError && err.code === 'LOOKUP') this.unknownHosts.set(host, err.message.replace(/^could not download \S+: /, ''));
      throw err;
    }
  }
}

/** A web server that mirrors the official addresses as `<base>/<host>/<path>`. */
class MirrorUrlSource implements ArtefactSource {
  constructor(
    private readonly base: string,
    private readonly policy: DownloadPolicy,
    private readonly progress: Progress,
  ) {}
  get description(): string {
    return `the mirror ${this.base}`;
  }
  fetch(url: string, scratch: string): Promise<string | undefined> {
    const mirrored = new URL(mirrorPath(url).split('/').map(encodeURIComponent).join('/'), this.base.endsWith('/') ? this.base : `${this.base}/`).href;
    return fetchOrAbsent(mirrored, join(scratch, scratchName(url)), this.policy, this.progress);
  }
}

/** A local folder: a mirror of the official addresses, files laid out as installed, or both. */
class FolderSource implements ArtefactSource {
  constructor(public root: string) {}
  get description(): string {
    return `the folder ${this.root}`;
  }
  fetch(url: string): Promise<string | undefined> {
    const path = join(this.root, mirrorPath(url));
    return Promise.resolve(existsSync(path) && statSync(path).isFile() ? path : undefined);
  }
  file(installed: string, ownName?: string): string | undefined {
    for (const candidate of [join(this.root, installed), ownName ? join(this.root, ownName) : undefined]) {
      if (candidate && existsSync(candidate) && statSync(candidate).isFile()) return candidate;
    }
    return undefined;
  }
}

/** An archive (local or at a URL) holding files laid out as installed, perhaps under one top folder. */
class ArchiveSource extends FolderSource {
  constructor(
    private readonly location: string,
    private readonly policy: DownloadPolicy,
    private readonly progress: Progress,
  ) {
    super('');
  }
  override get description(): string {
    return `the archive ${this.location}`;
  }
  async prepare(scratch: string): Promise<void> {
    let archive = this.location;
    if (/^https?:\/\//.test(archive)) {
      const got = await fetchOrAbsent(archive, join(scratch, scratchName(archive)), this.policy, this.progress);
      if (!got) throw new ArtefactError(`the archive ${archive} was not found (HTTP 404)`);
      archive = got;
    }
    const into = join(scratch, `unpacked-${scratchName(this.location)}`);
    try {
      await extractAll(archive, into);
    } catch (err) {
      throw new ArtefactError(`could not unpack ${this.location}: ${(err as Error).message}`);
    }
    // an archive made with `tar czf x.tgz standards` holds everything under one top folder
    const entries = readdirSync(into);
    const only = entries.length === 1 ? join(into, entries[0]!) : undefined;
    this.root = only && statSync(only).isDirectory() && !existsSync(join(into, 'ubl-2.1')) ? only : into;
  }
  override fetch(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }
}

/**
 * The sources named by `--from` or STANDARDS_MIRROR (several separated by ";", tried in order):
 * a folder, a local archive, a URL of an archive, or the URL of a mirror. None: the official addresses.
 */
export function parseSources(spec: string | undefined, progress: Progress, policy = defaultDownloadPolicy()): ArtefactSource[] {
  const items = (spec ?? '')
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!items.length) return [new OfficialSource(policy, progress)];
  return items.map((item) => {
    if (/^https?:\/\//i.test(item))
      return ARCHIVE_NAME.test(new URL(item).pathname) ? new ArchiveSource(item, policy, progress) : new MirrorUrlSource(item, policy, progress);
    const path = resolve(item);
    if (!existsSync(path)) throw new ArtefactError(`the artefact source ${path} does not exist`);
    if (statSync(path).isDirectory()) return new FolderSource(path);
    if (ARCHIVE_NAME.test(path)) return new ArchiveSource(path, policy, progress);
    throw new ArtefactError(`the artefact source ${path} is neither a folder nor a .zip/.tar.gz archive`);
  });
}

/** A scratch folder for one source's downloads. */
export function scratchFor(base: string, index: number): string {
  const dir = join(base, `source-${index}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}
