/**
 * Synthetic non-contrast, ECG-gated cardiac CT phantoms with artery-specific
 * calcium ground truth: the project's embedded data (training, the demo and the
 * browser app run on it out of the box). Pure CPU code, no Node imports.
 *
 * A phantom is made in steps, each in its own file:
 *  1. anatomy.ts lays out a random patient (skeleton, body wall, mediastinum,
 *     heart, lungs, coronary tree) and grid.ts places the scan's grid on it;
 *  2. render.ts samples the anatomy several times per boundary voxel and
 *     averages (partial volume; thick slices get more samples along z);
 *     noncoronary-calcium.ts adds calcium that must never be labelled;
 *  3. image.ts blurs in-plane (the point-spread function, `blurMm`), adds white
 *     Gaussian noise (`noiseHU`) and rounds HU to integers, so writing int16
 *     NIfTI loses nothing;
 *  4. calibration.ts places plaques (plaques.ts: ellipsoids in the coronary
 *     wall, 130-1000+ HU before partial volume), renders them the same way and
 *     scales them until the phantom's own score hits the risk category;
 *  5. ground-truth.ts labels them by region growing on the final image.
 * Lesions of 1.5 mm^3 or less stay labelled but are not counted by the scorer.
 *
 * Reproducible: the same seed and options give byte-identical volumes in one
 * JS engine (the anatomy uses Math.sin/cos/atan2, which engines may round
 * differently in the last bit). Anatomy, noise and plaques draw from separate
 * streams, so the same seed with another riskTarget gives the same patient.
 */

import { InputError } from '../base/errors.js';
import { checkSeed } from '../base/random.js';
import { Rng } from '../base/rng.js';
import type { LabelMap, Volume } from '../io/volume.js';
import { DEFAULT_RISK_THRESHOLDS } from '../scoring/risk.js';
import type { ScoringOptions } from '../scoring/score.js';
import { Anatomy } from './anatomy.js';
import { placeCalibratedPlaques } from './calibration.js';
import { fieldCentre, gridAffine, placeGrid, resolveGrid } from './grid.js';
import { boneZone } from './ground-truth.js';
import { addNoiseAndQuantise, blurInPlane, psfFor } from './image.js';
import { describePlaques, round3, summariseScore, type PhantomMeta } from './meta.js';
import { addAorticCalcifications } from './noncoronary-calcium.js';
import { PHANTOM_PRESETS, type PhantomPreset } from './presets.js';
import { renderAnatomy } from './render.js';

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

export interface Phantom {
  ct: Volume;
  labels: LabelMap;
  /** Tissue class per voxel (TISSUE in tissue.ts), at the voxel's central sample. */
  tissue: Uint8Array;
  meta: PhantomMeta;
}

function checkTriple(name: string, v: readonly number[] | undefined, integer: boolean): void {
  if (v === undefined) return;
  if (v.length !== 3 || v.some((x) => !Number.isFinite(x) || x <= 0 || (integer && !Number.isInteger(x)))) {
    throw new InputError(`${name} must be 3 positive ${integer ? 'integers' : 'numbers'}, got [${v.join(', ')}]`);
  }
}

/** The options checked, with the per-phantom draws (risk target, noise, aortic calcium) filled in. */
function resolveOptions(opts: PhantomOptions, pr: Rng) {
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
  const riskTarget = opts.riskTarget ?? pr.int(0, thresholds.length);
  if (!Number.isInteger(riskTarget) || riskTarget < 0 || riskTarget > thresholds.length) {
    throw new InputError(`riskTarget must be an integer in 0..${thresholds.length}, got ${riskTarget}`);
  }
  const noiseDraw = pr.uniform(10, 25);
  const aorticDraw = pr.chance(0.2 + 0.15 * riskTarget);
  return {
    presetName,
    preset,
    thresholds,
    riskTarget,
    noiseHU: opts.noiseHU ?? noiseDraw,
    blurMm: opts.blurMm ?? 0.4,
    aortic: opts.aorticCalcification ?? aorticDraw,
  };
}

/** Generates one phantom. Deterministic in (seed, options). */
export function generatePhantom(opts: PhantomOptions): Phantom {
  checkSeed(opts.seed);
  const root = new Rng(opts.seed);
  const o = resolveOptions(opts, root.fork('parameters'));

  // 1. A patient, and the scan's grid placed on it.
  const anat = new Anatomy(root.fork('anatomy'));
  const { dims, spacing } = resolveGrid(o.preset, root.fork('grid'), opts.dims, opts.spacing);
  const g = placeGrid(dims, spacing, fieldCentre(anat, dims, spacing, root.fork('field')));
  const affine = gridAffine(g);

  // 2. Anatomy with partial volume, and calcium that is not coronary.
  const { hu, tissue, boneAny } = renderAnatomy(anat, g, opts.supersample ?? o.preset.supersample);
  const aorticCalcifications = o.aortic ? addAorticCalcifications(root.fork('aorta'), anat, g, hu) : [];

  // 3. Point-spread function, noise and integer HU.
  const psf = psfFor(o.blurMm, g);
  blurInPlane(hu, g.nx, g.ny, g.nz, psf.kx, psf.ky, true);
  addNoiseAndQuantise(hu, root.fork('noise'), o.noiseHU);
  const ct: Volume = { data: hu, dims: [g.nx, g.ny, g.nz], spacing: [g.dx, g.dy, g.dz], affine, source: `phantom seed ${opts.seed} (${o.presetName})` };
  const labels: LabelMap = { data: new Uint8Array(hu.length), dims: [g.nx, g.ny, g.nz], spacing: [g.dx, g.dy, g.dz], affine: [...affine] };

  // 4-5. Plaques scaled until the phantom's own score lands in the target category; their ground truth.
  const placed = placeCalibratedPlaques(root.fork('plaques'), {
    anat,
    g,
    ct,
    labels,
    boneZone: boneZone(boneAny, g, psf.radius),
    psf,
    riskTarget: o.riskTarget,
    thresholds: o.thresholds,
    scoring: opts.scoring,
  });

  const meta: PhantomMeta = {
    generator: 'cacnet-phantom',
    version: 1,
    seed: opts.seed,
    preset: o.presetName,
    riskTarget: o.riskTarget,
    riskCategory: placed.score.riskCategory,
    riskMatched: placed.score.riskCategory === o.riskTarget,
    agatstonGoal: round3(placed.goal),
    calibrationSteps: placed.steps,
    dims: [g.nx, g.ny, g.nz],
    spacing: [g.dx, g.dy, g.dz],
    noiseHU: o.noiseHU,
    blurMm: o.blurMm,
    plaques: describePlaques(anat, placed.plaques),
    aorticCalcifications,
    anatomy: anat.summary,
    score: summariseScore(placed.score),
  };
  return { ct, labels, tissue, meta };
}
