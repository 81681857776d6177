/**
 * The studies of a batch run, and this machine's share of them.
 *
 * A folder of studies holds one entry per study: a subfolder (a DICOM study,
 * however nested) or a .nii / .nii.gz file. A list file names one study path
 * per line (relative to the list file; blank lines and # comments skipped).
 * A study's id is its folder name or file stem; ids must be unique, because
 * they name the outputs.
 *
 * Sharding: studies sorted by id, study number k (from 0) goes to shard
 * k mod n. Every machine of a job array computes the same split from the same
 * list, with nothing shared but the list: no coordinator.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../base/errors.js';
import { UsageError } from './run-command.js';

export interface Study {
  id: string;
  path: string;
}

export interface Shard {
  index: number;
  count: number;
}

/** The id a study's path gives: folder name, or file name without .nii / .nii.gz. */
export function studyId(path: string): string {
  return basename(path.replace(/[\\/]+$/, '')).replace(/\.nii(\.gz)?$/i, '');
}

const byId = (a: Study, b: Study) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The studies `input` (a folder of studies or a list file) names, sorted by id. */
export async function listStudies(input: string): Promise<Study[]> {
  const info = await stat(input).catch(() => {
    throw new InputError(`${input}: no such folder or list file`);
  });
  const studies = info.isDirectory() ? await studiesInFolder(input) : await studiesInList(input);
  if (studies.length === 0) {
    throw new InputError(`${input}: no studies found; a folder of studies holds one subfolder (DICOM) or .nii/.nii.gz file per study, a list file one path per line`);
  }
  const seen = new Map<string, string>();
  for (const s of studies) {
    const other = seen.get(s.id);
    if (other !== undefined) throw new InputError(`${input}: two studies would share the id '${s.id}' (${other} and ${s.path}); ids name the outputs, so rename one`);
    seen.set(s.id, s.path);
  }
  return studies.sort(byId);
}

async function studiesInFolder(folder: string): Promise<Study[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() || (e.isFile() && /\.nii(\.gz)?$/i.test(e.name)))
    .map((e) => ({ id: studyId(e.name), path: join(folder, e.name) }));
}

async function studiesInList(file: string): Promise<Study[]> {
  const text = await readFile(file, 'utf8');
  const base = dirname(resolve(file));
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => ({ id: studyId(line), path: resolve(base, line) }));
}

/** Parses --shard i/n (0 <= i < n); absent means the whole list. */
export function parseShard(value: string | undefined): Shard {
  if (value === undefined) return { index: 0, count: 1 };
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const [index, count] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!m || !(count >= 1) || !(index < count)) throw new UsageError(`--shard must be i/n with 0 <= i < n (e.g. 0/4 for the first of four), got '${value}'`);
  return { index, count };
}

/** This shard's studies: those whose position in the id-sorted list is index mod count. */
export function shardStudies(studies: readonly Study[], shard: Shard): Study[] {
  return [...studies].sort(byId).filter((_, k) => k % shard.count === shard.index);
}
