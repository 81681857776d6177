/**
 * Mass calibration from a QRM phantom's rods, and the nine inserts scored the
 * way a patient's lesions are (scoreScan on a label map per insert).
 *
 * Calibration is two-point: the 200 mg HA/cm^3 rod and the water-equivalent
 * rod give HU = zero + density / c, so a voxel's HA density is
 * c x (HU - zero) and a lesion's mass is c x volume x (mean HU - zero).
 */
import type { Volume } from '../io/volume.js';
import { diskMean, insertLabelMap, type QrmGeometry, type QrmInsert } from './qrm-phantom.js';
import { scoreScan, type ScoringOptions } from './score.js';

export interface RodCalibration {
  /** Mean HU of the 200 mg HA/cm^3 rod and of the water-equivalent rod. */
  hu200: number;
  huWater: number;
  /** mg HA / (mm^3 x HU): 0.2 mg/mm^3 / (hu200 - huWater). */
  massCalibration: number;
  /** The HU of 0 mg HA/cm^3 (= huWater). */
  massZeroHU: number;
  /** The slices measured. */
  slices: number[];
}

const ROD_DENSITY_MG_MM3 = 0.2;
/** Rod ROI radius: 3 mm inside the 10 mm rod edge, clear of its blurred rim. */
const ROD_ROI_RADIUS_MM = 7;
/** Rod slices used: those nearest the insert plane, where the beam passes the phantom as it does at the inserts. */
const ROD_SLICES_USED = 3;

/** Measures the two-point HU -> HA calibration on the rods. */
export function measureRodCalibration(ct: Volume, g: QrmGeometry): RodCalibration {
  const plane = g.inserts[0]!.centre[2];
  const slices = [...g.rodSlices].sort((a, b) => Math.abs(a - plane) - Math.abs(b - plane)).slice(0, ROD_SLICES_USED).sort((a, b) => a - b);
  const hu200 = diskMean(ct, g.axis, ROD_ROI_RADIUS_MM, slices);
  const huWater = diskMean(ct, g.waterRod, ROD_ROI_RADIUS_MM, slices);
  return { hu200, huWater, massCalibration: ROD_DENSITY_MG_MM3 / (hu200 - huWater), massZeroHU: huWater, slices };
}

export interface InsertScore {
  insert: QrmInsert;
  agatston: number;
  volumeMm3: number;
  massMg: number;
  lesions: number;
}

/** Scores each insert inside its own label map (see insertLabelMap) with `scoring`'s conventions. */
export function scoreQrmInserts(ct: Volume, g: QrmGeometry, scoring: ScoringOptions = {}): InsertScore[] {
  const slab = slabAround(ct, g.inserts[0]!.centre[2], 12);
  return g.inserts.map((insert) => {
    const local = { ...insert, centre: [insert.centre[0], insert.centre[1], insert.centre[2] - slab.k0] as [number, number, number] };
    const s = scoreScan(slab.ct, insertLabelMap(slab.ct, local), scoring).total;
    return { insert, agatston: s.agatston, volumeMm3: s.volumeMm3, massMg: s.massMg, lesions: s.lesionCount };
  });
}

/** The slices within `halfMm` of slice `k` (fractional): scoring the inserts needs only those. */
function slabAround(ct: Volume, k: number, halfMm: number): { ct: Volume; k0: number } {
  const [nx, ny, nz] = ct.dims;
  const reach = Math.ceil(halfMm / ct.spacing[2]);
  const k0 = Math.max(0, Math.floor(k) - reach);
  const k1 = Math.min(nz - 1, Math.ceil(k) + reach);
  const a = ct.affine;
  // Shift the origin to slice k0 so lesion centroids stay in the scan's world coordinates.
  const affine = a.map((v, i) => (i % 4 === 3 && i < 12 ? v + a[i - 1]! * k0 : v));
  return {
    ct: { ...ct, data: ct.data.subarray(k0 * nx * ny, (k1 + 1) * nx * ny), dims: [nx, ny, k1 - k0 + 1], affine },
    k0,
  };
}
