/** DICOM on disk (Node only): a series folder, or a whole study folder; the decoding is in dicom.ts and dicom-study.ts. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../base/errors.js';
import type { Volume } from './volume.js';
import { decodeDicomSeries, type DicomFile } from './dicom.js';
import { decodeDicomStudy, type DicomStudy, type StudyOptions } from './dicom-study.js';
import { readInputFile } from './nifti-file.js';
import { fileProblem } from './file-errors.js';

/** The files directly in `folder` (sorted), or every file below it with `recursive`; clear errors for a missing folder or a file. */
async function listFiles(folder: string, recursive: boolean): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`${folder}: no such folder`);
    if (code === 'ENOTDIR') throw new InputError(`${folder}: is a file, expected a DICOM folder`);
    throw new InputError(`${folder}: cannot read the folder (${fileProblem(error)})`);
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    // Symbolic links are not followed: a link to a parent folder would never end.
    if (e.isFile()) out.push(join(folder, e.name));
    else if (recursive && e.isDirectory()) out.push(...(await listFiles(join(folder, e.name), true)));
  }
  return out;
}

/** Reads the one DICOM series in `folder` (non-DICOM files and subfolders are ignored). */
export async function readDicomSeries(folder: string): Promise<Volume> {
  const files: DicomFile[] = [];
  for (const path of await listFiles(folder, false)) files.push({ name: path, bytes: await readInputFile(path) });
  return decodeDicomSeries(files, folder);
}

/** Reads a study folder (walked recursively, through its DICOMDIR when it has one) and decodes its calcium-scoring series. */
export async function readDicomStudy(folder: string, opts: StudyOptions = {}): Promise<DicomStudy> {
  const paths = await listFiles(folder, true);
  return decodeDicomStudy(paths.map((path) => ({ path, read: () => readInputFile(path) })), folder, opts);
}
