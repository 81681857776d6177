/**
 * Where the heart is in a chest CT, without a network: the soft tissue
 * between the two lungs, at the levels where that gap is widest.
 *
 * Non-contrast calcium-scoring scans are framed anywhere from the heart alone
 * (180 mm) to the whole chest (350 mm), so the heart is not at the centre of
 * the field of view. What holds on every such scan: the lungs are air
 * (-900..-700 HU) on both sides of the mediastinum, and the heart fills the
 * mediastinum at its widest levels. On a ~3 mm grid (block means, so noise
 * does not matter):
 *  1. per slice, 4-connected air components (< -400 HU) are the outside
 *     when they touch the image border or the padding outside the
 *     reconstruction circle and are as empty as air (mean < -950 HU); the
 *     others are lung (parenchyma averages -900..-700 HU, so a lung cut by a
 *     heart-centred field of view is still lung);
 *  2. per row, the longest run of non-lung cells with lung at both ends is
 *     the mediastinum there; its soft tissue (-250..200 HU, so not bone)
 *     counts;
 *  3. the levels whose mediastinal area is at least half the largest are
 *     the heart's; the centroid of their mediastinal soft tissue is the
 *     heart centre.
 * When no lungs are found (a phantom without them, a tiny field of view) the
 * soft tissue of the body, then the field-of-view centre, stand in; `method`
 * says which.
 */
import type { Volume } from '../io/volume.js';

export type HeartLocation = {
  /** Heart centre, patient mm (RAS+, through the scan's affine). */
  centreMm: [number, number, number];
  /** 'lungs': between the lungs; 'body': centroid of soft tissue; 'fov': the scan's centre. */
  method: 'lungs' | 'body' | 'fov';
};

/** Voxels below this are padding outside the reconstruction circle (scanners write -1024 - 1024 or -3024). */
export const PADDING_BELOW_HU = -1500;
const AIR_BELOW_HU = -400;
/** A border-touching air component this empty is outside the body, not lung. */
const OUTSIDE_AIR_MEAN_HU = -950;
const SOFT_TISSUE_HU: [number, number] = [-250, 200];
/** Cell size of the coarse grid (mm). */
const COARSE_MM = 3;
/** Narrower gaps between lung cells are vessels or fissures, not the mediastinum (mm). */
const MIN_MEDIASTINUM_MM = 20;
/** Less mediastinal area than this on every level (mm²): no lungs were found. */
const MIN_MEDIASTINUM_AREA_MM2 = 1500;

/** A coarse block-mean image of the scan, and the patient position of each cell's centre. */
interface Coarse {
  nx: number;
  ny: number;
  nz: number;
  /** Mean HU per cell; NaN where the cell is mostly padding. */
  hu: Float32Array;
  /** Cell area (mm²) in the slice plane. */
  cellArea: number;
  position(i: number, j: number, k: number): [number, number, number];
}

function coarsen(ct: Volume): Coarse {
  const [nx, ny, nz] = ct.dims;
  const [sx, sy, sz] = ct.spacing;
  const fx = Math.max(1, Math.round(COARSE_MM / sx));
  const fy = Math.max(1, Math.round(COARSE_MM / sy));
  const fz = Math.max(1, Math.round(COARSE_MM / sz));
  const cx = Math.ceil(nx / fx);
  const cy = Math.ceil(ny / fy);
  const cz = Math.ceil(nz / fz);
  const sum = new Float64Array(cx * cy * cz);
  const valid = new Uint32Array(cx * cy * cz);
  const all = new Uint32Array(cx * cy * cz);
  for (let k = 0; k < nz; k++) {
    const ck = Math.floor(k / fz) * cx * cy;
    for (let j = 0; j < ny; j++) {
      const row = ck + Math.floor(j / fy) * cx;
      const src = nx * (j + ny * k);
      for (let i = 0; i < nx; i++) {
        const c = row + Math.floor(i / fx);
        const v = ct.data[src + i]!;
        all[c]!++;
        if (v >= PADDING_BELOW_HU) {
          sum[c]! += v;
          valid[c]!++;
        }
      }
    }
  }
  const hu = new Float32Array(cx * cy * cz);
  for (let c = 0; c < hu.length; c++) hu[c] = 2 * valid[c]! >= all[c]! ? sum[c]! / valid[c]! : NaN;
  const a = ct.affine;
  return {
    nx: cx,
    ny: cy,
    nz: cz,
    hu,
    cellArea: fx * sx * fy * sy,
    position(i, j, k) {
      const vi = Math.min(i * fx + (fx - 1) / 2, nx - 1);
      const vj = Math.min(j * fy + (fy - 1) / 2, ny - 1);
      const vk = Math.min(k * fz + (fz - 1) / 2, nz - 1);
      return [0, 1, 2].map((r) => a[4 * r]! * vi + a[4 * r + 1]! * vj + a[4 * r + 2]! * vk + a[4 * r + 3]!) as [number, number, number];
    },
  };
}

/** Lung cells of one coarse slice (1) by the rule in the file comment. */
function lungMask(hu: Float32Array, nx: number, ny: number): Uint8Array {
  const n = nx * ny;
  const comp = new Int32Array(n).fill(-1);
  const lung = new Uint8Array(n);
  const stack: number[] = [];
  const members: number[] = [];
  const isAir = (c: number) => !(hu[c]! >= AIR_BELOW_HU);
  for (let s = 0; s < n; s++) {
    if (comp[s]! >= 0 || !isAir(s) || Number.isNaN(hu[s]!)) continue;
    let sum = 0;
    let count = 0;
    let outsideTouch = false;
    members.length = 0;
    stack.push(s);
    comp[s] = s;
    while (stack.length) {
      const c = stack.pop()!;
      members.push(c);
      const x = c % nx;
      const y = (c - x) / nx;
      if (x === 0 || y === 0 || x === nx - 1 || y === ny - 1) outsideTouch = true;
      sum += hu[c]!;
      count++;
      for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]] as const) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= nx || yy >= ny) continue;
        const d = xx + nx * yy;
        if (Number.isNaN(hu[d]!)) outsideTouch = true;
        else if (comp[d]! < 0 && isAir(d)) {
          comp[d] = s;
          stack.push(d);
        }
      }
    }
    if (outsideTouch && sum / count < OUTSIDE_AIR_MEAN_HU) continue;
    for (const c of members) lung[c] = 1;
  }
  return lung;
}

/** Mediastinal soft tissue of one coarse slice: per row, the longest lung-to-lung run's soft-tissue cells. */
function mediastinum(hu: Float32Array, lung: Uint8Array, nx: number, ny: number, minRun: number): Uint8Array {
  const out = new Uint8Array(nx * ny);
  for (let y = 0; y < ny; y++) {
    const row = y * nx;
    let best: [number, number] | null = null;
    let last = -1;
    for (let x = 0; x < nx; x++) {
      if (!lung[row + x]) continue;
      if (last >= 0 && x - last - 1 >= minRun && (!best || x - last > best[1] - best[0])) best = [last + 1, x];
      last = x;
    }
    if (!best) continue;
    for (let x = best[0]; x < best[1]; x++) {
      const v = hu[row + x]!;
      if (v >= SOFT_TISSUE_HU[0] && v <= SOFT_TISSUE_HU[1]) out[row + x] = 1;
    }
  }
  return out;
}

/** Centroid of the cells `pick` selects on the levels `levels`, in patient mm; null when none. */
function centroid(g: Coarse, levels: number[], pick: (c: number, k: number) => boolean): [number, number, number] | null {
  const acc = [0, 0, 0];
  let count = 0;
  for (const k of levels) {
    for (let j = 0; j < g.ny; j++) {
      for (let i = 0; i < g.nx; i++) {
        if (!pick(i + g.nx * j, k)) continue;
        const p = g.position(i, j, k);
        for (let r = 0; r < 3; r++) acc[r]! += p[r]!;
        count++;
      }
    }
  }
  return count ? (acc.map((v) => v / count) as [number, number, number]) : null;
}

/** Levels (coarse slices) whose area is at least half the largest; empty when the largest is below `minArea`. */
function widestLevels(area: number[], minArea: number): number[] {
  const max = Math.max(...area);
  if (!(max >= minArea)) return [];
  return area.flatMap((a, k) => (a >= max / 2 ? [k] : []));
}

export function locateHeart(ct: Volume): HeartLocation {
  const g = coarsen(ct);
  const plane = g.nx * g.ny;
  const minRun = Math.max(2, Math.round(MIN_MEDIASTINUM_MM / Math.sqrt(g.cellArea)));
  const masks: Uint8Array[] = [];
  const area: number[] = [];
  for (let k = 0; k < g.nz; k++) {
    const hu = g.hu.subarray(k * plane, (k + 1) * plane);
    const m = mediastinum(hu, lungMask(hu, g.nx, g.ny), g.nx, g.ny, minRun);
    masks.push(m);
    area.push(m.reduce((s, v) => s + v, 0) * g.cellArea);
  }
  const levels = widestLevels(area, MIN_MEDIASTINUM_AREA_MM2);
  const byLungs = levels.length ? centroid(g, levels, (c, k) => masks[k]![c] === 1) : null;
  if (byLungs) return { centreMm: byLungs, method: 'lungs' };
  const all = Array.from({ length: g.nz }, (_, k) => k);
  const soft = (c: number, k: number) => {
    const v = g.hu[c + k * plane]!;
    return v >= SOFT_TISSUE_HU[0] && v <= SOFT_TISSUE_HU[1];
  };
  const byBody = centroid(g, all, soft);
  if (byBody) return { centreMm: byBody, method: 'body' };
  return { centreMm: g.position((g.nx - 1) / 2, (g.ny - 1) / 2, (g.nz - 1) / 2), method: 'fov' };
}
