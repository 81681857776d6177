/** A DICOM series folder on disk (Node only); the decoding is in dicom.ts. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../gpu/errors.js';
import type { Volume } from './volume.js';
import { decodeDicomSeries, type DicomFile } from './dicom.js';
import { readInputFile } from './nifti-file.js';
import { fileProblem } from './file-errors.js';

/** Reads the one DICOM series in `folder` (non-DICOM files and subfolders are ignored). */
export async function readDicomSeries(folder: string): Promise<Volume> {
  let names: string[];
  try {
    const entries = await readdir(folder, { withFileTypes: true });
    names = entries.filter((e) => !e.isDirectory()).map((e) => e.name).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`${folder}: no such folder`);
    if (code === 'ENOTDIR') throw new InputError(`${folder}: is a file, expected a DICOM folder`);
    throw new InputError(`${folder}: cannot read the folder (${fileProblem(error)})`);
  }
  const files: DicomFile[] = [];
  for (const name of names) {
    const path = join(folder, name);
    files.push({ name: path, bytes: await readInputFile(path) });
  }
  return decodeDicomSeries(files, folder);
}
