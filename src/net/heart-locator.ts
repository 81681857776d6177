/**
 * Where the heart is in a chest CT, without a network: the deepest
 * water-dense tissue between the two lungs.
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
 *  2. per row, the longest run of non-lung cells from one lung to the other
 *     is the mediastinum there; its water-dense cells (blood, myocardium:
 *     -20..120 HU, so not fat or bone) count;
 *  3. the heart is the thickest of them: the blob of cells deepest inside
 *     that tissue (deepestBlob), whose centroid is the heart centre.
 * Measured on the phantoms (the realistic and scanner presets, heart-centred
 * and whole-chest framing): 0.4-16 mm from the myocardium's centre.
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
/** Blood, myocardium and other water-dense tissue without contrast (fat and bone excluded). */
const WATER_HU: [number, number] = [-20, 120];
/** Cells at least this deep inside the mediastinum's water-dense tissue (mm) can be heart; the chambers are 40+ mm across. */
const MIN_HEART_DEPTH_MM = 12;
/** Deeper than this (mm) is chamber-sized: the aorta and the tissue bands in front of the spine are not (see deepestBlob). */
const CHAMBER_DEPTH_MM = 20;
/** A blob of chamber-deep cells at least this big (mm³) can be the heart. */
const MIN_HEART_CORE_MM3 = 20_000;
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
  /** Cell volume (mm³). */
  cellVolume: number;
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
    cellVolume: fx * sx * fy * sy * fz * sz,
    position(i, j, k) {
      const vi = Math.min(i * fx + (fx - 1) / 2, nx - 1);
      const vj = Math.min(j * fy + (fy - 1) / 2, ny - 1);
      const vk = Math.min(k * fz + (fz - 1) / 2, nz - 1);
      return [0, 1, 2].map((r) => a[4 * r]! * vi + a[4 * r + 1]! * vj + a[4 * r + 2]! * vk + a[4 * r + 3]!) as [number, number, number];
    },
  };
}

/** Lung cells of one coarse slice by the rule in the file comment, each marked with its 4-connected component (1, 2, ...; 0: not lung). */
function lungMask(hu: Float32Array, nx: number, ny: number): Int32Array {
  const n = nx * ny;
  const comp = new Int32Array(n).fill(-1);
  const lung = new Int32Array(n);
  let next = 0;
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
    next++;
    for (const c of members) lung[c] = next;
  }
  return lung;
}

/**
 * Mediastinal cells of one coarse slice within an HU range: per row, the
 * longest run of non-lung cells between two lungs. Where the slice shows two
 * lungs, only runs from one lung to the other count: a run with the same lung
 * at both ends is inside that lung (around the liver's dome, a hilum).
 */
function mediastinum(hu: Float32Array, lung: Int32Array, nx: number, ny: number, minRun: number, range: [number, number]): Uint8Array {
  const out = new Uint8Array(nx * ny);
  let lungs = 0;
  for (const l of lung) lungs = Math.max(lungs, l);
  for (let y = 0; y < ny; y++) {
    const row = y * nx;
    let best: [number, number] | null = null;
    let last = -1;
    for (let x = 0; x < nx; x++) {
      if (!lung[row + x]) continue;
      const between = lungs < 2 || (last >= 0 && lung[row + last] !== lung[row + x]);
      if (last >= 0 && between && x - last - 1 >= minRun && (!best || x - last > best[1] - best[0])) best = [last + 1, x];
      last = x;
    }
    if (!best) continue;
    for (let x = best[0]; x < best[1]; x++) {
      const v = hu[row + x]!;
      if (v >= range[0] && v <= range[1]) out[row + x] = 1;
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

/** Distance (cells, 3-4 chamfer / 3) from each cell of `mask` to the nearest cell outside it, in one slice. */
function depthInSlice(mask: Uint8Array, nx: number, ny: number): Float32Array {
  const big = 1e9;
  const d = new Float32Array(nx * ny);
  for (let c = 0; c < d.length; c++) d[c] = mask[c] ? big : 0;
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= nx || y >= ny ? 0 : d[x + nx * y]!);
  for (let y = 0; y < ny; y++)
    for (let x = 0; x < nx; x++) {
      const c = x + nx * y;
      if (d[c]! > 0) d[c] = Math.min(d[c]!, at(x - 1, y) + 3, at(x, y - 1) + 3, at(x - 1, y - 1) + 4, at(x + 1, y - 1) + 4);
    }
  for (let y = ny - 1; y >= 0; y--)
    for (let x = nx - 1; x >= 0; x--) {
      const c = x + nx * y;
      if (d[c]! > 0) d[c] = Math.min(d[c]!, at(x + 1, y) + 3, at(x, y + 1) + 3, at(x + 1, y + 1) + 4, at(x - 1, y + 1) + 4);
    }
  for (let c = 0; c < d.length; c++) d[c]! /= 3;
  return d;
}

/**
 * The heart: the deep water-dense tissue between the lungs. Cells deeper than
 * CHAMBER_DEPTH_MM (or half the deepest, for a small heart; never less than
 * MIN_HEART_DEPTH_MM) form 3D components: the great vessels and the tissue
 * bands in front of the spine are thinner. Of the components big enough to be
 * a heart, the heart is the highest: the liver's dome, the one other organ that
 * deep, lies under it. Without one that big, the one with the most depth in it.
 * Returns its centroid, or null when no cell is deep enough.
 */
function deepestBlob(g: Coarse, depth: Float32Array): [number, number, number] | null {
  let max = 0;
  for (const v of depth) max = Math.max(max, v);
  const cell = Math.sqrt(g.cellArea);
  const threshold = Math.max(MIN_HEART_DEPTH_MM, Math.min(CHAMBER_DEPTH_MM, (max * cell) / 2)) / cell;
  if (!(max >= threshold)) return null;
  const plane = g.nx * g.ny;
  const seen = new Uint8Array(depth.length);
  const blobs: Array<{ weight: number; cells: number[] }> = [];
  const stack: number[] = [];
  for (let s = 0; s < depth.length; s++) {
    if (seen[s] || depth[s]! < threshold) continue;
    const cells: number[] = [];
    let weight = 0;
    seen[s] = 1;
    stack.push(s);
    while (stack.length) {
      const c = stack.pop()!;
      cells.push(c);
      weight += depth[c]!;
      const k = Math.floor(c / plane);
      const y = Math.floor((c % plane) / g.nx);
      const x = c % g.nx;
      for (let dz = -1; dz <= 1; dz++)
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx, yy = y + dy, kk = k + dz;
            if (xx < 0 || yy < 0 || kk < 0 || xx >= g.nx || yy >= g.ny || kk >= g.nz) continue;
            const d = xx + g.nx * (yy + g.ny * kk);
            if (!seen[d] && depth[d]! >= threshold) {
              seen[d] = 1;
              stack.push(d);
            }
          }
    }
    blobs.push({ weight, cells });
  }
  const centre = (cells: number[]) => {
    const acc = [0, 0, 0];
    for (const c of cells) {
      const p = g.position(c % g.nx, Math.floor((c % plane) / g.nx), Math.floor(c / plane));
      for (let r = 0; r < 3; r++) acc[r]! += p[r]! / cells.length;
    }
    return acc as [number, number, number];
  };
  // The liver's dome can be deeper than the heart and sit between parts of the right lung: of the heart-sized blobs, the heart is the highest.
  const big = blobs.filter((b) => b.cells.length * g.cellVolume >= MIN_HEART_CORE_MM3).map((b) => centre(b.cells));
  if (big.length) return big.reduce((a, b) => (b[2] > a[2] ? b : a));
  return centre(blobs.reduce((a, b) => (b.weight > a.weight ? b : a)).cells);
}

export function locateHeart(ct: Volume): HeartLocation {
  const g = coarsen(ct);
  const plane = g.nx * g.ny;
  const minRun = Math.max(2, Math.round(MIN_MEDIASTINUM_MM / Math.sqrt(g.cellArea)));
  const depth = new Float32Array(g.hu.length);
  for (let k = 0; k < g.nz; k++) {
    const hu = g.hu.subarray(k * plane, (k + 1) * plane);
    const water = mediastinum(hu, lungMask(hu, g.nx, g.ny), g.nx, g.ny, minRun, WATER_HU);
    depth.set(depthInSlice(water, g.nx, g.ny), k * plane);
  }
  const byLungs = deepestBlob(g, depth);
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
