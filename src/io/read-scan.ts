import { stat } from 'node:fs/promises';
import { InputError } from '../base/errors.js';
import type { Volume } from './volume.js';
import type { NiftiHeader } from './nifti.js';
import { readNifti } from './nifti-file.js';
import { readDicomSeries } from './dicom-file.js';

/** A scan as the CLI reads it; `nifti` is the source header when it came from NIfTI (reuse it for outputs). */
export interface Scan extends Volume {
  format: 'nifti' | 'dicom';
  nifti?: NiftiHeader;
}

/** Reads a CT scan: a .nii / .nii.gz file, or a folder holding one DICOM series. */
export async function readScan(path: string): Promise<Scan> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new InputError(`${path}: no such file or folder`);
    throw error;
  });
  if (info.isDirectory()) return { ...(await readDicomSeries(path)), format: 'dicom' };
  if (/\.nii(\.gz)?$/i.test(path)) return { ...(await readNifti(path)), format: 'nifti' };
  throw new InputError(`${path}: not a .nii or .nii.gz file; for DICOM give the folder that holds the series`);
}
