import { stat } from 'node:fs/promises';
import { InputError } from '../base/errors.js';
import type { Volume } from './volume.js';
import type { NiftiHeader } from './nifti.js';
import { readNifti } from './nifti-file.js';
import { readDicomStudy } from './dicom-file.js';
import { acquisitionNotes, type AcquisitionInfo } from './acquisition.js';
import type { StudyChoice, StudyOptions } from './dicom-study.js';
import { errorCode, fileProblem } from './file-errors.js';

/** A scan as the CLI reads it; `nifti` is the source header when it came from NIfTI (reuse it for outputs). */
export interface Scan extends Volume {
  format: 'nifti' | 'dicom';
  nifti?: NiftiHeader;
  /** For a DICOM study: which series was read and what else the study held. */
  study?: StudyChoice;
  /** What the acquisition says (DICOM only; empty for NIfTI). */
  acquisition: AcquisitionInfo;
  /** Departures from the Agatston protocol (kVp, slice thickness) and padding replaced, for reports. */
  notes: string[];
}

/** Reads a CT scan: a .nii / .nii.gz file, or a DICOM study folder (see dicom-study.ts for how its series is chosen). */
export async function readScan(path: string, opts: StudyOptions = {}): Promise<Scan> {
  const info = await stat(path).catch((error: unknown) => {
    if (errorCode(error) === 'ENOENT') throw new InputError(`${path}: no such file or folder`);
    throw new InputError(`${path}: cannot read (${fileProblem(error)})`);
  });
  if (info.isDirectory()) {
    const s = await readDicomStudy(path, opts);
    return { ...s.volume, format: 'dicom', study: s.choice, acquisition: s.acquisition, notes: s.notes };
  }
  if (opts.series !== undefined) throw new InputError(`${path}: --series picks a series of a DICOM study; this is a NIfTI file`);
  if (/\.nii(\.gz)?$/i.test(path)) {
    const v = await readNifti(path, { ct: true });
    return { ...v, format: 'nifti', acquisition: {}, notes: acquisitionNotes({}, v.spacing[2]) };
  }
  throw new InputError(`${path}: not a .nii or .nii.gz file; for DICOM give the folder that holds the study or series`);
}
