import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Writes `chunks` to `path` so that readers only ever see the old file or the
 * complete new one: the bytes go to a temporary file in the same folder (same
 * filesystem, so the final rename is atomic) and are flushed to disk first. If
 * anything fails, including the chunk producer throwing, the temporary file is
 * removed and `path` is left as it was.
 */
export async function writeFileAtomic(
  path: string,
  chunks: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx');
  try {
    try {
      for await (const chunk of chunks instanceof Uint8Array ? [chunks] : chunks) {
        await writeAll(handle, chunk);
      }
      // Without the sync a crash after the rename could leave an empty file.
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** FileHandle.write may write less than asked; loop until the chunk is out. */
async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let done = 0; done < chunk.length; ) {
    const { bytesWritten } = await handle.write(chunk, done, chunk.length - done);
    done += bytesWritten;
  }
}
