/**
 * The network's working grid: a box of fixed size in millimetres around the
 * heart, at a fixed voxel size, whatever grid the scan came on.
 *
 * Scanners write 0.3-0.9 mm pixels and 2.5-3 mm slices over 180-350 mm
 * fields of view. The network should see the same anatomy at the same scale
 * in every scan, and only where coronary calcium can be, so each scan is
 * re-binned onto an axis-aligned patient grid (RAS+, rows running to the
 * patient's left and back like a radiology viewer) centred on the located
 * heart (heart-locator.ts):
 *  - every native voxel falls in the cell that contains its centre;
 *  - a cell holds two values: the MEAN HU of its native voxels (anatomy, with
 *    noise averaged down) and their MAX HU (a 1 mm calcified speck would be
 *    averaged below 130 HU in a 2 mm cell; its peak survives);
 *  - cells no voxel centre falls in (a scan coarser than the grid) take the
 *    nearest native voxel; cells outside the scan are air (-1000 HU).
 * Labels go the same way: a cell is the artery most of its labelled voxels
 * carry. Predictions come back voxel by voxel through the same cell index,
 * so a voxel is judged exactly by the cell it was binned into.
 */
import type { LabelMap, Volume } from '../io/volume.js';

export interface WorkingGridSpec {
  /** Cell size (mm): x, y in the slice plane, z along the scan axis. */
  spacingMm: [number, number, number];
  /** Cells along x and y (the in-plane box is this times the spacing, centred on the heart). */
  planeCells: number;
  /** Longest z-extent kept (mm): longer scans are cut to this around the heart. */
  maxDepthMm: number;
  /** Cells along each axis are padded to a multiple of this (the network's poolings). */
  multiple: number;
}

export const DEFAULT_WORKING_GRID: WorkingGridSpec = { spacingMm: [2, 2, 3], planeCells: 88, maxDepthMm: 150, multiple: 8 };

/** HU given to cells outside the scan. */
export const OUTSIDE_HU = -1000;

export interface WorkingGrid {
  /** Cells [nx, ny, nz]. */
  dims: [number, number, number];
  spacing: [number, number, number];
  /** Cell-to-patient (RAS+, mm) row-major 4x4. */
  affine: number[];
  /** The heart centre the box is built around (patient mm); positions for the artery prior are taken from it. */
  centreMm: [number, number, number];
  /** Mean and max HU per cell (x fastest). */
  mean: Float32Array;
  max: Float32Array;
  /** For every native voxel, the cell its centre falls in, or -1 outside the box. */
  cellOfVoxel: Int32Array;
  /** For every cell, the native voxel holding its max (the first such), or -1 when no voxel centre falls in it. */
  maxVoxel: Int32Array;
}

function roundUp(v: number, m: number): number {
  return Math.ceil(v / m) * m;
}

/** Inverse of a row-major 4x4 affine's 3x3 part and translation: patient mm -> voxel. */
function invertAffine(a: readonly number[]): (p: readonly number[]) => [number, number, number] {
  const [m00, m01, m02, m10, m11, m12, m20, m21, m22] = [a[0]!, a[1]!, a[2]!, a[4]!, a[5]!, a[6]!, a[8]!, a[9]!, a[10]!];
  const det = m00 * (m11 * m22 - m12 * m21) - m01 * (m10 * m22 - m12 * m20) + m02 * (m10 * m21 - m11 * m20);
  const inv = [
    (m11 * m22 - m12 * m21) / det,
    (m02 * m21 - m01 * m22) / det,
    (m01 * m12 - m02 * m11) / det,
    (m12 * m20 - m10 * m22) / det,
    (m00 * m22 - m02 * m20) / det,
    (m02 * m10 - m00 * m12) / det,
    (m10 * m21 - m11 * m20) / det,
    (m01 * m20 - m00 * m21) / det,
    (m00 * m11 - m01 * m10) / det,
  ];
  return (p) => {
    const d = [p[0]! - a[3]!, p[1]! - a[7]!, p[2]! - a[11]!];
    return [0, 1, 2].map((r) => inv[3 * r]! * d[0]! + inv[3 * r + 1]! * d[1]! + inv[3 * r + 2]! * d[2]!) as [number, number, number];
  };
}

/** Patient z-range (mm) of the scan's voxel centres. */
function scanZRange(ct: Volume): [number, number] {
  const [nx, ny, nz] = ct.dims;
  const a = ct.affine;
  let lo = Infinity;
  let hi = -Infinity;
  for (const i of [0, nx - 1]) for (const j of [0, ny - 1]) for (const k of [0, nz - 1]) {
    const z = a[8]! * i + a[9]! * j + a[10]! * k + a[11]!;
    lo = Math.min(lo, z);
    hi = Math.max(hi, z);
  }
  return [lo, hi];
}

/**
 * The box: in-plane `planeCells` around the heart; along z the whole scan when
 * it is short enough, else `maxDepthMm` centred on the heart (kept inside the
 * scan). Cell (i, j, k) is at centre + ((cx - i) sx, (cy - j) sy, z0 + k sz).
 */
function layout(ct: Volume, spec: WorkingGridSpec, centreMm: readonly number[]): { dims: [number, number, number]; affine: number[] } {
  const [sx, sy, sz] = spec.spacingMm;
  const n = roundUp(spec.planeCells, spec.multiple);
  const [zlo, zhi] = scanZRange(ct);
  let lo = zlo;
  let hi = zhi;
  if (hi - lo > spec.maxDepthMm) {
    lo = Math.min(Math.max(centreMm[2]! - spec.maxDepthMm / 2, zlo), zhi - spec.maxDepthMm);
    hi = lo + spec.maxDepthMm;
  }
  const nz = roundUp(Math.max(1, Math.round((hi - lo) / sz) + 1), spec.multiple);
  const zMid = (lo + hi) / 2;
  const z0 = zMid - ((nz - 1) / 2) * sz;
  const x0 = centreMm[0]! + ((n - 1) / 2) * sx;
  const y0 = centreMm[1]! + ((n - 1) / 2) * sy;
  return { dims: [n, n, nz], affine: [-sx, 0, 0, x0, 0, -sy, 0, y0, 0, 0, sz, z0, 0, 0, 0, 1] };
}

/** Bins a scan onto the working grid around `centreMm` (see the file comment). */
export function buildWorkingGrid(ct: Volume, centreMm: readonly number[], spec: WorkingGridSpec = DEFAULT_WORKING_GRID): WorkingGrid {
  const { dims, affine } = layout(ct, spec, centreMm);
  const [wx, wy, wz] = dims;
  const cells = wx * wy * wz;
  const sum = new Float64Array(cells);
  const count = new Uint32Array(cells);
  const max = new Float32Array(cells).fill(-Infinity);
  const maxVoxel = new Int32Array(cells).fill(-1);
  const [nx, ny, nz] = ct.dims;
  const cellOfVoxel = new Int32Array(nx * ny * nz);
  // Cell coordinates are affine in (i, j, k): cell = toCell(native), with toCell = working^-1 . native.
  const toWorking = invertAffine(affine);
  const a = ct.affine;
  const origin = toWorking([a[3]!, a[7]!, a[11]!]);
  const step = [0, 1, 2].map((c) => {
    const p = toWorking([a[3]! + a[c]!, a[7]! + a[4 + c]!, a[11]! + a[8 + c]!]);
    return [p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]];
  }) as number[][];
  let v = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      let cx = origin[0] + j * step[1]![0]! + k * step[2]![0]!;
      let cy = origin[1] + j * step[1]![1]! + k * step[2]![1]!;
      let cz = origin[2] + j * step[1]![2]! + k * step[2]![2]!;
      for (let i = 0; i < nx; i++, v++) {
        const ci = Math.round(cx);
        const cj = Math.round(cy);
        const ck = Math.round(cz);
        cx += step[0]![0]!;
        cy += step[0]![1]!;
        cz += step[0]![2]!;
        if (ci < 0 || cj < 0 || ck < 0 || ci >= wx || cj >= wy || ck >= wz) {
          cellOfVoxel[v] = -1;
          continue;
        }
        const c = ci + wx * (cj + wy * ck);
        cellOfVoxel[v] = c;
        const hu = ct.data[v]!;
        sum[c]! += hu;
        count[c]!++;
        if (hu > max[c]!) {
          max[c] = hu;
          maxVoxel[c] = v;
        }
      }
    }
  }
  const mean = new Float32Array(cells);
  const toNative = invertAffine(ct.affine);
  for (let c = 0; c < cells; c++) {
    if (count[c]! > 0) {
      mean[c] = sum[c]! / count[c]!;
      continue;
    }
    const i = c % wx;
    const j = Math.floor(c / wx) % wy;
    const k = Math.floor(c / (wx * wy));
    const p = [0, 1, 2].map((r) => affine[4 * r]! * i + affine[4 * r + 1]! * j + affine[4 * r + 2]! * k + affine[4 * r + 3]!);
    const [ni, nj, nk] = toNative(p).map(Math.round) as [number, number, number];
    const inside = ni >= 0 && nj >= 0 && nk >= 0 && ni < nx && nj < ny && nk < nz;
    mean[c] = max[c] = inside ? ct.data[ni + nx * (nj + ny * nk)]! : OUTSIDE_HU;
  }
  return { dims, spacing: [...spec.spacingMm], affine, centreMm: [centreMm[0]!, centreMm[1]!, centreMm[2]!], mean, max, cellOfVoxel, maxVoxel };
}

/** A native label map on the working grid: each cell takes the artery most of its labelled voxels carry (0 when none is labelled). */
export function labelsToWorkingGrid(labels: LabelMap, grid: WorkingGrid, classes = 4): LabelMap {
  const cells = grid.dims[0] * grid.dims[1] * grid.dims[2];
  const votes = new Uint32Array(cells * classes);
  for (let v = 0; v < labels.data.length; v++) {
    const l = labels.data[v]!;
    const c = grid.cellOfVoxel[v]!;
    if (l > 0 && l < classes && c >= 0) votes[c * classes + l]!++;
  }
  const out = new Uint8Array(cells);
  for (let c = 0; c < cells; c++) {
    let best = 0;
    for (let l = 1; l < classes; l++) if (votes[c * classes + l]! > votes[c * classes + best]!) best = l;
    out[c] = best;
  }
  return { data: out, dims: [...grid.dims], spacing: [...grid.spacing], affine: [...grid.affine] };
}
