import { createHash } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TransportError, type SendRequest, type Transport } from './transport.js';

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Writes `content` as `dir/name` so that a reader never sees half a file and an existing file is
 * never overwritten: written and synced under a temporary name, then hard-linked to its name
 * (which fails if the name exists), then the temporary name removed. The same content already
 * there counts as delivered (a retry after a crash); with `sameNameIsEnough`, the name alone does
 * (mails differ in their Date header and MIME boundaries, but their name is the idempotency key).
 */
export async function writeOnce(
  dir: string,
  name: string,
  content: Buffer,
  options: { sameNameIsEnough?: boolean } = {},
): Promise<'written' | 'already there'> {
  await mkdir(dir, { recursive: true });
  const final = join(dir, name);
  const temp = join(dir, `.${name}.${process.pid}.${Date.now()}.tmp`);
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (err) {
    // a full or failing disk must not leave a temporary file behind for every retry
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await link(temp, final);
    return 'written';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (options.sameNameIsEnough) return 'already there';
    const existing = await readFile(final);
    if (sha256(existing) === sha256(content)) return 'already there';
    throw new TransportError(`${final} already exists with different content; it is not overwritten`, true);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** Delivers documents into a local or mounted folder (an accounting pick-up, a local stand-in for SFTP). */
export class FolderTransport implements Transport {
  constructor(private readonly dir: string) {}

  async send({ document }: SendRequest): Promise<string> {
    try {
      const outcome = await writeOnce(this.dir, document.fileName, document.content);
      return `${join(this.dir, document.fileName)} (${outcome})`;
    } catch (err) {
      if (err instanceof TransportError) throw err;
      // a read-only, full or unreachable folder heals (remount, space freed): the delivery waits for it
      throw new TransportError(`cannot write to ${this.dir}: ${(err as Error).message}`, false);
    }
  }

  async close(): Promise<void> {}
}
