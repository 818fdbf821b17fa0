import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The files under `folders` that some process on this machine holds open for writing, read from
 * /proc (Linux; elsewhere, and for writers on another machine of a network share, nothing is
 * known and the set is empty). Only processes this user may look at are seen. A writer that pauses
 * longer than `stableFor` with its file open is still writing: its file is not taken.
 */
export async function filesOpenForWriting(folders: string[]): Promise<Set<string>> {
  const open = new Set<string>();
  if (process.platform !== 'linux') return open;
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((n) => /^\d+$/.test(n));
  } catch {
    return open;
  }
  await Promise.all(
    pids.map(async (pid) => {
      let fds: string[];
      try {
        fds = await readdir(join('/proc', pid, 'fd'));
      } catch {
        return; // gone, or not ours to see
      }
      for (const fd of fds) {
        let target: string;
        try {
          target = await readlink(join('/proc', pid, 'fd', fd));
        } catch {
          continue;
        }
        if (!folders.some((f) => target.startsWith(`${f}/`))) continue;
        try {
          const info = await readFile(join('/proc', pid, 'fdinfo', fd), 'utf-8');
          // flags are octal: O_WRONLY 01, O_RDWR 02
          const flags = parseInt(/^flags:\s*([0-7]+)/m.exec(info)?.[1] ?? '0', 8);
          if ((flags & 3) !== 0) open.add(target);
        } catch {
          // closed meanwhile
        }
      }
    }),
  );
  return open;
}
