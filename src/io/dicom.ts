/**
 * DICOM series reading (uncompressed CT, via dicom-parser) into a Volume in HU.
 *
 * One folder holds one series. Slices are ordered by their position along the
 * slice normal, never by file name or InstanceNumber, and the voxel-to-world
 * affine is converted from DICOM's LPS to the RAS+ convention NIfTI uses.
 *
 * Pure (no Node APIs): the browser app decodes a picked folder with
 * decodeDicomSeries; readDicomSeries (dicom-file.ts) reads one from disk.
 */
import dicomParser from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import { InputError } from '../gpu/errors.js';
import type { Volume } from './volume.js';
import { MAX_VOXELS } from './nifti.js';
import { checkCtValues, checkGeometry } from './scan-plausibility.js';

/** A file's name (for messages) and bytes. */
export interface DicomFile {
  name: string;
  bytes: Uint8Array;
}

const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';

/** Names for the transfer syntaxes people meet in practice, so the error can say which one. */
const COMPRESSED: Record<string, string> = {
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline (Process 1)',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended (Process 2 & 4)',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless, Non-Hierarchical (Process 14)',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless, Non-Hierarchical, First-Order Prediction',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 (Lossless Only)',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K (Lossless Only)',
  '1.2.840.10008.1.2.4.202': 'HTJ2K with RPCL Options (Lossless Only)',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

const TAG = {
  transferSyntax: 'x00020010',
  seriesUid: 'x0020000e',
  position: 'x00200032',
  orientation: 'x00200037',
  samplesPerPixel: 'x00280002',
  frames: 'x00280008',
  rows: 'x00280010',
  columns: 'x00280011',
  pixelSpacing: 'x00280030',
  bitsAllocated: 'x00280100',
  bitsStored: 'x00280101',
  pixelRepresentation: 'x00280103',
  rescaleIntercept: 'x00281052',
  rescaleSlope: 'x00281053',
  pixelData: 'x7fe00010',
} as const;

/** What we keep of one image file until the series is sorted. */
interface Slice {
  file: string;
  seriesUid: string;
  rows: number;
  columns: number;
  /** DICOM order: [between rows (mm), between columns (mm)] */
  pixelSpacing: [number, number];
  /** Row direction cosines, then column direction cosines (LPS). */
  orientation: number[];
  position: [number, number, number];
  /** Writes this slice's HU into `out` from `offset`. */
  decode: (out: Float32Array, offset: number) => void;
}

/** The last path component (either separator), as node:path's basename would give for a file. */
function basename(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}

function fail(name: string, problem: string): InputError {
  return new InputError(`${name}: ${problem}`);
}

/** Builds the volume from a series' files; `folder` names the series in messages. */
export function decodeDicomSeries(files: readonly DicomFile[], folder: string): Volume {
  const slices = files.map(parseSlice).filter((s): s is Slice => s !== undefined);
  if (slices.length === 0) throw fail(folder, `no DICOM image files found (${files.length} files looked at)`);
  checkOneSeries(slices, folder);
  const first = slices[0]!;
  for (const s of slices) checkSameGrid(s, first);
  const { sorted, step } = sortAlongNormal(slices, folder);
  const [rows, columns] = [first.rows, first.columns];
  if (rows * columns * sorted.length > MAX_VOXELS) throw fail(folder, `${columns}×${rows}×${sorted.length} voxels is too large to load (limit ${MAX_VOXELS})`);
  const data = new Float32Array(rows * columns * sorted.length);
  sorted.forEach((s, k) => s.decode(data, k * rows * columns));
  const volume: Volume = {
    data,
    dims: [columns, rows, sorted.length],
    spacing: [first.pixelSpacing[1], first.pixelSpacing[0], step],
    affine: seriesAffine(sorted),
    source: folder,
  };
  checkGeometry(volume, folder, 'Rows/Columns, PixelSpacing and the slice positions');
  checkCtValues(volume, folder, 'RescaleSlope/RescaleIntercept');
  return volume;
}

// ------------------------------------------------------------ one file ----

function hasDicmPrefix(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/** dicom-parser throws strings, Errors, or { exception, dataSet }. */
function parserMessage(error: unknown): string {
  const inner = (error as { exception?: unknown })?.exception ?? error;
  const text = inner instanceof Error ? inner.message : String(inner);
  return text.replace(/^dicomParser[.:]\w+: /, '').split('\n')[0]!;
}

/** One image file, or undefined for files that are not DICOM images (ignored). */
function parseSlice({ name, bytes }: DicomFile): Slice | undefined {
  if (!hasDicmPrefix(bytes)) return undefined;
  let meta: DataSet;
  try {
    meta = dicomParser.readPart10Header(bytes);
  } catch (error) {
    throw fail(name, `corrupt DICOM meta header (${parserMessage(error)})`);
  }
  checkTransferSyntax(name, meta.string(TAG.transferSyntax));
  let ds: DataSet;
  try {
    ds = dicomParser.parseDicom(bytes);
  } catch (error) {
    throw fail(name, `corrupt or truncated DICOM file (${parserMessage(error)})`);
  }
  // DICOMDIR, reports and presentation states carry no pixels: not part of the volume.
  if (!ds.elements[TAG.pixelData]) return undefined;
  return imageSlice(name, ds, meta.string(TAG.transferSyntax) === EXPLICIT_BE);
}

function checkTransferSyntax(name: string, uid: string | undefined): void {
  if (uid === undefined) throw fail(name, 'DICOM meta header has no transfer syntax (0002,0010); truncated file?');
  if (uid === IMPLICIT_LE || uid === EXPLICIT_LE || uid === EXPLICIT_BE) return;
  const known = COMPRESSED[uid];
  if (known) throw fail(name, `compressed transfer syntax ${known} (${uid}) is not supported; decompress the series first (e.g. gdcmconv --raw)`);
  throw fail(name, `unsupported transfer syntax ${uid}; only uncompressed little/big endian DICOM is read`);
}

function imageSlice(name: string, ds: DataSet, bigEndian: boolean): Slice {
  const rows = required(ds.uint16(TAG.rows), name, 'Rows (0028,0010)');
  const columns = required(ds.uint16(TAG.columns), name, 'Columns (0028,0011)');
  const samples = ds.uint16(TAG.samplesPerPixel) ?? 1;
  const frames = ds.intString(TAG.frames) ?? 1;
  const bitsAllocated = ds.uint16(TAG.bitsAllocated);
  if (samples !== 1) throw fail(name, `${samples} samples per pixel (colour image); expected greyscale CT`);
  if (frames !== 1) throw fail(name, `multi-frame image (${frames} frames) is not supported; expected one slice per file`);
  if (bitsAllocated !== 16) throw fail(name, `Bits Allocated ${bitsAllocated} is not supported; expected 16`);
  const pixelSpacing = decimals(ds, TAG.pixelSpacing, 2, name, 'PixelSpacing (0028,0030)') as [number, number];
  if (!pixelSpacing.every((s) => s > 0)) throw fail(name, `pixel spacing must be positive (PixelSpacing = ${pixelSpacing.join('\\')})`);
  return {
    file: name,
    seriesUid: ds.string(TAG.seriesUid) ?? '(no SeriesInstanceUID)',
    rows,
    columns,
    pixelSpacing,
    orientation: checkOrientation(decimals(ds, TAG.orientation, 6, name, 'ImageOrientationPatient (0020,0037)'), name),
    position: decimals(ds, TAG.position, 3, name, 'ImagePositionPatient (0020,0032)') as [number, number, number],
    decode: pixelDecoder(name, ds, rows * columns, bigEndian),
  };
}

function required<T>(value: T | undefined, name: string, what: string): T {
  if (value === undefined) throw fail(name, `missing ${what}`);
  return value;
}

/** A multi-valued decimal string (DS) attribute with exactly `count` finite values. */
function decimals(ds: DataSet, tag: string, count: number, name: string, what: string): number[] {
  const text = required(ds.string(tag), name, what);
  const values = text.split('\\').map((v) => Number(v.trim()));
  if (values.length !== count || !values.every(Number.isFinite)) throw fail(name, `${what} must be ${count} numbers, got "${text}"`);
  return values;
}

/** Row and column cosines must be unit length and perpendicular, or the grid is meaningless. */
function checkOrientation(o: number[], name: string): number[] {
  const [r, c] = [o.slice(0, 3), o.slice(3, 6)];
  const ok = Math.abs(norm(r) - 1) < 1e-3 && Math.abs(norm(c) - 1) < 1e-3 && Math.abs(dot(r, c)) < 1e-3;
  if (!ok) throw fail(name, `ImageOrientationPatient ${o.join('\\')} is not two perpendicular unit vectors`);
  return o;
}

/** HU from 16-bit stored values: sign or mask by Bits Stored, then Rescale Slope/Intercept. */
function pixelDecoder(name: string, ds: DataSet, n: number, bigEndian: boolean): Slice['decode'] {
  const element = ds.elements[TAG.pixelData]!;
  if (element.encapsulatedPixelData) throw fail(name, 'pixel data is encapsulated (compressed) although the transfer syntax says uncompressed');
  if (element.length < 2 * n) throw fail(name, `pixel data has ${element.length} bytes, expected ${2 * n}; truncated file?`);
  const signed = ds.uint16(TAG.pixelRepresentation) === 1;
  const bitsStored = ds.uint16(TAG.bitsStored) ?? 16;
  if (!(bitsStored >= 1 && bitsStored <= 16)) throw fail(name, `Bits Stored ${bitsStored} is not 1..16`);
  const slope = ds.floatString(TAG.rescaleSlope) ?? 1;
  const intercept = ds.floatString(TAG.rescaleIntercept) ?? 0;
  if (!Number.isFinite(slope) || !Number.isFinite(intercept)) throw fail(name, 'RescaleSlope/RescaleIntercept are not numbers');
  const bytes = ds.byteArray;
  const view = new DataView(bytes.buffer, bytes.byteOffset + element.dataOffset, 2 * n);
  // Shifting the stored bits to the top of an int32 and back sign-extends (or masks) them.
  const shift = 32 - bitsStored;
  return (out, offset) => {
    for (let i = 0; i < n; i++) {
      const raw = view.getUint16(2 * i, !bigEndian) << shift;
      out[offset + i] = (signed ? raw >> shift : raw >>> shift) * slope + intercept;
    }
  };
}

// -------------------------------------------------------------- series ----

function checkOneSeries(slices: Slice[], folder: string): void {
  const counts = new Map<string, number>();
  for (const s of slices) counts.set(s.seriesUid, (counts.get(s.seriesUid) ?? 0) + 1);
  if (counts.size === 1) return;
  const list = [...counts].map(([uid, n]) => `${uid} (${n} files)`).join(', ');
  throw fail(folder, `${counts.size} series in one folder: ${list}; put each series in its own folder`);
}

function checkSameGrid(s: Slice, first: Slice): void {
  if (s.rows !== first.rows || s.columns !== first.columns) {
    throw fail(s.file, `image is ${s.columns}×${s.rows} but ${first.file} is ${first.columns}×${first.rows}`);
  }
  if (s.pixelSpacing.some((v, i) => Math.abs(v - first.pixelSpacing[i]!) > 1e-4)) {
    throw fail(s.file, `PixelSpacing ${s.pixelSpacing.join('\\')} differs from ${first.file} (${first.pixelSpacing.join('\\')})`);
  }
  if (s.orientation.some((v, i) => Math.abs(v - first.orientation[i]!) > 1e-4)) {
    throw fail(s.file, `ImageOrientationPatient differs from ${first.file}; the series is not one stack of parallel slices`);
  }
}

/**
 * Sorts slices by position along the normal (row × column cosines) and checks
 * the gaps are even; returns the order and the slice spacing (mm).
 */
function sortAlongNormal(slices: Slice[], folder: string): { sorted: Slice[]; step: number } {
  if (slices.length < 2) throw fail(folder, `only one image slice (${basename(slices[0]!.file)}); a 3D scan needs at least 2`);
  const o = slices[0]!.orientation;
  const normal = cross(o.slice(0, 3), o.slice(3, 6));
  const at = (s: Slice) => dot(normal, s.position);
  const sorted = [...slices].sort((a, b) => at(a) - at(b));
  const gaps = sorted.slice(1).map((s, i) => at(s) - at(sorted[i]!));
  const typical = [...gaps].sort((a, b) => a - b)[(gaps.length - 1) >> 1]!;
  gaps.forEach((gap, i) => {
    // The message already names the folder; the file names are enough.
    const [a, b] = [basename(sorted[i]!.file), basename(sorted[i + 1]!.file)];
    if (gap < 1e-3) throw fail(folder, `${a} and ${b} are at the same position (${fmt(at(sorted[i]!))} mm along the slice normal)`);
    if (Math.abs(gap - typical) <= Math.max(1e-3, 0.05 * typical)) return;
    const missing = Math.round(gap / typical) - 1;
    if (missing >= 1) {
      throw fail(folder, `missing slice${missing > 1 ? 's' : ''}: gap of ${fmt(gap)} mm between ${a} and ${b} where the spacing is ${fmt(typical)} mm (about ${missing} missing)`);
    }
    throw fail(folder, `irregular slice spacing: ${fmt(gap)} mm between ${a} and ${b}, ${fmt(typical)} mm elsewhere`);
  });
  return { sorted, step: (at(sorted[sorted.length - 1]!) - at(sorted[0]!)) / (sorted.length - 1) };
}

/**
 * Voxel (i = column, j = row, k = sorted slice) to RAS+ mm. DICOM patient
 * coordinates are LPS, so the x and y rows change sign. The k column is the
 * actual step between slice positions, which keeps gantry tilt (shear) exact.
 */
function seriesAffine(sorted: Slice[]): number[] {
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  const o = first.orientation;
  const [dy, dx] = first.pixelSpacing;
  const step = first.position.map((p, a) => (last.position[a]! - p) / (sorted.length - 1));
  const lps = [0, 1, 2].map((a) => [o[a]! * dx, o[3 + a]! * dy, step[a]!, first.position[a]!]);
  const ras = lps.map((row, a) => (a < 2 ? row.map((x) => -x || 0) : row));
  return [...ras.flat(), 0, 0, 0, 1];
}

function dot(u: number[], v: number[]): number {
  return u[0]! * v[0]! + u[1]! * v[1]! + u[2]! * v[2]!;
}

function norm(u: number[]): number {
  return Math.hypot(u[0]!, u[1]!, u[2]!);
}

function cross(u: number[], v: number[]): number[] {
  return [u[1]! * v[2]! - u[2]! * v[1]!, u[2]! * v[0]! - u[0]! * v[2]!, u[0]! * v[1]! - u[1]! * v[0]!];
}

function fmt(x: number): string {
  return String(Number(x.toFixed(3)));
}
