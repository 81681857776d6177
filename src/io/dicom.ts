/**
 * DICOM series reading (uncompressed CT, via dicom-parser) into a Volume in HU.
 *
 * Slices are ordered by their position along the slice normal, never by file
 * name or InstanceNumber, and the voxel-to-world affine is converted from
 * DICOM's LPS to the RAS+ convention NIfTI uses.
 *
 * Pure (no Node APIs): decodeDicomSeries takes the files of one series (the
 * strict, one-folder-one-series reader); dicom-study.ts picks a series out of
 * a whole study and assembles it with assembleSeries.
 */
import type { Volume } from './volume.js';
import { MAX_VOXELS } from './nifti.js';
import { fail, parseDicomFile, type DicomFile, type DicomSlice } from './dicom-slice.js';
import { checkCtValues, checkGeometry } from './scan-plausibility.js';

export type { DicomFile } from './dicom-slice.js';

/** What the stacking checks need of a slice. */
export type SliceGeometry = Pick<DicomSlice, 'file' | 'rows' | 'columns' | 'pixelSpacing' | 'orientation' | 'position'>;

/** The last path component (either separator), as node:path's basename would give for a file. */
export function basename(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}

/** Builds the volume from a series' files; `folder` names the series in messages. */
export function decodeDicomSeries(files: readonly DicomFile[], folder: string): Volume {
  const slices = files.flatMap((f) => {
    const parsed = parseDicomFile(f);
    return parsed.kind === 'image' ? [parsed.slice] : [];
  });
  if (slices.length === 0) throw fail(folder, `no DICOM image files found (${files.length} files looked at)`);
  for (const s of slices) if (s.problem) throw fail(s.file, s.problem);
  checkOneSeries(slices, folder);
  return assembleSeries(slices, folder, false).volume;
}

/**
 * The volume of one series' slices: same grid, evenly spaced along the normal.
 * `cleanPadding` turns padding outside the field of view into air; the count
 * of voxels so replaced comes back.
 */
export function assembleSeries(slices: DicomSlice[], folder: string, cleanPadding: boolean): { volume: Volume; paddedVoxels: number } {
  const { sorted, step } = stackGeometry(slices, folder);
  const first = sorted[0]!;
  const [rows, columns] = [first.rows, first.columns];
  if (rows * columns * sorted.length > MAX_VOXELS) throw fail(folder, `${columns}×${rows}×${sorted.length} voxels is too large to load (limit ${MAX_VOXELS})`);
  const data = new Float32Array(rows * columns * sorted.length);
  let paddedVoxels = 0;
  sorted.forEach((s, k) => {
    paddedVoxels += s.decode(data, k * rows * columns, cleanPadding);
  });
  const volume: Volume = {
    data,
    dims: [columns, rows, sorted.length],
    spacing: [first.pixelSpacing[1], first.pixelSpacing[0], step],
    affine: seriesAffine(sorted),
    source: folder,
  };
  checkGeometry(volume, folder, 'Rows/Columns, PixelSpacing and the slice positions');
  checkCtValues(volume, folder, 'RescaleSlope/RescaleIntercept');
  return { volume, paddedVoxels };
}

/** Checks the slices form one stack (same grid, even gaps) and returns them in order with the spacing. */
export function stackGeometry<T extends SliceGeometry>(slices: T[], folder: string): { sorted: T[]; step: number } {
  const first = slices[0]!;
  for (const s of slices) checkSameGrid(s, first);
  return sortAlongNormal(slices, folder);
}

// -------------------------------------------------------------- series ----

function checkOneSeries(slices: DicomSlice[], folder: string): void {
  const counts = new Map<string, number>();
  for (const s of slices) counts.set(s.seriesUid, (counts.get(s.seriesUid) ?? 0) + 1);
  if (counts.size === 1) return;
  const list = [...counts].map(([uid, n]) => `${uid} (${n} files)`).join(', ');
  throw fail(folder, `${counts.size} series in one folder: ${list}; put each series in its own folder`);
}

function checkSameGrid(s: SliceGeometry, first: SliceGeometry): void {
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
function sortAlongNormal<T extends SliceGeometry>(slices: T[], folder: string): { sorted: T[]; step: number } {
  if (slices.length < 2) throw fail(folder, `only one image slice (${basename(slices[0]!.file)}); a 3D scan needs at least 2`);
  const o = slices[0]!.orientation;
  const normal = cross(o.slice(0, 3), o.slice(3, 6));
  const at = (s: SliceGeometry) => dot(normal, s.position);
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
function seriesAffine(sorted: SliceGeometry[]): number[] {
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  const o = first.orientation;
  const [dy, dx] = first.pixelSpacing;
  const step = first.position.map((p, a) => (last.position[a]! - p) / (sorted.length - 1));
  const lps = [0, 1, 2].map((a) => [o[a]! * dx, o[3 + a]! * dy, step[a]!, first.position[a]!]);
  const ras = lps.map((row, a) => (a < 2 ? row.map((x) => -x || 0) : row));
  return [...ras.flat(), 0, 0, 0, 1];
}

export function dot(u: number[], v: number[]): number {
  return u[0]! * v[0]! + u[1]! * v[1]! + u[2]! * v[2]!;
}

export function cross(u: number[], v: number[]): number[] {
  return [u[1]! * v[2]! - u[2]! * v[1]!, u[2]! * v[0]! - u[0]! * v[2]!, u[0]! * v[1]! - u[1]! * v[0]!];
}

function fmt(x: number): string {
  return String(Number(x.toFixed(3)));
}
