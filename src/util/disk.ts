import { existsSync, statfsSync } from 'node:fs';

/** Below this much free space on the data folder's disk, status and the console warn. */
export const LOW_DISK_BYTES = 100 * 1024 * 1024;

/** Free bytes for an unprivileged writer on the disk that holds `dir`; undefined when it does not exist. */
export function freeBytes(dir: string): number | undefined {
  if (!existsSync(dir)) return undefined;
  const { bavail, bsize } = statfsSync(dir);
  return bavail * bsize;
}
