import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ReaderError } from '../errors.js';

/**
 * A dropped file that is not a plain file of its own: a link (a symbolic one swapped in after the
 * watcher looked, or a hard link to a file elsewhere), a device or a pipe, or a file of another
 * owner. It is never read, so nothing of it is quoted anywhere.
 */
export class UnsafeFileError extends ReaderError {}

// O_NONBLOCK: a FIFO swapped in must not block the open
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Opens a file that came through the inbox for reading, never through a link, and checks the
 * opened descriptor (not the name, which can be swapped meanwhile): a regular file, one name, owned
 * by this process's user or by the owner of the folder it lies in (the account that drops files).
 */
export async function openDropped(path: string, displayName = path): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, FLAGS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP')
      throw new UnsafeFileError('the file is a symbolic link; links are not followed, so it was not read', { file: displayName });
    throw err;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UnsafeFileError('not a regular file (a device, pipe or folder); it was not read', { file: displayName });
    if (info.nlink !== 1)
      throw new UnsafeFileError(`the file has ${info.nlink} names (hard links); only a file of its own is read, so it was not read`, { file: displayName });
    const me = process.getuid?.();
    if (me !== undefined && info.uid !== me) {
      const folderOwner = (await stat(dirname(path))).uid;
      if (info.uid !== folderOwner)
        throw new UnsafeFileError(`the file belongs to user ${info.uid}, neither the gateway's user nor the folder's owner; it was not read`, {
          file: displayName,
        });
    }
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}
