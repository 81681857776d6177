/**
 * Artery-specific coronary calcium scoring of one scan: lesions, Agatston,
 * volume and mass per artery and in total, and the risk category.
 *
 * Candidates are labelled voxels (1 LAD, 2 LCX, 3 RCA) with HU >= threshold.
 * Lesions are 3D connected components of the candidates regardless of label
 * (a lesion straddling the left main / LCX boundary stays one lesion); each
 * lesion goes to the artery most of its voxels carry (ties: the lower label).
 */

import { InputError } from '../base/errors.js';
import { ARTERIES, type Artery, type LabelMap, type Volume } from '../io/volume.js';
import { lesionAgatston, sliceThicknessConvention } from './agatston.js';
import { connectedComponents } from './lesions.js';
import { DEFAULT_PRESET, presetValues } from './presets.js';
import { DEFAULT_RISK_THRESHOLDS, riskCategory, riskLabel, validateRiskThresholds } from './risk.js';
import { checkCt, checkLabels } from './validate.js';

/**
 * Default mass calibration factor, mg per (mm^3 x HU): mass = volume x (mean HU -
 * zero HU) x c. 0.001 mg/(mm^3 HU) = 1 mg of calcium hydroxyapatite per cm^3 per
 * HU, the usual nominal equivalence, with water (0 HU) as zero. Phantom-measured
 * factors vary with scanner, kVp and reconstruction, so absolute masses need
 * `massCalibration` and `massZeroHU` from a calibration phantom's rods
 * (src/scoring/qrm-phantom.ts: c = 200 mg/cm^3 / (HU of the 200 mg/cm^3 rod -
 * HU of the water-equivalent rod)); with the defaults, mass is comparable within
 * this project, not across scanners.
 */
export const DEFAULT_MASS_CALIBRATION = 0.001;

export interface ScoringOptions {
  /** Calcium threshold in HU (default 130). */
  thresholdHU?: number;
  /** 3D adjacency for lesions (default 6, orCaScore). */
  connectivity?: 6 | 26;
  /** Lesions are kept when their volume is strictly greater (default 1.5 mm^3). */
  minLesionVolumeMm3?: number;
  /** mg / (mm^3 x HU); default DEFAULT_MASS_CALIBRATION. */
  massCalibration?: number;
  /** HU that means 0 mg HA/cm^3 (a phantom's water-equivalent rod); default 0. */
  massZeroHU?: number;
  /** Total-Agatston category boundaries (default [0, 10, 100, 400]). */
  riskThresholds?: number[];
  /** Named convention ('orcascore' default, 'siemens', 'ge'); explicit options override it. */
  preset?: string;
  /** Reconstruction slice thickness for Agatston normalisation; default the slice spacing dz. */
  sliceThicknessMm?: number;
}

export interface ArteryScore {
  agatston: number;
  volumeMm3: number;
  massMg: number;
  lesionCount: number;
}

export interface Lesion {
  id: number;
  artery: Artery;
  voxels: number;
  volumeMm3: number;
  agatston: number;
  massMg: number;
  peakHU: number;
  meanHU: number;
  /** Centroid in world mm (the volume's affine applied to the mean voxel index). */
  centroidMm: [number, number, number];
  /** Voxel indices into the volume's data, ascending. */
  voxelIndices: Uint32Array;
}

export interface ScoringConventions {
  thresholdHU: number;
  connectivity: number;
  minLesionVolumeMm3: number;
  sliceThicknessNormalisation: string;
  massCalibration: number;
  massZeroHU: number;
  riskThresholds: number[];
  preset: string;
}

export interface ScanScore {
  perArtery: Record<Artery, ArteryScore>;
  total: ArteryScore;
  riskCategory: number;
  riskLabel: string;
  lesions: Lesion[];
  conventions: ScoringConventions;
}

export interface ResolvedOptions {
  thresholdHU: number;
  connectivity: 6 | 26;
  minLesionVolumeMm3: number;
  massCalibration: number;
  massZeroHU: number;
  riskThresholds: number[];
  preset: string;
  sliceThicknessMm: number | undefined;
}

/** Defaults < preset < explicit options; every value checked. */
export function resolveOptions(opts: ScoringOptions = {}): ResolvedOptions {
  const preset = opts.preset ?? DEFAULT_PRESET;
  const p = presetValues(preset);
  const r: ResolvedOptions = {
    thresholdHU: opts.thresholdHU ?? p.thresholdHU,
    connectivity: opts.connectivity ?? p.connectivity,
    minLesionVolumeMm3: opts.minLesionVolumeMm3 ?? p.minLesionVolumeMm3,
    massCalibration: opts.massCalibration ?? DEFAULT_MASS_CALIBRATION,
    massZeroHU: opts.massZeroHU ?? 0,
    riskThresholds: [...(opts.riskThresholds ?? DEFAULT_RISK_THRESHOLDS)],
    preset,
    sliceThicknessMm: opts.sliceThicknessMm,
  };
  if (!Number.isFinite(r.thresholdHU)) throw new InputError(`thresholdHU must be finite, got ${r.thresholdHU}`);
  if (r.connectivity !== 6 && r.connectivity !== 26) {
    throw new InputError(`connectivity must be 6 or 26, got ${String(r.connectivity)}`);
  }
  if (!Number.isFinite(r.minLesionVolumeMm3) || r.minLesionVolumeMm3 < 0) {
    throw new InputError(`minLesionVolumeMm3 must be a finite number >= 0, got ${r.minLesionVolumeMm3}`);
  }
  if (!Number.isFinite(r.massCalibration) || r.massCalibration <= 0) {
    throw new InputError(`massCalibration must be a finite number > 0, got ${r.massCalibration}`);
  }
  if (!Number.isFinite(r.massZeroHU)) throw new InputError(`massZeroHU must be finite, got ${r.massZeroHU}`);
  if (r.sliceThicknessMm !== undefined && !(Number.isFinite(r.sliceThicknessMm) && r.sliceThicknessMm > 0)) {
    throw new InputError(`sliceThicknessMm must be a finite number > 0, got ${r.sliceThicknessMm}`);
  }
  validateRiskThresholds(r.riskThresholds);
  return r;
}

function emptyScore(): ArteryScore {
  return { agatston: 0, volumeMm3: 0, massMg: 0, lesionCount: 0 };
}

function addTo(acc: ArteryScore, l: Lesion): void {
  acc.agatston += l.agatston;
  acc.volumeMm3 += l.volumeMm3;
  acc.massMg += l.massMg;
  acc.lesionCount += 1;
}

/** Voxel index (fractional) to world mm; falls back to index x spacing if the affine is unusable. */
function toWorld(ci: number, cj: number, ck: number, vol: Volume): [number, number, number] {
  const a = vol.affine;
  if (Array.isArray(a) && a.length === 16 && a.every(Number.isFinite)) {
    return [
      a[0]! * ci + a[1]! * cj + a[2]! * ck + a[3]!,
      a[4]! * ci + a[5]! * cj + a[6]! * ck + a[7]!,
      a[8]! * ci + a[9]! * cj + a[10]! * ck + a[11]!,
    ];
  }
  return [ci * vol.spacing[0], cj * vol.spacing[1], ck * vol.spacing[2]];
}

export function scoreScan(ct: Volume, labels: LabelMap, opts?: ScoringOptions): ScanScore {
  const o = resolveOptions(opts);
  checkCt(ct);
  checkLabels(ct, labels);

  const [nx, ny] = ct.dims;
  const [dx, dy, dz] = ct.spacing;
  const voxelVolume = dx * dy * dz;
  const thickness = o.sliceThicknessMm ?? dz;
  const hu = ct.data;
  const lab = labels.data;

  const candidate = new Uint8Array(hu.length);
  for (let i = 0; i < hu.length; i++) candidate[i] = lab[i]! > 0 && hu[i]! >= o.thresholdHU ? 1 : 0;
  const { voxels: components } = connectedComponents(candidate, ct.dims, o.connectivity);

  const lesions: Lesion[] = [];
  for (const idx of components) {
    const volumeMm3 = idx.length * voxelVolume;
    if (!(volumeMm3 > o.minLesionVolumeMm3)) continue;

    const votes = [0, 0, 0, 0];
    let sumHU = 0;
    let peakHU = -Infinity;
    let si = 0;
    let sj = 0;
    let sk = 0;
    for (const v of idx) {
      votes[lab[v]!]!++;
      const h = hu[v]!;
      sumHU += h;
      if (h > peakHU) peakHU = h;
      const k = Math.floor(v / (nx * ny));
      const j = Math.floor((v - k * nx * ny) / nx);
      si += v - nx * (j + ny * k);
      sj += j;
      sk += k;
    }
    // Strict '>' keeps the lower label on ties.
    let best = 1;
    for (let a = 2; a <= 3; a++) if (votes[a]! > votes[best]!) best = a;

    const n = idx.length;
    const meanHU = sumHU / n;
    lesions.push({
      id: lesions.length + 1,
      artery: ARTERIES[best - 1]!,
      voxels: n,
      volumeMm3,
      agatston: lesionAgatston(idx, hu, ct.dims, ct.spacing, thickness),
      massMg: volumeMm3 * (meanHU - o.massZeroHU) * o.massCalibration,
      peakHU,
      meanHU,
      centroidMm: toWorld(si / n, sj / n, sk / n, ct),
      voxelIndices: idx,
    });
  }

  const perArtery = { LAD: emptyScore(), LCX: emptyScore(), RCA: emptyScore() };
  const total = emptyScore();
  for (const l of lesions) {
    addTo(perArtery[l.artery], l);
    addTo(total, l);
  }
  const category = riskCategory(total.agatston, o.riskThresholds);
  return {
    perArtery,
    total,
    riskCategory: category,
    riskLabel: riskLabel(category, o.riskThresholds),
    lesions,
    conventions: {
      thresholdHU: o.thresholdHU,
      connectivity: o.connectivity,
      minLesionVolumeMm3: o.minLesionVolumeMm3,
      sliceThicknessNormalisation: sliceThicknessConvention(thickness),
      massCalibration: o.massCalibration,
      massZeroHU: o.massZeroHU,
      riskThresholds: o.riskThresholds,
      preset: o.preset,
    },
  };
}
