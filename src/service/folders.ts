import { createHash } from 'node:crypto';
import { copyFile, mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { ServiceSettings } from '../config/load.js';
import { openDropped } from '../util/safe-open.js';

/** Where files go: the inbox and, beside the data, processing/, archive/, error/, duplicates/. */
export class Folders {
  constructor(private readonly settings: ServiceSettings) {}

  inbox(folder: string): string {
    return join(this.settings.inbox, folder);
  }
  /** Inside the inbox, so the claim is a rename on the same file system (single winner, atomic). */
  processing(folder: string): string {
    return join(this.settings.inbox, '.processing', folder);
  }
  archive(folder: string, date = new Date()): string {
    const y = String(date.getFullYear());
    const m = String(date.getMonth() + 1).padStart(2, '0');
    const d = String(date.getDate()).padStart(2, '0');
    return join(this.settings.dataDir, 'archive', y, m, d, folder);
  }
  error(folder: string): string {
    return join(this.settings.dataDir, 'error', folder);
  }
  duplicates(folder: string): string {
    return join(this.settings.dataDir, 'duplicates', folder);
  }
  ledgerFile(): string {
    return join(this.settings.dataDir, 'ledger.sqlite');
  }
}

/** The longest file name most file systems take, in bytes. */
const NAME_MAX = 255;

/**
 * The path of a file that belongs beside another (its receipt, report or note): `<path><suffix>`,
 * or, when that name would be too long for the file system, the name cut short with a hash of
 * the whole name, so a 251-byte file name still gets its receipt.
 */
export function sidecar(path: string, suffix: string): string {
  const name = basename(path);
  if (Buffer.byteLength(name + suffix) <= NAME_MAX) return `${path}${suffix}`;
  const tag = `~${createHash('sha256').update(name).digest('hex').slice(0, 8)}${suffix}`;
  let cut = name;
  while (Buffer.byteLength(cut + tag) > NAME_MAX) cut = cut.slice(0, -1);
  return join(dirname(path), cut + tag);
}

/**
 * SHA-256 of a dropped file's content, streamed (never through a link: see openDropped). With
 * `mode`, the file gets it on the way (through the same descriptor): a rename keeps the mode its
 * writer gave it (often 0644), and the originals kept in archive/, error/ and duplicates/ hold
 * customer data.
 */
export async function hashFile(path: string, mode?: number): Promise<string> {
  const hash = createHash('sha256');
  const handle = await openDropped(path);
  try {
    if (mode !== undefined) await handle.chmod(mode).catch(() => undefined);
    for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** A name in `dir` that is not taken yet: "x.csv", then "x.2.csv", "x.3.csv" ... */
/**
 * What tells this very file in processing/ from another of the same name: its inode and its
 * modification time (both the file server's, the same for every node; no node's clock counts). Not
 * the change time: the gateway's own chmod of a kept original changes that, and a claim tried again
 * after an outage must name the same file as the first try.
 */
export function arrivalOf(info: { ino: number | bigint; mtimeMs: number }): string {
  return `${info.ino}:${info.mtimeMs}`;
}

export async function freeName(dir: string, name: string): Promise<string> {
  const ext = extname(name);
  const stem = basename(name, ext);
  for (let n = 1; ; n++) {
    const candidate = join(dir, n === 1 ? name : `${stem}.${n}${ext}`);
    try {
      await stat(candidate);
    } catch {
      return candidate;
    }
  }
}

/** A base path in `dir` for `<base>.error.txt`/`.error.json` that no earlier report uses ("x.csv", "x.2.csv" ...). */
export async function freeReportBase(dir: string, name: string): Promise<string> {
  const ext = extname(name);
  const stem = basename(name, ext);
  for (let n = 1; ; n++) {
    const candidate = join(dir, n === 1 ? name : `${stem}.${n}${ext}`);
    const taken = await Promise.all(
      [candidate, sidecar(candidate, '.error.txt')].map((p) =>
        stat(p).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (!taken.some(Boolean)) return candidate;
  }
}

/**
 * Writes the two error reports of a base path: `.error.txt` for people and `.error.json` for
 * tools. Returns the path of the first.
 */
export async function writeErrorReports(base: string, text: string, json: unknown): Promise<string> {
  const forPeople = sidecar(base, '.error.txt');
  await writeBeside(forPeople, text);
  await writeBeside(sidecar(base, '.error.json'), `${JSON.stringify(json, null, 2)}\n`);
  return forPeople;
}

/** Moves a file into a folder under a free name; across file systems it copies, then removes. */
export async function moveInto(path: string, dir: string, name = basename(path)): Promise<string> {
  await mkdir(dir, { recursive: true });
  const target = await freeName(dir, name);
  try {
    await rename(path, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(path, target);
    await unlink(path);
  }
  return target;
}

/** Writes a small text file next to another (receipts, reports), creating the folder. */
export async function writeBeside(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}
