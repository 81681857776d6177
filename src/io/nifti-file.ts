/**
 * NIfTI files on disk (Node only): reading a .nii / .nii.gz into a Volume, and
 * writing CT volumes and label maps atomically. The byte-level work is in
 * nifti.ts, which the browser app uses on its own.
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../base/errors.js';
import type { LabelMap, Volume } from './volume.js';
import { writeFileAtomic } from './atomic-write.js';
import {
  decodeNifti,
  encodeCtNifti,
  encodeCodeMapNifti,
  encodeLabelMapNifti,
  gzip,
  type CodeMapSpec,
  type NiftiHeader,
  type NiftiReadOptions,
  type NiftiVolume,
  type NiftiWriteOptions,
} from './nifti.js';

/** Reads a .nii or .nii.gz file into a Volume in HU. */
export async function readNifti(path: string, options: NiftiReadOptions = {}): Promise<NiftiVolume> {
  return decodeNifti(await readInputFile(path), path, options);
}

/** Reads a file's bytes, turning "no such file" and friends into an InputError. */
export async function readInputFile(path: string): Promise<Uint8Array> {
  try {
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`${path}: no such file`);
    if (code === 'EISDIR') throw new InputError(`${path}: is a folder, expected a file`);
    if (code === 'EACCES') throw new InputError(`${path}: permission denied`);
    throw error;
  }
}

/** Writes a CT volume (HU) as NIfTI-1, gzipped when `path` ends in .gz, atomically. */
export async function writeNifti(path: string, volume: Volume, options: NiftiWriteOptions = {}): Promise<void> {
  await writeEncoded(path, encodeCtNifti(volume, options, path));
}

/**
 * Writes a label map (uint8: 0 background, 1 LAD, 2 LCX, 3 RCA) on the grid
 * of `reference` (the scan's header) or, without one, of the label map's own
 * affine. Gzipped when `path` ends in .gz; atomic.
 */
export async function writeLabelMap(path: string, labels: LabelMap, reference?: NiftiHeader): Promise<void> {
  await writeEncoded(path, encodeLabelMapNifti(labels, reference, path));
}

/** Writes a uint8 code map (e.g. kinds of calcium, see CodeMapSpec) like writeLabelMap. */
export async function writeCodeMap(path: string, codes: LabelMap, spec: CodeMapSpec): Promise<void> {
  await writeEncoded(path, encodeCodeMapNifti(codes, spec, undefined, path));
}

async function writeEncoded(path: string, nii: Uint8Array): Promise<void> {
  await writeFileAtomic(path, path.endsWith('.gz') ? await gzip(nii) : nii);
}
