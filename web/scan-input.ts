/**
 * Scans the page can open: a NIfTI file (.nii / .nii.gz), a DICOM study (a
 * picked or dropped folder as a PACS or CD exports it, or its files: the
 * calcium-scoring series is chosen as the CLI chooses it), or a synthetic
 * phantom. Everything is decoded here, in the tab; nothing is uploaded.
 */
import { InputError } from '../src/base/errors.js';
import { acquisitionNotes, type AcquisitionInfo } from '../src/io/acquisition.js';
import { decodeDicomStudy, describeStudy } from '../src/io/dicom-study.js';
import { decodeNifti, type NiftiHeader } from '../src/io/nifti.js';
import { generatePhantom } from '../src/phantom/phantom.js';
import type { PhantomKind } from '../src/phantom/for-network.js';
import type { LabelMap, Volume } from '../src/io/volume.js';
import { scoreScan, type ScanScore } from '../src/scoring/score.js';
import { checkCt } from '../src/scoring/validate.js';

export interface LoadedScan {
  ct: Volume;
  /** The NIfTI header it came with: the label map download reuses its grid. */
  nifti?: NiftiHeader;
  /** A short name for downloads: file stem, folder name or phantom id. */
  id: string;
  format: 'nifti' | 'dicom' | 'phantom';
  /** Ground truth, for phantoms. */
  truth?: { labels: LabelMap; score: ScanScore };
  /** For a DICOM study: the series found and the one chosen, as lines (describeStudy). */
  study?: string[];
  /** What the acquisition says, and departures from the Agatston protocol (for the report). */
  acquisition?: AcquisitionInfo;
  notes: string[];
}

/** Thrown for a file that is not a CT volume we can score; the message says why. */
export class NotCtError extends InputError {}

/** A CT volume has several slices and Hounsfield units: air and lung far below water. */
export function checkLooksLikeCt(ct: Volume): void {
  const [nx, ny, nz] = ct.dims;
  const name = ct.source;
  if (nx < 2 || ny < 2 || nz < 2) {
    throw new NotCtError(`${name}: a ${nx}×${ny}×${nz} image is not a 3D volume; a CT scan has many slices`);
  }
  try {
    checkCt(ct);
  } catch (error) {
    throw new NotCtError((error as Error).message);
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < ct.data.length; i++) {
    const v = ct.data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // Every cardiac CT field of view holds lung (about -850 HU) or air (-1000 HU).
  if (min > -500 || max < 0 || min < -3100 || max > 40000) {
    throw new NotCtError(
      `${name}: values run from ${fmt(min)} to ${fmt(max)}, which is not a CT in Hounsfield units ` +
        '(a CT holds air or lung near -1000 HU); is it an MR, a label map, or a CT stored without its rescale slope and intercept?',
    );
  }
}

function fmt(x: number): string {
  return Number(x.toPrecision(5)).toString();
}

function stem(name: string): string {
  return name.replace(/^.*[\\/]/, '').replace(/\.nii(\.gz)?$/i, '').replace(/\.dcm$/i, '') || 'scan';
}

/** Opens what the user dropped or picked: one NIfTI file, or the files of one DICOM series. */
export async function openFiles(files: readonly File[], folderName?: string): Promise<LoadedScan> {
  if (files.length === 0) throw new NotCtError('no files were given');
  const nifti = files.filter((f) => /\.nii(\.gz)?$/i.test(f.name));
  if (nifti.length > 1) throw new NotCtError(`${nifti.length} NIfTI files were given; open one scan at a time`);
  if (nifti.length === 1 && files.length === 1) return openNifti(nifti[0]!);
  if (nifti.length === 1) throw new NotCtError(`${nifti[0]!.name} came with ${files.length - 1} other files; open the NIfTI file alone, or a DICOM folder`);
  if (files.length === 1 && !(await hasDicmPrefix(files[0]!))) {
    throw new NotCtError(`${files[0]!.name}: not a NIfTI (.nii, .nii.gz) or DICOM file; open a CT volume`);
  }
  const folder = folderName ?? commonFolder(files) ?? 'DICOM study';
  const sources = files.map((f) => ({ path: relativeName(f), read: async () => new Uint8Array(await f.arrayBuffer()) }));
  try {
    const study = await decodeDicomStudy(sources, folder);
    checkLooksLikeCt(study.volume);
    return { ct: study.volume, id: stem(folder), format: 'dicom', study: describeStudy(study.choice, folder), acquisition: study.acquisition, notes: study.notes };
  } catch (error) {
    if (error instanceof InputError && !(error instanceof NotCtError)) throw new NotCtError(error.message);
    throw error;
  }
}

async function openNifti(file: File): Promise<LoadedScan> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let ct;
  try {
    ct = await decodeNifti(bytes, file.name, { ct: true });
  } catch (error) {
    if (error instanceof InputError) throw new NotCtError(error.message);
    throw error;
  }
  checkLooksLikeCt(ct);
  const { nifti, ...volume } = ct;
  return { ct: volume, nifti, id: stem(file.name), format: 'nifti', notes: acquisitionNotes({}, volume.spacing[2]) };
}

async function hasDicmPrefix(file: File): Promise<boolean> {
  if (file.size < 132) return false;
  const b = new Uint8Array(await file.slice(128, 132).arrayBuffer());
  return b[0] === 0x44 && b[1] === 0x49 && b[2] === 0x43 && b[3] === 0x4d;
}

function relativeName(f: File): string {
  return (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
}

function commonFolder(files: readonly File[]): string | undefined {
  const first = relativeName(files[0]!);
  const slash = first.indexOf('/');
  return slash > 0 ? first.slice(0, slash) : undefined;
}

/** The files under a dropped folder (DataTransfer entries), depth first. */
export async function filesFromDrop(dt: DataTransfer): Promise<{ files: File[]; folder?: string }> {
  const entries = [...dt.items].map((item) => item.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 1 && entries[0]!.isDirectory) {
    const files: File[] = [];
    await walk(entries[0] as FileSystemDirectoryEntry, files);
    return { files, folder: entries[0]!.name };
  }
  return { files: [...dt.files] };
}

async function walk(dir: FileSystemDirectoryEntry, out: File[]): Promise<void> {
  const reader = dir.createReader();
  // readEntries returns the listing in batches (100 at a time in Chrome) until an empty one.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return;
    for (const entry of batch) {
      if (entry.isFile) out.push(await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject)));
      else if (entry.isDirectory) await walk(entry as FileSystemDirectoryEntry, out);
    }
  }
}

/** A synthetic cardiac CT (of the kind the network was made for) with calcium in a chosen risk category, and its ground truth. */
export function makePhantom(seed: number, riskTarget: number, kind: PhantomKind): LoadedScan {
  const p = generatePhantom({ seed, ...kind, riskTarget });
  return {
    ct: p.ct,
    id: `phantom-${seed}-risk${riskTarget}`,
    format: 'phantom',
    truth: { labels: p.labels, score: scoreScan(p.ct, p.labels) },
    notes: [],
  };
}
