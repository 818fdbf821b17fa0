import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type yauzl from 'yauzl';

/** Archive kinds a mirror may hold, by name. */
export const ARCHIVE_NAME = /\.(zip|tar\.gz|tgz|tar)$/i;

async function openZip(path: string): Promise<yauzl.ZipFile> {
  // loaded when an archive is opened; yauzl refuses absolute names and "..": nothing can be written outside the target
  const { default: zipReader } = await import('yauzl');
  return new Promise((resolve, reject) => zipReader.open(path, { lazyEntries: true }, (err, zip) => (err ? reject(err) : resolve(zip))));
}

function entryStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream))));
}

/** Reads the entries of a zip one by one; `take` is called for each file entry and may consume its stream. */
export async function eachZipEntry(path: string, take: (name: string, open: () => Promise<Readable>) => Promise<void>): Promise<void> {
  const zip = await openZip(path);
  await new Promise<void>((resolve, reject) => {
    zip.on('error', reject);
    zip.on('end', resolve);
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entry.fileName.endsWith('/')) return zip.readEntry();
      take(entry.fileName, () => entryStream(zip, entry)).then(
        () => zip.readEntry(),
        (err: unknown) => {
          zip.close();
          reject(err as Error);
        },
      );
    });
    zip.readEntry();
  });
}

/** Unpacks a whole zip or tar archive into a folder. */
export async function extractAll(archive: string, into: string): Promise<void> {
  mkdirSync(into, { recursive: true });
  if (/\.zip$/i.test(archive)) {
    await eachZipEntry(archive, async (name, open) => {
      const target = join(into, name);
      mkdirSync(dirname(target), { recursive: true });
      await pipeline(await open(), createWriteStream(target));
    });
  } else {
    // tar strips absolute paths and ".." by default
    const tar = await import('tar');
    await tar.x({ file: archive, cwd: into });
  }
}
