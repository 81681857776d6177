import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

type Chunks = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** A file to write: its path and its bytes. */
export interface OutputFile {
  path: string;
  bytes: Chunks;
}

/** The temporary name a file is written under: hidden, in the same folder, with the writer's pid. */
export function temporaryName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Temporary files left by writers that are no longer running: `.name.<pid>.<hex>.tmp`. */
export const TEMPORARY_FILE = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/** Writes and flushes `chunks` to a new temporary file beside `path`; returns its name. */
async function stage(path: string, chunks: Chunks): Promise<string> {
  const temp = temporaryName(path);
  const handle = await open(temp, 'wx');
  try {
    for await (const chunk of chunks instanceof Uint8Array ? [chunks] : chunks) await writeAll(handle, chunk);
    // Without the sync a crash after the rename could leave an empty file.
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  return temp;
}

/** Makes renames in `folder` durable (best effort: not every platform opens folders). */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r').catch(() => undefined);
  await handle?.sync().catch(() => undefined);
  await handle?.close();
}

/**
 * Writes `chunks` to `path` so that readers only ever see the old file or the
 * complete new one: the bytes go to a temporary file in the same folder (same
 * filesystem, so the final rename is atomic) and are flushed to disk first. If
 * anything fails, including the chunk producer throwing, the temporary file is
 * removed and `path` is left as it was.
 */
export async function writeFileAtomic(path: string, chunks: Chunks): Promise<void> {
  await writeFilesAtomic([{ path, bytes: chunks }]);
}

/**
 * Writes several files as one set, as far as a file system allows: each is
 * first written and flushed under its temporary name, and only then are they
 * renamed into place, so a failure while writing (a full disk, a permission)
 * leaves none of them. Should a rename fail, the files this call already put
 * in place are removed again: a label map never stays without its report.
 * `beforeRename` runs with every file flushed under its temporary name.
 */
export async function writeFilesAtomic(files: readonly OutputFile[], o: { beforeRename?: () => Promise<void> } = {}): Promise<void> {
  const temps: string[] = [];
  const placed: string[] = [];
  try {
    for (const f of files) temps.push(await stage(f.path, f.bytes));
    await o.beforeRename?.();
    for (let i = 0; i < files.length; i++) {
      await rename(temps[i]!, files[i]!.path);
      placed.push(files[i]!.path);
    }
  } catch (error) {
    for (const t of temps.slice(placed.length)) await rm(t, { force: true });
    for (const p of placed) await rm(p, { force: true });
    throw error;
  }
  for (const folder of new Set(files.map((f) => dirname(f.path)))) await syncFolder(folder);
}

/** FileHandle.write may write less than asked; loop until the chunk is out. */
async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let done = 0; done < chunk.length; ) {
    const { bytesWritten } = await handle.write(chunk, done, chunk.length - done);
    done += bytesWritten;
  }
}
