/**
 * The QRM thorax phantom with its Cardiac Calcification Insert (CCI), found in
 * a CT scan from the phantom's geometry alone:
 *
 * - two calibration rods 20 mm across, one of 200 mg HA/cm^3 on the insert's
 *   axis and one water-equivalent 23 mm beside it, in a section of their own;
 * - nine hydroxyapatite cylinders in one plane across the axis: three
 *   densities (200, 400, 800 mg HA/cm^3) on three rays 120 degrees apart, each
 *   ray holding a 5 mm cylinder (5 mm long) about 37 mm from the axis, a 3 mm
 *   one 12.5 mm further in and a 1 mm one 25 mm further in (QRM manual; the
 *   FQM method of van Praagh et al., Med Phys 2021, uses the same layout).
 *
 * The rod is the largest round disk >= 130 HU of the right size; the 5 mm
 * cylinders are the three compact bright blobs 28-45 mm from its axis, which
 * must lie 120 degrees apart at one height; their brightness orders the
 * densities. Nothing here reads reference scores: only sizes and positions.
 */
import { InputError } from '../base/errors.js';
import type { LabelMap, Volume } from '../io/volume.js';
import { connectedComponents } from './lesions.js';

export type InsertSize = 'Large' | 'Medium' | 'Small';
export type InsertDensity = 'HD' | 'MD' | 'LD';

export interface QrmInsert {
  /** e.g. 'Large_HD': the reference CSV's naming. */
  name: `${InsertSize}_${InsertDensity}`;
  diameterMm: number;
  lengthMm: number;
  densityMgCm3: number;
  /** Hydroxyapatite mass of the cylinder: pi r^2 L x density (mg). */
  knownMassMg: number;
  /** Centre in voxel coordinates (i, j fractional; k the insert plane). */
  centre: [number, number, number];
}

export interface QrmGeometry {
  /** The insert's axis (the 200 mg/cm^3 rod's centre), voxel i, j. */
  axis: [number, number];
  /** The slices (k) where the rods are a full disk. */
  rodSlices: number[];
  /** The water-equivalent rod's centre, voxel i, j. */
  waterRod: [number, number];
  inserts: QrmInsert[];
}

export const ROD_DIAMETER_MM = 20;
const WATER_ROD_OFFSET_MM = 23;
const RING_STEP_MM = 12.5;
const SIZES: Record<InsertSize, number> = { Large: 5, Medium: 3, Small: 1 };
const DENSITIES: Record<InsertDensity, number> = { HD: 800, MD: 400, LD: 200 };
const CALCIUM_HU = 130;

function phantomError(ct: Volume, problem: string): InputError {
  return new InputError(`${ct.source}: not a QRM phantom with the cardiac calcification insert, or not found: ${problem}`);
}

/** Finds the rods and the nine inserts; throws a clear error when the scan does not show them. */
export function locateQrmPhantom(ct: Volume): QrmGeometry {
  const { axis, rodSlices } = findCalibrationRod(ct);
  const larges = findLargeInserts(ct, axis);
  const inserts: QrmInsert[] = [];
  for (const large of larges) {
    const [di, dj] = [axis[0] - large.centre[0], axis[1] - large.centre[1]];
    const distMm = Math.hypot(di * ct.spacing[0], dj * ct.spacing[1]);
    (['Large', 'Medium', 'Small'] as const).forEach((size, ring) => {
      // Each smaller cylinder sits 12.5 mm further along the ray towards the axis.
      const f = (ring * RING_STEP_MM) / distMm;
      const d = SIZES[size];
      inserts.push({
        name: `${size}_${large.density}`,
        diameterMm: d,
        lengthMm: d,
        densityMgCm3: DENSITIES[large.density],
        knownMassMg: (Math.PI * (d / 2) ** 2 * d * DENSITIES[large.density]) / 1000,
        centre: [large.centre[0] + f * di, large.centre[1] + f * dj, large.centre[2]],
      });
    });
  }
  // The water rod is the darker disk 23 mm from the axis in the rods' section.
  return { axis, rodSlices, waterRod: findWaterRod(ct, axis, rodSlices), inserts };
}

/** Per slice, a filled disk >= 130 HU of the rod's area; the axis is the median centre over those slices. */
function findCalibrationRod(ct: Volume): { axis: [number, number]; rodSlices: number[] } {
  const [nx, ny, nz] = ct.dims;
  const [dx, dy] = ct.spacing;
  const rodArea = Math.PI * (ROD_DIAMETER_MM / 2) ** 2;
  const centres: Array<[number, number, number]> = [];
  for (let k = 0; k < nz; k++) {
    const mask = new Uint8Array(nx * ny);
    for (let p = 0; p < nx * ny; p++) mask[p] = ct.data[k * nx * ny + p]! >= CALCIUM_HU ? 1 : 0;
    for (const comp of connectedComponents(mask, [nx, ny, 1], 6).voxels) {
      const area = comp.length * dx * dy;
      if (area < 0.75 * rodArea || area > 1.35 * rodArea) continue;
      let [i0, i1, j0, j1, si, sj] = [nx, 0, ny, 0, 0, 0];
      for (const p of comp) {
        const [i, j] = [p % nx, Math.floor(p / nx)];
        [i0, i1, j0, j1, si, sj] = [Math.min(i0, i), Math.max(i1, i), Math.min(j0, j), Math.max(j1, j), si + i, sj + j];
      }
      const [w, h] = [(i1 - i0 + 1) * dx, (j1 - j0 + 1) * dy];
      // Round: as wide as high, filling about pi/4 of its box.
      const fill = area / (w * h);
      if (w / h > 0.85 && w / h < 1.18 && fill > 0.68 && fill < 0.88) centres.push([si / comp.length, sj / comp.length, k]);
    }
  }
  if (centres.length === 0) throw phantomError(ct, `no slice shows the ${ROD_DIAMETER_MM} mm calibration rod (a round disk >= ${CALCIUM_HU} HU)`);
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
  const axis: [number, number] = [median(centres.map((c) => c[0])), median(centres.map((c) => c[1]))];
  // Keep the slices whose disk is centred on the axis (within 2 mm): one rod, not a stray disk.
  const rodSlices = centres.filter((c) => Math.hypot((c[0] - axis[0]) * dx, (c[1] - axis[1]) * dy) < 2).map((c) => c[2]);
  return { axis, rodSlices: [...new Set(rodSlices)].sort((a, b) => a - b) };
}

interface LargeInsert {
  centre: [number, number, number];
  density: InsertDensity;
}

/** The three 5 mm cylinders: compact blobs >= 130 HU 28-45 mm from the axis, 120 degrees apart, at one height. */
function findLargeInserts(ct: Volume, axis: [number, number]): LargeInsert[] {
  const [nx, ny] = ct.dims;
  const [dx, dy, dz] = ct.spacing;
  const radiusMm = (i: number, j: number) => Math.hypot((i - axis[0]) * dx, (j - axis[1]) * dy);
  const mask = new Uint8Array(ct.data.length);
  for (let v = 0; v < mask.length; v++) {
    const p = v % (nx * ny);
    const r = radiusMm(p % nx, Math.floor(p / nx));
    mask[v] = r > 28 && r < 45 && ct.data[v]! >= CALCIUM_HU ? 1 : 0;
  }
  const blobs: Array<{ centre: [number, number, number]; meanHU: number; voxels: number }> = [];
  for (const comp of connectedComponents(mask, ct.dims, 6).voxels) {
    const volume = comp.length * dx * dy * dz;
    // A 5 mm cylinder is 98 mm^3; partial volume spreads it over 1.5-6 times that, a dim one shows less.
    if (volume < 20 || volume > 600) continue;
    let [si, sj, sk, sum, i0, i1, j0, j1] = [0, 0, 0, 0, nx, 0, ny, 0];
    for (const v of comp) {
      const k = Math.floor(v / (nx * ny));
      const p = v - k * nx * ny;
      const [i, j] = [p % nx, Math.floor(p / nx)];
      [si, sj, sk, sum] = [si + i, sj + j, sk + k, sum + ct.data[v]!];
      [i0, i1, j0, j1] = [Math.min(i0, i), Math.max(i1, i), Math.min(j0, j), Math.max(j1, j)];
    }
    if ((i1 - i0 + 1) * dx > 14 || (j1 - j0 + 1) * dy > 14) continue;
    const n = comp.length;
    blobs.push({ centre: [si / n, sj / n, sk / n], meanHU: sum / n, voxels: n });
  }
  // The three largest blobs; the inserts are the biggest compact calcium-like things at that radius.
  const three = blobs.sort((a, b) => b.voxels - a.voxels).slice(0, 3);
  if (three.length < 3) throw phantomError(ct, `found ${three.length} of the three 5 mm inserts 28-45 mm from the rod's axis`);
  const angles = three.map((b) => Math.atan2((b.centre[1] - axis[1]) * dy, (b.centre[0] - axis[0]) * dx)).sort((a, b) => a - b);
  const gaps = [angles[1]! - angles[0]!, angles[2]! - angles[1]!, 2 * Math.PI + angles[0]! - angles[2]!].map((g) => (g * 180) / Math.PI);
  if (gaps.some((g) => Math.abs(g - 120) > 20)) throw phantomError(ct, `the three 5 mm inserts should lie 120 degrees apart around the axis; found gaps of ${gaps.map((g) => g.toFixed(0)).join(', ')} degrees`);
  const heights = three.map((b) => b.centre[2]);
  if ((Math.max(...heights) - Math.min(...heights)) * dz > 3) throw phantomError(ct, 'the three 5 mm inserts are not in one plane');
  const plane = heights.reduce((a, b) => a + b, 0) / 3;
  // Brighter means denser: 800, 400, 200 mg HA/cm^3.
  return three
    .sort((a, b) => b.meanHU - a.meanHU)
    .map((b, rank) => ({ centre: [b.centre[0], b.centre[1], plane], density: (['HD', 'MD', 'LD'] as const)[rank]! }));
}

/**
 * The water-equivalent rod: 23 mm from the axis, in the direction where a disk
 * reads darkest in the rod slices (it is darker than the phantom's
 * tissue-equivalent body).
 */
function findWaterRod(ct: Volume, axis: [number, number], rodSlices: number[]): [number, number] {
  let best: [number, number] = axis;
  let darkest = Infinity;
  for (let deg = 0; deg < 360; deg += 2) {
    const a = (deg * Math.PI) / 180;
    const c: [number, number] = [axis[0] + (WATER_ROD_OFFSET_MM * Math.cos(a)) / ct.spacing[0], axis[1] + (WATER_ROD_OFFSET_MM * Math.sin(a)) / ct.spacing[1]];
    // A disk nearly the rod's size averages the noise out, so the minimum is the rod's centre, not a dark speck.
    const m = diskMean(ct, c, ROD_DIAMETER_MM / 2 - 3, rodSlices);
    if (m < darkest) [darkest, best] = [m, c];
  }
  return best;
}

/** Mean HU over a disk of `radiusMm` around voxel centre `c` in `slices`. */
export function diskMean(ct: Volume, c: readonly number[], radiusMm: number, slices: readonly number[]): number {
  const [nx, ny] = ct.dims;
  let [sum, n] = [0, 0];
  forDisk(ct, c, radiusMm, (p) => {
    for (const k of slices) {
      sum += ct.data[k * nx * ny + p]!;
      n++;
    }
  });
  return sum / n;
}

/** Calls `visit` with the in-plane index of every pixel whose centre lies within `radiusMm` of `c`. */
function forDisk(ct: Volume, c: readonly number[], radiusMm: number, visit: (p: number) => void): void {
  const [nx, ny] = ct.dims;
  const [dx, dy] = ct.spacing;
  for (let j = Math.max(0, Math.floor(c[1]! - radiusMm / dy)); j <= Math.min(ny - 1, Math.ceil(c[1]! + radiusMm / dy)); j++) {
    for (let i = Math.max(0, Math.floor(c[0]! - radiusMm / dx)); i <= Math.min(nx - 1, Math.ceil(c[0]! + radiusMm / dx)); i++) {
      if (Math.hypot((i - c[0]!) * dx, (j - c[1]!) * dy) <= radiusMm) visit(i + nx * j);
    }
  }
}

/**
 * The label map of one insert: label 1 in a cylinder around it, wider than the
 * insert by `marginMm` in plane and by half a slice plus `marginMm` along z,
 * so that the partial-volume rim >= 130 HU around it is inside.
 */
export function insertLabelMap(ct: Volume, insert: QrmInsert, marginMm = 2.5): LabelMap {
  const [nx, ny, nz] = ct.dims;
  const data = new Uint8Array(nx * ny * nz);
  const halfZ = insert.lengthMm / 2 + ct.spacing[2] / 2 + marginMm;
  const ks: number[] = [];
  for (let k = 0; k < nz; k++) if (Math.abs(k - insert.centre[2]) * ct.spacing[2] <= halfZ) ks.push(k);
  forDisk(ct, insert.centre, insert.diameterMm / 2 + marginMm, (p) => {
    for (const k of ks) data[k * nx * ny + p] = 1;
  });
  return { data, dims: ct.dims, spacing: ct.spacing, affine: ct.affine };
}

/** All nine inserts in one label map, labelled by density: 1 = 800, 2 = 400, 3 = 200 mg HA/cm^3 (for `cacnet score`). */
export function insertsLabelMap(ct: Volume, g: QrmGeometry): LabelMap {
  const all = insertLabelMap(ct, g.inserts[0]!);
  all.data.fill(0);
  for (const insert of g.inserts) {
    const one = insertLabelMap(ct, insert);
    const label = insert.densityMgCm3 === 800 ? 1 : insert.densityMgCm3 === 400 ? 2 : 3;
    for (let v = 0; v < one.data.length; v++) if (one.data[v]) all.data[v] = label;
  }
  return all;
}
