/**
 * Plaque burden calibrated to a risk category: `riskTarget` picks an Agatston
 * category (0, 1-10, 11-100, 101-400, > 400). Plaque sizes are scaled until
 * `scoreScan` of the phantom's own CT and labels lands in that category, so
 * every phantom's category holds by construction under the project's scoring
 * conventions. Plaques are rendered like the anatomy (supersampled, blurred by
 * the same PSF) on top of the noisy image; small ones end partly or wholly
 * below 130 HU, as in real scans.
 */

import type { Rng } from '../base/rng.js';
import type { LabelMap, Volume } from '../io/volume.js';
import { scoreScan, type ScanScore, type ScoringOptions } from '../scoring/score.js';
import type { Anatomy } from './anatomy.js';
import type { Grid } from './grid.js';
import { THRESHOLD_HU, growLabels } from './ground-truth.js';
import { toStoredHU, type Psf } from './image.js';
import { CalciumLayer } from './calcium-layer.js';
import { PlaqueSampler, type Plaque, type PlaqueLayout, type PlaqueStyle } from './plaques.js';
import { TISSUE } from './tissue.js';

/** Total-Agatston goal inside category c of `thresholds` (away from its edges). */
function agatstonGoal(r: Rng, c: number, thresholds: readonly number[]): number {
  if (c <= 0) return 0;
  const lo = Math.max(thresholds[c - 1]!, 1);
  if (c === thresholds.length) return r.logUniform(lo * 1.3, lo * 3.5);
  const hi = thresholds[c]!;
  return c === 1 ? r.logUniform(Math.min(lo * 2, hi * 0.5), hi * 0.7) : r.logUniform(lo * 1.5, hi * 0.75);
}

/** Renders a set of plaque layouts at a volume scale into the CT and labels, undoing the previous set. */
class PlaqueRenderer {
  private layer = new CalciumLayer();
  private labelled: number[] = [];
  /** The plaques of the last rendering. */
  plaques: Plaque[] = [];
  private readonly blood: number;
  private readonly seedHU: number;

  constructor(
    private readonly anat: Anatomy,
    private readonly g: Grid,
    private readonly ct: Volume,
    private readonly labels: LabelMap,
    private readonly blocked: Uint8Array,
    private readonly psf: Psf,
    readonly sampler: PlaqueSampler,
    private readonly scoring: ScoringOptions | undefined,
  ) {
    this.blood = anat.tissueHU[TISSUE.blood]!;
    this.seedHU = 0.5 * (THRESHOLD_HU - this.blood);
  }

  render(layouts: PlaqueLayout[], scaleK: number): ScanScore {
    const { g, anat, sampler, psf } = this;
    const ctData = this.ct.data;
    const labels = this.labels.data;
    // Undo the previous rendering.
    let layer = this.layer;
    for (let s = 0; s < layer.voxel.length; s++) ctData[layer.voxel[s]!] = layer.base[s]!;
    for (const v of this.labelled) labels[v] = 0;
    layer = this.layer = new CalciumLayer();
    this.plaques = [];
    for (const l of layouts) {
      const shape = sampler.shapeFor(l, l.tiny ? l.volumeMm3 : l.volumeMm3 * scaleK);
      const artery = anat.vessels[l.vessel]!.artery;
      this.plaques.push({ ...l, ...shape, artery });
      // ctData still holds the base HU here: plaques are applied after all are rasterised.
      layer.addBlurred(ctData, g, shape.parts, psf, l.densityHU - this.blood, artery);
    }
    for (let s = 0; s < layer.voxel.length; s++) {
      ctData[layer.voxel[s]!] = toStoredHU(layer.base[s]! + layer.sum[s]!);
    }
    this.labelled = growLabels(ctData, labels, this.blocked, g, layer, this.seedHU);
    const crop = cropAround(this.ct, this.labels, this.labelled);
    return scoreScan(crop.ct, crop.labels, this.scoring);
  }
}

/**
 * The CT and labels cut to the box around `voxels` (one voxel of margin): the
 * score depends only on the labelled voxels, and scoring the box instead of
 * a whole 512 x 512 scan saves most of each calibration step. Scan order
 * inside the box is that of the whole volume, so the sums come out the same.
 */
function cropAround(ct: Volume, labels: LabelMap, voxels: readonly number[]): { ct: Volume; labels: LabelMap } {
  const [nx, ny, nz] = ct.dims;
  const lo = [nx, ny, nz];
  const hi = [-1, -1, -1];
  for (const v of voxels) {
    const idx = [v % nx, Math.floor(v / nx) % ny, Math.floor(v / (nx * ny))];
    for (let a = 0; a < 3; a++) {
      lo[a] = Math.min(lo[a]!, idx[a]!);
      hi[a] = Math.max(hi[a]!, idx[a]!);
    }
  }
  if (voxels.length === 0) {
    lo.fill(0);
    hi.fill(0);
  }
  const n = [nx, ny, nz];
  for (let a = 0; a < 3; a++) {
    lo[a] = Math.max(0, lo[a]! - 1);
    hi[a] = Math.min(n[a]! - 1, hi[a]! + 1);
  }
  const dims: [number, number, number] = [hi[0]! - lo[0]! + 1, hi[1]! - lo[1]! + 1, hi[2]! - lo[2]! + 1];
  const hu = new Float32Array(dims[0] * dims[1] * dims[2]);
  const lab = new Uint8Array(hu.length);
  let t = 0;
  for (let k = lo[2]!; k <= hi[2]!; k++)
    for (let j = lo[1]!; j <= hi[1]!; j++) {
      const row = nx * (j + ny * k);
      for (let i = lo[0]!; i <= hi[0]!; i++, t++) {
        hu[t] = ct.data[row + i]!;
        lab[t] = labels.data[row + i]!;
      }
    }
  // The box's first voxel in patient space (the affine's translation column moved).
  const A = ct.affine;
  const origin = [0, 1, 2].map((r) => A[4 * r]! * lo[0]! + A[4 * r + 1]! * lo[1]! + A[4 * r + 2]! * lo[2]! + A[4 * r + 3]!);
  const affine = [...A];
  for (let r = 0; r < 3; r++) affine[4 * r + 3] = origin[r]!;
  return {
    ct: { data: hu, dims, spacing: [...ct.spacing], affine, source: ct.source },
    labels: { data: lab, dims, spacing: [...labels.spacing], affine: [...affine] },
  };
}

export interface CalibratedPlaques {
  score: ScanScore;
  plaques: Plaque[];
  /** Total Agatston the last design aimed at. */
  goal: number;
  /** Renderings scored before the category was hit (or the search gave up). */
  steps: number;
}

export interface CalibrationInput {
  anat: Anatomy;
  g: Grid;
  /** The noisy CT without plaques; plaques are written into it. */
  ct: Volume;
  /** All zero; the ground truth is written into it. */
  labels: LabelMap;
  /** Bone with its blur halo, and calcium that is not coronary: never labelled, and plaques keep clear of it. */
  blocked: Uint8Array;
  style: PlaqueStyle;
  psf: Psf;
  riskTarget: number;
  thresholds: readonly number[];
  scoring?: ScoringOptions;
}

/**
 * Up to 6 plaque designs (count, positions, densities), each scaled by a
 * bracketing search on the volume factor until the score's category is the target.
 */
export function placeCalibratedPlaques(r: Rng, input: CalibrationInput): CalibratedPlaques {
  const { riskTarget, thresholds } = input;
  const sampler = new PlaqueSampler(input.anat, input.g, input.blocked, input.style);
  const renderer = new PlaqueRenderer(input.anat, input.g, input.ct, input.labels, input.blocked, input.psf, sampler, input.scoring);
  const goalRng = r.fork('goal');
  let goal = agatstonGoal(goalRng, riskTarget, thresholds);
  let score: ScanScore | undefined;
  let steps = 0;
  if (riskTarget === 0) {
    score = renderer.render([], 1);
    steps = 1;
  } else {
    designs: for (let design = 0; design < 6; design++) {
      const dr = r.fork(design);
      if (design > 0) goal = agatstonGoal(goalRng, riskTarget, thresholds);
      const count = [0, 1, dr.int(1, 3), dr.int(2, 6), dr.int(4, 10)][Math.min(4, riskTarget)]! + Math.max(0, riskTarget - 4);
      const layouts = sampler.layout(dr, count, goal, dr.int(...input.style.tinyCount));
      let k = 1;
      let kLo = 0;
      let kHi = Infinity;
      for (let step = 0; step < 10; step++) {
        score = renderer.render(layouts, k);
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
  return { score: score!, plaques: renderer.plaques, goal, steps };
}
