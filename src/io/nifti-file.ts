/**
 * NIfTI files on disk (Node only): reading a .nii / .nii.gz into a Volume, and
 * writing CT volumes and label maps atomically. The byte-level work is in
 * nifti.ts, which the browser app uses on its own.
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../base/errors.js';
import type { LabelMap, Volume } from './volume.js';
import { writeFilesAtomic, type OutputFile } from './atomic-write.js';
import { errorCode, fileProblem } from './file-errors.js';
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

/** Reads a file's bytes; every file-system failure becomes an InputError naming the file (`missing` words ENOENT). */
export async function readInputFile(path: string, missing = 'no such file'): Promise<Uint8Array> {
  try {
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') throw new InputError(`${path}: ${missing}`);
    if (code === 'EISDIR') throw new InputError(`${path}: is a folder, expected a file`);
    if (code) throw new InputError(`${path}: cannot read (${fileProblem(error)})`);
    throw error;
  }
}

/** A CT volume (HU) as a NIfTI-1 file's bytes for `path`, gzipped when it ends in .gz. */
export async function ctFile(path: string, volume: Volume, options: NiftiWriteOptions = {}): Promise<OutputFile> {
  return encoded(path, encodeCtNifti(volume, options, path));
}

/**
 * A label map (uint8: 0 background, 1 LAD, 2 LCX, 3 RCA) as a NIfTI-1 file's
 * bytes for `path`, on the grid of `reference` (the scan's header) or, without
 * one, of the label map's own affine; gzipped when `path` ends in .gz.
 */
export async function labelMapFile(path: string, labels: LabelMap, reference?: NiftiHeader): Promise<OutputFile> {
  return encoded(path, encodeLabelMapNifti(labels, reference, path));
}

/** Writes a CT volume (HU) as NIfTI-1, atomically (see ctFile). */
export async function writeNifti(path: string, volume: Volume, options: NiftiWriteOptions = {}): Promise<void> {
  await writeFilesAtomic([await ctFile(path, volume, options)]);
}

/** Writes a label map atomically (see labelMapFile). */
export async function writeLabelMap(path: string, labels: LabelMap, reference?: NiftiHeader): Promise<void> {
  await writeFilesAtomic([await labelMapFile(path, labels, reference)]);
}

/** Writes a uint8 code map (e.g. kinds of calcium, see CodeMapSpec) like writeLabelMap. */
export async function writeCodeMap(path: string, codes: LabelMap, spec: CodeMapSpec): Promise<void> {
  await writeFilesAtomic([await encoded(path, encodeCodeMapNifti(codes, spec, undefined, path))]);
}

async function encoded(path: string, nii: Uint8Array): Promise<OutputFile> {
  return { path, bytes: path.endsWith('.gz') ? await gzip(nii) : nii };
}
