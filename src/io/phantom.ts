/**
 * Synthetic non-contrast, ECG-gated cardiac CT phantoms with artery-specific
 * calcium ground truth: the project's embedded data (training, the demo and the
 * browser app run on it out of the box). Pure CPU code, no Node imports.
 *
 * Image formation, in order:
 *  1. the anatomy (phantom-anatomy.ts) is sampled several times per voxel and
 *     averaged (partial volume; thick slices get more samples along z);
 *  2. a Gaussian in-plane point-spread function blurs it (`blurMm`);
 *  3. white Gaussian noise (`noiseHU`) is added and HU rounded to integers,
 *     so writing int16 NIfTI loses nothing;
 *  4. calcified plaques (ellipsoids in the coronary wall, 130-1000+ HU before
 *     partial volume) are rendered the same way, supersampled and blurred, and
 *     added; small ones end partly or wholly below 130 HU, as in real scans.
 *
 * Ground truth follows the paper's annotation standard on the final image:
 * a voxel is labelled with a plaque's artery when it is >= 130 HU and
 * 6-connected through >= 130 HU voxels to a voxel the plaque clearly
 * brightens (region growing from the lesion, as scoring software does). Bone
 * (and the blur halo around it) is never labelled. Lesions of 1.5 mm^3 or less
 * stay labelled but are not counted by the scorer.
 *
 * Plaque burden: `riskTarget` picks an Agatston category (0, 1-10, 11-100,
 * 101-400, > 400). Plaque sizes are scaled until `scoreScan` of the phantom's
 * own CT and labels lands in that category, so every phantom's category holds
 * by construction under the project's scoring conventions.
 *
 * Reproducible: the same seed and options give byte-identical volumes in one
 * JS engine (the anatomy uses Math.sin/cos/atan2, which engines may round
 * differently in the last bit). Anatomy, noise and plaques draw from separate
 * streams, so the same seed with another riskTarget gives the same patient.
 */

import { InputError } from '../gpu/errors.js';
import { scoreScan, type ArteryScore, type ScanScore, type ScoringConventions, type ScoringOptions } from '../scoring/score.js';
import { DEFAULT_RISK_THRESHOLDS } from '../scoring/risk.js';
import {
  Anatomy,
  TISSUE,
  addScaled,
  cross,
  dot,
  normalize,
  sub,
  vesselAt,
  type AnatomySummary,
  type Vec3,
} from './phantom-anatomy.js';
import { Rng, checkSeed } from './rng.js';
import { ARTERIES, type Artery, type LabelMap, type Volume } from './volume.js';

export type PhantomPreset = 'small' | 'realistic';

export interface PresetSpec {
  dims: [number, number, number];
  /** Range of the in-plane voxel size drawn per phantom (mm). */
  inPlaneMm: [number, number];
  /** Range of the slice spacing (= thickness) drawn per phantom (mm). */
  sliceMm: [number, number];
  /** Anatomy samples per voxel along x, y, z (partial volume). */
  supersample: [number, number, number];
}

/**
 * 'small' (default): 64 x 64 x 16 voxels, 2.0-2.3 mm in-plane and 4.5-5.5 mm
 * slices, i.e. the clinical grid coarsened about 4x in-plane and 2x along z,
 * cropped to the heart (128-147 mm field of view, 72-88 mm along z: the whole
 * coronary tree, the front of the spine, part of the lungs). Made for training
 * and demos on a CPU (SwiftShader). Coarse enough that Agatston 1-10 means a
 * single calcified voxel, which the generator still hits.
 *
 * 'realistic': 512 x 512 x 40 voxels at 0.3-0.7 mm in-plane and 2.5-3.0 mm
 * slices (the paper's protocol and the usual calcium-scoring reconstruction),
 * 154-358 mm field of view (heart-centred when small, whole chest when large),
 * 100-120 mm along z.
 */
export const PHANTOM_PRESETS: Record<PhantomPreset, PresetSpec> = {
  small: { dims: [64, 64, 16], inPlaneMm: [2.0, 2.3], sliceMm: [4.5, 5.5], supersample: [2, 2, 3] },
  realistic: { dims: [512, 512, 40], inPlaneMm: [0.3, 0.7], sliceMm: [2.5, 3.0], supersample: [1, 1, 3] },
};

export interface PhantomOptions {
  seed: number;
  /** Grid preset; default 'small'. */
  preset?: PhantomPreset;
  /** Agatston category to produce (0..4 with the default thresholds); default drawn from the seed. */
  riskTarget?: number;
  /** Noise standard deviation (HU); default drawn in 10-25 per phantom. */
  noiseHU?: number;
  /** Grid size; spacing then scales so the preset's field of view stays the same. */
  dims?: [number, number, number];
  /** Voxel size (mm), overriding the preset's draw (and the dims scaling). */
  spacing?: [number, number, number];
  /** In-plane point-spread function, Gaussian sigma in mm; default 0.4. */
  blurMm?: number;
  /** Anatomy samples per voxel [x, y, z]; default from the preset. */
  supersample?: [number, number, number];
  /** Calcified spots in the descending aortic wall (not coronary: never labelled); default by chance. */
  aorticCalcification?: boolean;
  /** Scoring conventions used to hit `riskTarget` and reported in meta.score. */
  scoring?: ScoringOptions;
}

export interface PlaqueInfo {
  artery: Artery;
  /** 'LM', 'LAD', 'D1', 'LCX', 'OM1' or 'RCA'. */
  vessel: string;
  /** Distance along the vessel from its origin (mm). */
  arcMm: number;
  centerMm: Vec3;
  /** Along the vessel, radial, circumferential (mm). */
  semiAxesMm: Vec3;
  /** Density before partial volume and blur (HU). */
  densityHU: number;
  volumeMm3: number;
}

export interface CalcificationInfo {
  centerMm: Vec3;
  semiAxesMm: Vec3;
  densityHU: number;
}

export interface PhantomScoreSummary {
  perArtery: Record<Artery, ArteryScore>;
  total: ArteryScore;
  riskCategory: number;
  riskLabel: string;
  conventions: ScoringConventions;
}

export interface PhantomMeta {
  generator: 'cacnet-phantom';
  version: 1;
  seed: number;
  preset: PhantomPreset;
  riskTarget: number;
  /** Category of meta.score; equals riskTarget unless riskMatched is false. */
  riskCategory: number;
  riskMatched: boolean;
  /** Total Agatston the plaque design aimed at (inside the target category). */
  agatstonGoal: number;
  /** Plaque renderings scored before the category was hit. */
  calibrationSteps: number;
  dims: [number, number, number];
  spacing: [number, number, number];
  noiseHU: number;
  blurMm: number;
  plaques: PlaqueInfo[];
  aorticCalcifications: CalcificationInfo[];
  anatomy: AnatomySummary;
  /** scoreScan of this phantom's CT and labels (lesion details left out). */
  score: PhantomScoreSummary;
}

export interface Phantom {
  ct: Volume;
  labels: LabelMap;
  /** Tissue class per voxel (TISSUE in phantom-anatomy.ts), at the voxel's central sample. */
  tissue: Uint8Array;
  meta: PhantomMeta;
}

/** HU range stored (int16 CT with the usual -1024 floor). */
const HU_MIN = -1024;
const HU_MAX = 3071;
const THRESHOLD_HU = 130;
/** Plaque shape limits (semi-axes, mm): radial, around the vessel, along it (then all grow). */
const MAX_RADIAL_SEMI_MM = 1.5;
const MAX_CIRC_SEMI_MM = 2.5;
const MAX_LENGTH_SEMI_MM = 6;
/** Largest volume one plaque is designed with (mm^3); heavier burdens get more plaques. */
const MAX_PLAQUE_MM3 = 70;
/** Plaque sub-samples are spaced at most this far apart (mm). */
const PLAQUE_SAMPLE_MM = 0.25;

/** Voxel grid in patient space: voxel (i, j, k) is at (ox - i dx, oy - j dy, oz + k dz). */
interface Grid {
  nx: number;
  ny: number;
  nz: number;
  dx: number;
  dy: number;
  dz: number;
  ox: number;
  oy: number;
  oz: number;
}

function gridAffine(g: Grid): number[] {
  // i runs to the patient's left and j to the back: rows display like a radiology viewer.
  return [-g.dx, 0, 0, g.ox, 0, -g.dy, 0, g.oy, 0, 0, g.dz, g.oz, 0, 0, 0, 1];
}

function checkTriple(name: string, v: readonly number[] | undefined, integer: boolean): void {
  if (v === undefined) return;
  if (v.length !== 3 || v.some((x) => !Number.isFinite(x) || x <= 0 || (integer && !Number.isInteger(x)))) {
    throw new InputError(`${name} must be 3 positive ${integer ? 'integers' : 'numbers'}, got [${v.join(', ')}]`);
  }
}

/** Normalised 1D Gaussian taps for sigma in voxels; [1] when the blur is negligible. */
function gaussianKernel(sigmaVox: number): Float64Array {
  if (!(sigmaVox > 0.2)) return Float64Array.of(1);
  const r = Math.ceil(3 * sigmaVox);
  const k = new Float64Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp((-0.5 * i * i) / (sigmaVox * sigmaVox));
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

/**
 * Separable in-plane blur of a [ni, nj, nk] block, in place. Outside the block
 * values repeat the edge (`clamp`, the whole image) or are zero (padded boxes).
 * Both passes run along rows, so memory is read contiguously.
 */
function blurInPlane(a: Float32Array, ni: number, nj: number, nk: number, kx: Float64Array, ky: Float64Array, clamp: boolean): void {
  const rx = (kx.length - 1) / 2;
  const ry = (ky.length - 1) / 2;
  if (rx === 0 && ry === 0) return;
  const row = new Float32Array(ni + 2 * rx);
  const slice = new Float32Array(ni * nj);
  for (let k = 0; k < nk; k++) {
    const base = k * ni * nj;
    if (rx > 0) {
      for (let j = 0; j < nj; j++) {
        const r0 = base + j * ni;
        // Padded copy of the row, then a branch-free convolution.
        row.set(a.subarray(r0, r0 + ni), rx);
        for (let t = 0; t < rx; t++) {
          row[t] = clamp ? a[r0]! : 0;
          row[rx + ni + t] = clamp ? a[r0 + ni - 1]! : 0;
        }
        for (let i = 0; i < ni; i++) {
          let s = 0;
          for (let t = 0; t < kx.length; t++) s += kx[t]! * row[i + t]!;
          a[r0 + i] = s;
        }
      }
    }
    if (ry > 0) {
      slice.set(a.subarray(base, base + ni * nj));
      for (let j = 0; j < nj; j++) {
        const out = base + j * ni;
        a.fill(0, out, out + ni);
        for (let t = -ry; t <= ry; t++) {
          let jj = j + t;
          if (jj < 0 || jj >= nj) {
            if (!clamp) continue;
            jj = jj < 0 ? 0 : nj - 1;
          }
          const w = ky[t + ry]!;
          const src = jj * ni;
          for (let i = 0; i < ni; i++) a[out + i]! += w * slice[src + i]!;
        }
      }
    }
  }
}

/** Sub-sample offsets across one voxel of size `size`, n samples, centred. */
function offsets(n: number, size: number): Float64Array {
  const o = new Float64Array(n);
  for (let s = 0; s < n; s++) o[s] = ((s + 0.5) / n - 0.5) * size;
  return o;
}

/**
 * The anatomy with partial volume. Every voxel gets its central sample; voxels
 * whose 6-neighbours (along the supersampled axes) differ from them lie on a
 * boundary and are averaged over ss[0] x ss[1] x ss[2] samples. Uniform voxels
 * skip that, which saves most of the work on a 512 x 512 grid.
 * Returns HU, the central tissue, and whether any sample hit bone.
 */
function renderAnatomy(anat: Anatomy, g: Grid, ss: [number, number, number]) {
  const n = g.nx * g.ny * g.nz;
  const nxy = g.nx * g.ny;
  const hu = new Float32Array(n);
  const tissue = new Uint8Array(n);
  const boneAny = new Uint8Array(n);
  const table = anat.tissueHU;
  const lung = TISSUE.lung;
  const sampleHU = (t: number, y: number) => table[t]! + (t === lung ? anat.lungOffset(y) : 0);
  let v = 0;
  for (let k = 0; k < g.nz; k++) {
    const z = g.oz + k * g.dz;
    for (let j = 0; j < g.ny; j++) {
      const y = g.oy - j * g.dy;
      for (let i = 0; i < g.nx; i++, v++) {
        const t = anat.classify(g.ox - i * g.dx, y, z);
        tissue[v] = t;
        hu[v] = sampleHU(t, y);
        boneAny[v] = t === TISSUE.corticalBone || t === TISSUE.marrow ? 1 : 0;
      }
    }
  }
  const count = ss[0] * ss[1] * ss[2];
  if (count === 1) return { hu, tissue, boneAny };
  const ox = offsets(ss[0], g.dx);
  const oy = offsets(ss[1], g.dy);
  const oz = offsets(ss[2], g.dz);
  const inPlane = ss[0] > 1 || ss[1] > 1;
  const alongZ = ss[2] > 1;
  v = 0;
  for (let k = 0; k < g.nz; k++) {
    for (let j = 0; j < g.ny; j++) {
      for (let i = 0; i < g.nx; i++, v++) {
        const t = tissue[v]!;
        const edge =
          (inPlane &&
            ((i > 0 && tissue[v - 1] !== t) ||
              (i < g.nx - 1 && tissue[v + 1] !== t) ||
              (j > 0 && tissue[v - g.nx] !== t) ||
              (j < g.ny - 1 && tissue[v + g.nx] !== t))) ||
          (alongZ && ((k > 0 && tissue[v - nxy] !== t) || (k < g.nz - 1 && tissue[v + nxy] !== t)));
        if (!edge) continue;
        const xc = g.ox - i * g.dx;
        const yc = g.oy - j * g.dy;
        const zc = g.oz + k * g.dz;
        let acc = 0;
        let bone = 0;
        for (let c = 0; c < ss[2]; c++) {
          const z = zc + oz[c]!;
          for (let b = 0; b < ss[1]; b++) {
            const y = yc - oy[b]!;
            for (let a = 0; a < ss[0]; a++) {
              const s = anat.classify(xc - ox[a]!, y, z);
              acc += sampleHU(s, y);
              if (s === TISSUE.corticalBone || s === TISSUE.marrow) bone = 1;
            }
          }
        }
        hu[v] = acc / count;
        boneAny[v] = bone;
      }
    }
  }
  return { hu, tissue, boneAny };
}

/** An oriented ellipsoid: centre, unit axes and semi-axes (mm). */
interface Blob {
  c: Vec3;
  axes: [Vec3, Vec3, Vec3];
  semi: Vec3;
}

/**
 * Occupancy fraction of a blob in each voxel of its (padded) bounding box,
 * supersampled at PLAQUE_SAMPLE_MM. Returns the box origin and size in voxels.
 */
function rasterizeBlob(blob: Blob, g: Grid, padVox: number) {
  const ext = [0, 1, 2].map((ax) =>
    Math.hypot(blob.semi[0] * blob.axes[0][ax], blob.semi[1] * blob.axes[1][ax], blob.semi[2] * blob.axes[2][ax]),
  );
  const clampI = (v: number, n: number) => Math.min(n - 1, Math.max(0, v));
  // x and y decrease with i and j.
  const i0 = clampI(Math.floor((g.ox - (blob.c[0] + ext[0]!)) / g.dx + 0.5) - padVox, g.nx);
  const i1 = clampI(Math.ceil((g.ox - (blob.c[0] - ext[0]!)) / g.dx - 0.5) + padVox, g.nx);
  const j0 = clampI(Math.floor((g.oy - (blob.c[1] + ext[1]!)) / g.dy + 0.5) - padVox, g.ny);
  const j1 = clampI(Math.ceil((g.oy - (blob.c[1] - ext[1]!)) / g.dy - 0.5) + padVox, g.ny);
  const k0 = clampI(Math.floor((blob.c[2] - ext[2]! - g.oz) / g.dz + 0.5), g.nz);
  const k1 = clampI(Math.ceil((blob.c[2] + ext[2]! - g.oz) / g.dz - 0.5), g.nz);
  const ni = i1 - i0 + 1;
  const nj = j1 - j0 + 1;
  const nk = k1 - k0 + 1;
  const frac = new Float32Array(Math.max(0, ni * nj * nk));
  const sx = Math.min(24, Math.max(2, Math.ceil(g.dx / PLAQUE_SAMPLE_MM)));
  const sy = Math.min(24, Math.max(2, Math.ceil(g.dy / PLAQUE_SAMPLE_MM)));
  const sz = Math.min(24, Math.max(2, Math.ceil(g.dz / PLAQUE_SAMPLE_MM)));
  const offX = offsets(sx, g.dx);
  const offY = offsets(sy, g.dy);
  const offZ = offsets(sz, g.dz);
  const [a0, a1, a2] = blob.axes;
  const [s0, s1, s2] = blob.semi;
  const inv = 1 / (sx * sy * sz);
  for (let k = 0; k < nk; k++) {
    for (let j = 0; j < nj; j++) {
      for (let i = 0; i < ni; i++) {
        const xc = g.ox - (i0 + i) * g.dx - blob.c[0];
        const yc = g.oy - (j0 + j) * g.dy - blob.c[1];
        const zc = g.oz + (k0 + k) * g.dz - blob.c[2];
        let inside = 0;
        for (let c = 0; c < sz; c++) {
          const z = zc + offZ[c]!;
          for (let b = 0; b < sy; b++) {
            const y = yc - offY[b]!;
            for (let a = 0; a < sx; a++) {
              const x = xc - offX[a]!;
              const u = (x * a0[0] + y * a0[1] + z * a0[2]) / s0;
              const v = (x * a1[0] + y * a1[1] + z * a1[2]) / s1;
              const w = (x * a2[0] + y * a2[1] + z * a2[2]) / s2;
              if (u * u + v * v + w * w <= 1) inside++;
            }
          }
        }
        frac[i + ni * (j + nj * k)] = inside * inv;
      }
    }
  }
  return { frac, i0, j0, k0, ni, nj, nk };
}

/** A plaque's random layout; its size follows from a volume scale during calibration. */
interface PlaqueLayout {
  vessel: number;
  arcMm: number;
  /** Angle around the vessel (rad). */
  psi: number;
  /** Relative semi-axes: along the vessel, radial, circumferential. */
  aspect: Vec3;
  densityHU: number;
  /** Labelled volume aimed at before scaling (mm^3); fixed for tiny sub-threshold specks. */
  volumeMm3: number;
  tiny: boolean;
}

interface Plaque extends PlaqueLayout {
  blob: Blob;
  artery: 1 | 2 | 3;
}

/** The Agatston density weight a plaque's peak will roughly get after partial volume. */
function expectedWeight(densityHU: number): number {
  const p = 0.8 * densityHU;
  return p >= 400 ? 4 : p >= 300 ? 3 : p >= 200 ? 2 : 1;
}

/** Total-Agatston goal inside category c of `thresholds` (away from its edges). */
function agatstonGoal(r: Rng, c: number, thresholds: readonly number[]): number {
  if (c <= 0) return 0;
  const lo = Math.max(thresholds[c - 1]!, 1);
  if (c === thresholds.length) return r.logUniform(lo * 1.3, lo * 3.5);
  const hi = thresholds[c]!;
  return c === 1 ? r.logUniform(Math.min(lo * 2, hi * 0.5), hi * 0.7) : r.logUniform(lo * 1.5, hi * 0.75);
}

class PlaqueSampler {
  constructor(
    private readonly anat: Anatomy,
    private readonly g: Grid,
    private readonly boneZone: Uint8Array,
  ) {}

  /** Oriented ellipsoid in the vessel wall for a layout and a volume (mm^3). */
  blobFor(l: PlaqueLayout, volumeMm3: number): Blob {
    const v = this.anat.vessels[l.vessel]!;
    const at = vesselAt(v, l.arcMm);
    // Reference normal: away from the heart centre, so psi = 0 is the epicardial side.
    const out = sub(at.p, this.anat.heart.c);
    const n = normalize(sub(out, [at.t[0] * dot(out, at.t), at.t[1] * dot(out, at.t), at.t[2] * dot(out, at.t)]));
    const b = cross(at.t, n);
    const radial = normalize(addScaled([n[0] * Math.cos(l.psi), n[1] * Math.cos(l.psi), n[2] * Math.cos(l.psi)], b, Math.sin(l.psi)));
    const circ = cross(at.t, radial);
    const g = Math.cbrt(volumeMm3 / ((4 / 3) * Math.PI * l.aspect[0] * l.aspect[1] * l.aspect[2]));
    const semi: Vec3 = [l.aspect[0] * g, l.aspect[1] * g, l.aspect[2] * g];
    // Calcium grows along the vessel: past ~3 mm of thickness and ~5 mm around, volume goes into length.
    const vol = (4 / 3) * Math.PI * semi[0] * semi[1] * semi[2];
    semi[1] = Math.min(semi[1], MAX_RADIAL_SEMI_MM);
    semi[2] = Math.min(semi[2], MAX_CIRC_SEMI_MM);
    semi[0] = vol / ((4 / 3) * Math.PI * semi[1] * semi[2]);
    if (semi[0] > MAX_LENGTH_SEMI_MM) {
      const f = Math.sqrt(semi[0] / MAX_LENGTH_SEMI_MM);
      semi[0] = MAX_LENGTH_SEMI_MM;
      semi[1] *= f;
      semi[2] *= f;
    }
    // Centre in the wall; thick plaques bulge both into the lumen and outwards.
    return { c: addScaled(at.p, radial, at.r * 0.9), axes: [at.t, radial, circ], semi };
  }

  /** True when a blob of up to `reachMm` around `c` stays inside the grid and clear of bone. */
  placeable(c: Vec3, reachMm: number): boolean {
    const g = this.g;
    const fi = (g.ox - c[0]) / g.dx;
    const fj = (g.oy - c[1]) / g.dy;
    const fk = (c[2] - g.oz) / g.dz;
    const ri = Math.ceil(reachMm / g.dx);
    const rj = Math.ceil(reachMm / g.dy);
    const rk = Math.ceil(reachMm / g.dz);
    const margin = 1;
    if (fi - ri < margin || fj - rj < margin || fk < 0.5 || fi + ri > g.nx - 1 - margin || fj + rj > g.ny - 1 - margin) return false;
    if (fk > g.nz - 1.5) return false;
    const ci = Math.round(fi);
    const cj = Math.round(fj);
    const ck = Math.round(fk);
    // Bone must stay well away (3 mm more than the plaque reaches).
    const bi = ri + Math.ceil(3 / g.dx);
    const bj = rj + Math.ceil(3 / g.dy);
    const bk = rk + 1;
    for (let k = Math.max(0, ck - bk); k <= Math.min(g.nz - 1, ck + bk); k++)
      for (let j = Math.max(0, cj - bj); j <= Math.min(g.ny - 1, cj + bj); j++)
        for (let i = Math.max(0, ci - bi); i <= Math.min(g.nx - 1, ci + bi); i++)
          if (this.boneZone[i + g.nx * (j + g.ny * k)]) return false;
    return true;
  }

  /** Random plaque layouts sharing an Agatston goal; positions proximal-weighted, LAD most often. */
  layout(r: Rng, count: number, goal: number, tinyCount: number): PlaqueLayout[] {
    // count may grow below so that no plaque is implausibly big.
    const out: PlaqueLayout[] = [];
    const vessels = this.anat.vessels;
    // LAD (with LM and D1) ~45 %, LCX (with OM1) ~20 %, RCA ~35 % of calcium: registry proportions.
    const arteryWeights = [0.45, 0.2, 0.35];
    // Agatston ~ labelled volume x weight / 3 (area x slices x dz / 3), so volume ~ 3 A / w.
    const densities = Array.from({ length: count }, () => r.logUniform(230, 1200));
    const meanWeight = densities.reduce((a, d) => a + expectedWeight(d), 0) / Math.max(1, count);
    count = Math.min(40, Math.max(count, Math.ceil((3 * goal) / meanWeight / MAX_PLAQUE_MM3)));
    while (densities.length < count) densities.push(r.logUniform(230, 1200));
    const shares = Array.from({ length: count }, () => Math.max(0.2, -Math.log(1 - r.float() * 0.999)));
    const shareSum = shares.reduce((a, b) => a + b, 0);
    for (let p = 0; p < count + tinyCount; p++) {
      const tiny = p >= count;
      const densityHU = tiny ? r.uniform(200, 700) : densities[p]!;
      const w = expectedWeight(densityHU);
      const volumeMm3 = tiny ? r.uniform(0.05, 0.4) : Math.min(MAX_PLAQUE_MM3, (3 * goal * (shares[p]! / shareSum)) / w);
      const aspect: Vec3 = [r.uniform(1.2, 3), r.uniform(0.5, 0.9), r.uniform(0.8, 1.4)];
      for (let attempt = 0; attempt < 40; attempt++) {
        const artery = (r.pick(arteryWeights) + 1) as 1 | 2 | 3;
        const candidates = vessels.map((v, i) => ({ v, i })).filter((e) => e.v.artery === artery);
        // Main vessel (listed first) 85 %, side branch 15 %.
        const pickIndex = candidates.length > 1 && r.chance(0.15) ? 1 + r.int(0, candidates.length - 2) : 0;
        const { v, i } = candidates[pickIndex]!;
        const length = v.arc[v.arc.length - 1]!;
        const s = v.ostiumMm + 1 + (length - v.ostiumMm - 3) * Math.pow(r.float(), 1.7);
        const layout: PlaqueLayout = { vessel: i, arcMm: s, psi: r.uniform(0, 2 * Math.PI), aspect, densityHU, volumeMm3, tiny };
        // Check with the largest size calibration may reach (4x volume).
        const blob = this.blobFor(layout, volumeMm3 * 4);
        if (this.placeable(blob.c, Math.max(...blob.semi) + 1)) {
          out.push(layout);
          break;
        }
      }
    }
    return out;
  }
}

/** Sparse plaque signal over the CT: per touched voxel, the base HU, the added HU, and the dominant artery. */
class PlaqueLayer {
  readonly slot = new Map<number, number>();
  readonly voxel: number[] = [];
  readonly base: number[] = [];
  readonly sum: number[] = [];
  readonly best: number[] = [];
  readonly artery: number[] = [];

  add(v: number, baseHU: number, hu: number, artery: number): void {
    let s = this.slot.get(v);
    if (s === undefined) {
      s = this.voxel.length;
      this.slot.set(v, s);
      this.voxel.push(v);
      this.base.push(baseHU);
      this.sum.push(0);
      this.best.push(0);
      this.artery.push(0);
    }
    this.sum[s]! += hu;
    if (hu > this.best[s]!) {
      this.best[s] = hu;
      this.artery[s] = artery;
    }
  }
}

function resolveGrid(opts: PhantomOptions, preset: PresetSpec, r: Rng): { dims: [number, number, number]; spacing: [number, number, number] } {
  const dx = r.uniform(preset.inPlaneMm[0], preset.inPlaneMm[1]);
  const dz = r.uniform(preset.sliceMm[0], preset.sliceMm[1]);
  const dims = opts.dims ?? preset.dims;
  const spacing = opts.spacing ?? [(dx * preset.dims[0]) / dims[0], (dx * preset.dims[1]) / dims[1], (dz * preset.dims[2]) / dims[2]];
  return { dims: [...dims], spacing: [storable(spacing[0], 1e4), storable(spacing[1], 1e4), storable(spacing[2], 1e4)] };
}

/**
 * Rounded to `per` steps per mm, then to float32: NIfTI stores spacing and
 * affine as float32, so the files carry exactly the grid the phantom (and its
 * manifest scores) used.
 */
function storable(x: number, per: number): number {
  return Math.fround(Math.round(x * per) / per);
}

/** Field-of-view centre: the heart and the front of the spine; the whole chest when the field is wide. */
function fieldCentre(anat: Anatomy, dims: [number, number, number], spacing: [number, number, number], r: Rng): Vec3 {
  const h = anat.heart;
  const hx = h.halfExtent(0);
  const hy = h.halfExtent(1);
  const right = Math.max(h.c[0] + hx, anat.rootC[0] + anat.rootR);
  const heartX = (h.c[0] - hx + right) / 2;
  const heartY = (h.c[1] + hy + anat.spineY) / 2;
  const fov = Math.min(dims[0] * spacing[0], dims[1] * spacing[1]);
  const w = Math.min(1, Math.max(0, (fov - 180) / 160));
  let zlo = Infinity;
  let zhi = -Infinity;
  for (const v of anat.vessels)
    for (const p of v.points) {
      zlo = Math.min(zlo, p[2]);
      zhi = Math.max(zhi, p[2]);
    }
  return [
    heartX * (1 - w) + r.uniform(-3, 3),
    heartY * (1 - w) + anat.bodyCy * w + r.uniform(-3, 3),
    (zlo + zhi) / 2 + r.uniform(-2, 2),
  ];
}

function summarise(s: ScanScore): PhantomScoreSummary {
  const copy = (a: ArteryScore): ArteryScore => ({ ...a });
  return {
    perArtery: { LAD: copy(s.perArtery.LAD), LCX: copy(s.perArtery.LCX), RCA: copy(s.perArtery.RCA) },
    total: copy(s.total),
    riskCategory: s.riskCategory,
    riskLabel: s.riskLabel,
    conventions: { ...s.conventions, riskThresholds: [...s.conventions.riskThresholds] },
  };
}

/** Generates one phantom. Deterministic in (seed, options). */
export function generatePhantom(opts: PhantomOptions): Phantom {
  checkSeed(opts.seed);
  const presetName = opts.preset ?? 'small';
  const preset = PHANTOM_PRESETS[presetName];
  if (!preset) throw new InputError(`unknown phantom preset '${String(presetName)}' (small, realistic)`);
  checkTriple('dims', opts.dims, true);
  checkTriple('spacing', opts.spacing, false);
  checkTriple('supersample', opts.supersample, true);
  const thresholds = opts.scoring?.riskThresholds ?? DEFAULT_RISK_THRESHOLDS;
  if (opts.noiseHU !== undefined && !(Number.isFinite(opts.noiseHU) && opts.noiseHU >= 0)) {
    throw new InputError(`noiseHU must be a finite number >= 0, got ${opts.noiseHU}`);
  }
  if (opts.blurMm !== undefined && !(Number.isFinite(opts.blurMm) && opts.blurMm >= 0)) {
    throw new InputError(`blurMm must be a finite number >= 0, got ${opts.blurMm}`);
  }
  const root = new Rng(opts.seed);
  const pr = root.fork('parameters');
  const riskTarget = opts.riskTarget ?? pr.int(0, thresholds.length);
  if (!Number.isInteger(riskTarget) || riskTarget < 0 || riskTarget > thresholds.length) {
    throw new InputError(`riskTarget must be an integer in 0..${thresholds.length}, got ${riskTarget}`);
  }
  const noiseDraw = pr.uniform(10, 25);
  const noiseHU = opts.noiseHU ?? noiseDraw;
  const blurMm = opts.blurMm ?? 0.4;
  const aorticDraw = pr.chance(0.2 + 0.15 * riskTarget);
  const aortic = opts.aorticCalcification ?? aorticDraw;

  const anat = new Anatomy(root.fork('anatomy'));
  const { dims, spacing } = resolveGrid(opts, preset, root.fork('grid'));
  const centre = fieldCentre(anat, dims, spacing, root.fork('field'));
  const g: Grid = {
    nx: dims[0],
    ny: dims[1],
    nz: dims[2],
    dx: spacing[0],
    dy: spacing[1],
    dz: spacing[2],
    ox: storable(centre[0] + ((dims[0] - 1) / 2) * spacing[0], 1e3),
    oy: storable(centre[1] + ((dims[1] - 1) / 2) * spacing[1], 1e3),
    oz: storable(centre[2] - ((dims[2] - 1) / 2) * spacing[2], 1e3),
  };
  const affine = gridAffine(g);
  const n = g.nx * g.ny * g.nz;

  // 1. Anatomy with partial volume.
  const { hu, tissue, boneAny } = renderAnatomy(anat, g, opts.supersample ?? preset.supersample);
  const blood = anat.tissueHU[TISSUE.blood]!;

  // Calcified spots on the descending aorta: calcium that is not coronary.
  const aorticCalcifications: CalcificationInfo[] = [];
  if (aortic) {
    const ar = root.fork('aorta');
    const count = ar.int(1, 4);
    for (let c = 0; c < count; c++) {
      const th = ar.uniform(0, 2 * Math.PI);
      const radial: Vec3 = [Math.cos(th), Math.sin(th), 0];
      const z = g.oz + ar.uniform(0.15, 0.85) * (g.nz - 1) * g.dz;
      const blob: Blob = {
        c: [anat.dAortaX + radial[0] * anat.dAortaR, anat.dAortaY + radial[1] * anat.dAortaR, z],
        axes: [[0, 0, 1], radial, [-radial[1], radial[0], 0]],
        semi: [ar.uniform(1, 3), ar.uniform(0.6, 1.2), ar.uniform(1.5, 3)],
      };
      const densityHU = ar.uniform(300, 900);
      const f = rasterizeBlob(blob, g, 0);
      for (let k = 0; k < f.nk; k++)
        for (let j = 0; j < f.nj; j++)
          for (let i = 0; i < f.ni; i++) {
            const fr = f.frac[i + f.ni * (j + f.nj * k)]!;
            if (fr > 0) hu[f.i0 + i + g.nx * (f.j0 + j + g.ny * (f.k0 + k))]! += fr * (densityHU - blood);
          }
      aorticCalcifications.push({ centerMm: blob.c, semiAxesMm: blob.semi, densityHU });
    }
  }

  // 2. Point-spread function, 3. noise and integer HU.
  const kx = gaussianKernel(blurMm / g.dx);
  const ky = gaussianKernel(blurMm / g.dy);
  blurInPlane(hu, g.nx, g.ny, g.nz, kx, ky, true);
  const noiseRng = root.fork('noise');
  const chunk = new Float32Array(4096);
  for (let s = 0; s < n; s += chunk.length) {
    const m = Math.min(chunk.length, n - s);
    noiseRng.fillGaussian(chunk, 0, noiseHU);
    for (let t = 0; t < m; t++) hu[s + t] = toStoredHU(hu[s + t]! + chunk[t]!);
  }
  const ctData = hu;

  // Bone and its blur halo: never labelled, and plaques keep clear of it.
  const boneZone = dilateInPlane(boneAny, g, Math.max((kx.length - 1) / 2, (ky.length - 1) / 2) + 1);

  const ct: Volume = { data: ctData, dims: [g.nx, g.ny, g.nz], spacing: [g.dx, g.dy, g.dz], affine, source: `phantom seed ${opts.seed} (${presetName})` };
  const labels: LabelMap = { data: new Uint8Array(n), dims: [g.nx, g.ny, g.nz], spacing: [g.dx, g.dy, g.dz], affine: [...affine] };

  // 4. Plaques, scaled until the phantom's own score lands in the target category.
  const sampler = new PlaqueSampler(anat, g, boneZone);
  const seedHU = 0.5 * (THRESHOLD_HU - blood);
  let layer = new PlaqueLayer();
  let labelled: number[] = [];
  let plaques: Plaque[] = [];

  const render = (layouts: PlaqueLayout[], scaleK: number): ScanScore => {
    // Undo the previous rendering.
    for (let s = 0; s < layer.voxel.length; s++) ctData[layer.voxel[s]!] = layer.base[s]!;
    for (const v of labelled) labels.data[v] = 0;
    layer = new PlaqueLayer();
    plaques = [];
    for (const l of layouts) {
      const blob = sampler.blobFor(l, l.tiny ? l.volumeMm3 : l.volumeMm3 * scaleK);
      const artery = anat.vessels[l.vessel]!.artery;
      plaques.push({ ...l, blob, artery });
      const pad = Math.max((kx.length - 1) / 2, (ky.length - 1) / 2);
      const f = rasterizeBlob(blob, g, pad);
      blurInPlane(f.frac, f.ni, f.nj, f.nk, kx, ky, false);
      const excess = l.densityHU - blood;
      for (let k = 0; k < f.nk; k++)
        for (let j = 0; j < f.nj; j++)
          for (let i = 0; i < f.ni; i++) {
            const add = f.frac[i + f.ni * (j + f.nj * k)]! * excess;
            if (add < 0.5) continue;
            const v = f.i0 + i + g.nx * (f.j0 + j + g.ny * (f.k0 + k));
            // ctData still holds the base HU here: plaques are applied after all are rasterised.
            layer.add(v, ctData[v]!, add, artery);
          }
    }
    for (let s = 0; s < layer.voxel.length; s++) {
      ctData[layer.voxel[s]!] = toStoredHU(layer.base[s]! + layer.sum[s]!);
    }
    labelled = growLabels(ctData, labels.data, boneZone, g, layer, seedHU);
    return scoreScan(ct, labels, opts.scoring);
  };

  const plaqueRng = root.fork('plaques');
  const goalRng = plaqueRng.fork('goal');
  let goal = agatstonGoal(goalRng, riskTarget, thresholds);
  let score: ScanScore | undefined;
  let steps = 0;
  if (riskTarget === 0) {
    score = render([], 1);
    steps = 1;
  } else {
    designs: for (let design = 0; design < 6; design++) {
      const dr = plaqueRng.fork(design);
      if (design > 0) goal = agatstonGoal(goalRng, riskTarget, thresholds);
      const count = [0, 1, dr.int(1, 3), dr.int(2, 6), dr.int(4, 10)][Math.min(4, riskTarget)]! + Math.max(0, riskTarget - 4);
      const layouts = sampler.layout(dr, count, goal, dr.int(0, 2));
      let k = 1;
      let kLo = 0;
      let kHi = Infinity;
      for (let step = 0; step < 10; step++) {
        score = render(layouts, k);
        steps++;
        const a = score.total.agatston;
        if (score.riskCategory === riskTarget) break designs;
        if (score.riskCategory < riskTarget) {
          kLo = k;
          k = Number.isFinite(kHi) ? Math.sqrt(kLo * kHi) : k * (a > 0 ? Math.min(4, Math.max(1.3, goal / a)) : 3);
        } else {
          kHi = k;
          k = kLo > 0 ? Math.sqrt(kLo * kHi) : k * Math.min(0.77, Math.max(0.25, goal / a));
        }
        if (kHi / Math.max(kLo, 1e-12) < 1.01 || k > 400 || k < 1e-4) break;
      }
    }
  }
  const final = score!;

  const plaqueInfo: PlaqueInfo[] = plaques.map((p) => {
    const v = anat.vessels[p.vessel]!;
    const name = v.name === 'LAD' && p.arcMm < v.leftMainMm ? 'LM' : v.name;
    const vol = (4 / 3) * Math.PI * p.blob.semi[0] * p.blob.semi[1] * p.blob.semi[2];
    return {
      artery: ARTERIES[p.artery - 1]!,
      vessel: name,
      arcMm: round3(p.arcMm),
      centerMm: p.blob.c.map(round3) as Vec3,
      semiAxesMm: p.blob.semi.map(round3) as Vec3,
      densityHU: Math.round(p.densityHU),
      volumeMm3: round3(vol),
    };
  });

  return {
    ct,
    labels,
    tissue,
    meta: {
      generator: 'cacnet-phantom',
      version: 1,
      seed: opts.seed,
      preset: presetName,
      riskTarget,
      riskCategory: final.riskCategory,
      riskMatched: final.riskCategory === riskTarget,
      agatstonGoal: round3(goal),
      calibrationSteps: steps,
      dims: [g.nx, g.ny, g.nz],
      spacing: [g.dx, g.dy, g.dz],
      noiseHU,
      blurMm,
      plaques: plaqueInfo,
      aorticCalcifications,
      anatomy: anat.summary,
      score: summarise(final),
    },
  };
}

/** Integer HU in the int16 CT range; `+ 0` turns Math.round's -0 into 0 (int16 files cannot hold -0). */
function toStoredHU(x: number): number {
  return Math.min(HU_MAX, Math.max(HU_MIN, Math.round(x))) + 0;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Marks voxels within `r` voxels in-plane (square) of a marked voxel. */
function dilateInPlane(mask: Uint8Array, g: Grid, r: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  const tmp = new Uint8Array(mask.length);
  // Rows then columns: a square structuring element in two passes.
  for (let k = 0; k < g.nz; k++)
    for (let j = 0; j < g.ny; j++) {
      const row = g.nx * (j + g.ny * k);
      for (let i = 0; i < g.nx; i++) {
        if (!mask[row + i]) continue;
        for (let t = Math.max(0, i - r); t <= Math.min(g.nx - 1, i + r); t++) tmp[row + t] = 1;
      }
    }
  for (let k = 0; k < g.nz; k++)
    for (let j = 0; j < g.ny; j++) {
      const row = g.nx * (j + g.ny * k);
      for (let i = 0; i < g.nx; i++) {
        if (!tmp[row + i]) continue;
        for (let t = Math.max(0, j - r); t <= Math.min(g.ny - 1, j + r); t++) out[g.nx * (t + g.ny * k) + i] = 1;
      }
    }
  return out;
}

/**
 * Ground truth by region growing: seeds are voxels >= 130 HU where a plaque
 * adds at least `seedHU`; labels spread (6-connected, breadth first) through
 * voxels >= 130 HU outside the bone zone. Returns the labelled voxels.
 */
function growLabels(ct: Float32Array, labels: Uint8Array, boneZone: Uint8Array, g: Grid, layer: PlaqueLayer, seedHU: number): number[] {
  const queue: number[] = [];
  // Seeds in ascending voxel order, so ties between arteries resolve the same way every run.
  const seeds = layer.voxel.map((v, s) => [v, s] as const).sort((a, b) => a[0] - b[0]);
  for (const [v, s] of seeds) {
    if (layer.best[s]! >= seedHU && ct[v]! >= THRESHOLD_HU && !boneZone[v]) {
      labels[v] = layer.artery[s]!;
      queue.push(v);
    }
  }
  const nxy = g.nx * g.ny;
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q]!;
    const k = Math.floor(v / nxy);
    const j = Math.floor((v - k * nxy) / g.nx);
    const i = v - k * nxy - j * g.nx;
    const visit = (u: number) => {
      if (labels[u] === 0 && ct[u]! >= THRESHOLD_HU && !boneZone[u]) {
        labels[u] = labels[v]!;
        queue.push(u);
      }
    };
    if (i > 0) visit(v - 1);
    if (i < g.nx - 1) visit(v + 1);
    if (j > 0) visit(v - g.nx);
    if (j < g.ny - 1) visit(v + g.nx);
    if (k > 0) visit(v - nxy);
    if (k < g.nz - 1) visit(v + nxy);
  }
  return queue;
}

// --- cohorts ------------------------------------------------------------------------

export interface CohortOptions extends Omit<PhantomOptions, 'seed' | 'riskTarget'> {
  seed: number;
  count: number;
  /** Case ids are `${idPrefix}${index, 3 digits}`; default 'phantom-'. */
  idPrefix?: string;
}

export interface CohortEntry {
  id: string;
  /** The phantom's own seed (derived from the cohort seed and the index). */
  seed: number;
  riskTarget: number;
}

export interface CohortCase extends CohortEntry {
  phantom: Phantom;
}

/** Case ids, seeds and risk targets; targets cycle 0, 1, 2, 3, 4, ... so any 5 consecutive cases cover every category. */
export function planCohort(opts: CohortOptions): CohortEntry[] {
  checkSeed(opts.seed);
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new InputError(`count must be an integer >= 0, got ${opts.count}`);
  const categories = (opts.scoring?.riskThresholds ?? DEFAULT_RISK_THRESHOLDS).length + 1;
  const prefix = opts.idPrefix ?? 'phantom-';
  const root = new Rng(opts.seed);
  return Array.from({ length: opts.count }, (_, i) => ({
    id: `${prefix}${String(i).padStart(3, '0')}`,
    seed: root.fork(i).nextUint32(),
    riskTarget: i % categories,
  }));
}

/**
 * Generates a cohort lazily (one phantom in memory at a time). A phantom that
 * misses its category (rare) is replaced by one from a derived seed, so every
 * case's score lies in its target category.
 */
export function* generateCohort(opts: CohortOptions): Generator<CohortCase> {
  const { count: _count, idPrefix: _prefix, seed: _seed, ...phantomOpts } = opts;
  for (const entry of planCohort(opts)) {
    let seed = entry.seed;
    let phantom = generatePhantom({ ...phantomOpts, seed, riskTarget: entry.riskTarget });
    for (let retry = 1; !phantom.meta.riskMatched && retry <= 5; retry++) {
      seed = new Rng(entry.seed).fork(`retry-${retry}`).nextUint32();
      phantom = generatePhantom({ ...phantomOpts, seed, riskTarget: entry.riskTarget });
    }
    yield { ...entry, seed, phantom };
  }
}

