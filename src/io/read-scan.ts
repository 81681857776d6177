import { stat } from 'node:fs/promises';
import { InputError } from '../gpu/errors.js';
import type { Volume } from './volume.js';
import type { NiftiHeader } from './nifti.js';
import { readNifti } from './nifti-file.js';
import { readDicomSeries } from './dicom-file.js';
import { errorCode, fileProblem } from './file-errors.js';

/** A scan as the CLI reads it; `nifti` is the source header when it came from NIfTI (reuse it for outputs). */
export interface Scan extends Volume {
  format: 'nifti' | 'dicom';
  nifti?: NiftiHeader;
}

/** Reads a CT scan: a .nii / .nii.gz file, or a folder holding one DICOM series. */
export async function readScan(path: string): Promise<Scan> {
  const info = await stat(path).catch((error: unknown) => {
    if (errorCode(error) === 'ENOENT') throw new InputError(`${path}: no such file or folder`);
    throw new InputError(`${path}: cannot read (${fileProblem(error)})`);
  });
  if (info.isDirectory()) return { ...(await readDicomSeries(path)), format: 'dicom' };
  if (/\.nii(\.gz)?$/i.test(path)) return { ...(await readNifti(path, { ct: true })), format: 'nifti' };
  throw new InputError(`${path}: not a .nii or .nii.gz file; for DICOM give the folder that holds the series`);
}
