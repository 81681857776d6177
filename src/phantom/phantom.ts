/**
 * Synthetic non-contrast, ECG-gated cardiac CT phantoms with artery-specific
 * calcium ground truth: the project's embedded data (training, the demo and the
 * browser app run on it out of the box). Pure CPU code, no Node imports.
 *
 * A phantom is made in steps, each in its own file:
 *  1. anatomy.ts lays out a random patient (skeleton, body wall, mediastinum,
 *     heart, lungs, coronary tree) and grid.ts places the scan's grid on it;
 *     (scanner.ts draws the scanner preset's acquisition and grid);
 *  2. render.ts samples the anatomy several times per boundary voxel and
 *     averages (partial volume; thick slices get more samples along z);
 *     noncoronary-calcium.ts adds calcium that must never be labelled;
 *  3. image.ts blurs in-plane (the point-spread function, `blurMm`), adds white
 *     Gaussian noise (`noiseHU`) and rounds HU to integers, so writing int16
 *     NIfTI loses nothing;
 *  4. calibration.ts places plaques (plaques.ts: ellipsoids in the coronary
 *     wall, 130-1000+ HU before partial volume), renders them the same way and
 *     scales them until the phantom's own score hits the risk category;
 *  5. ground-truth.ts labels them by region growing on the final image, and
 *     the non-coronary calcium gets its own label volume the same way.
 * Lesions of 1.5 mm^3 or less stay labelled but are not counted by the scorer.
 *
 * Reproducible: the same seed and options give byte-identical volumes in one
 * JS engine (the anatomy uses Math.sin/cos/atan2, which engines may round
 * differently in the last bit). Anatomy, noise and plaques draw from separate
 * streams, so the same seed with another riskTarget gives the same patient.
 */

import { checkSeed } from '../base/random.js';
import { Rng } from '../base/rng.js';
import type { LabelMap, Volume } from '../io/volume.js';
import { Anatomy } from './anatomy.js';
import { addBoneTexture } from './bone-texture.js';
import { placeCalibratedPlaques } from './calibration.js';
import { Draws } from './draws.js';
import { fieldCentre, gridAffine, placeGrid, resolveGrid, type Grid } from './grid.js';
import { boneZone } from './ground-truth.js';
import { blurAndNoise, psfFor } from './image.js';
import { describePlaques, summariseScore, type PhantomMeta, type ScannerMeta } from './meta.js';
import {
  addAorticCalcifications,
  describeCalcification,
  nonCoronaryLabels,
  renderCalcifications,
  type Calcification,
  type CalcificationInfo,
} from './noncoronary-calcium.js';
import { drawNonCoronaryCalcium } from './noncoronary-sites.js';
import { resolveOptions, type PhantomOptions, type ResolvedOptions } from './options.js';
import { LEGACY_PLAQUES, SCANNER_PLAQUES } from './plaques.js';
import { renderAnatomy } from './render.js';
import { round3 } from './round.js';
import { heartBox, scannerPatient, type ScannerSetup } from './scanner.js';
import { TISSUE } from './tissue.js';

export type { PhantomOptions } from './options.js';

export interface Phantom {
  ct: Volume;
  labels: LabelMap;
  /** Tissue class per voxel (TISSUE in tissue.ts), at the voxel's central sample. */
  tissue: Uint8Array;
  /** Calcium that is not coronary, per voxel >= 130 HU: CALCIUM_KIND_CODES (noncoronary-calcium.ts), 0 elsewhere. */
  nonCoronary: Uint8Array;
  meta: PhantomMeta;
}

/** A patient and the scan's grid on it; the scanner preset draws both from its split's ranges. */
function patientAndGrid(opts: PhantomOptions, o: ResolvedOptions, root: Rng): { anat: Anatomy; g: Grid; draws: Draws; setup?: ScannerSetup } {
  if (!o.preset) return scannerPatient(root, o.split);
  const draws = new Draws(root.fork('anatomy'));
  const anat = new Anatomy(draws);
  const { dims, spacing } = resolveGrid(o.preset, root.fork('grid'), opts.dims, opts.spacing);
  return { anat, g: placeGrid(dims, spacing, fieldCentre(anat, dims, spacing, root.fork('field'))), draws };
}

function scannerMeta(anat: Anatomy, setup: ScannerSetup, draws: Draws, calcium: readonly Calcification[]): ScannerMeta {
  const box = heartBox(anat);
  return {
    split: setup.split,
    framing: setup.framing,
    fovMm: round3(setup.fovMm),
    pixelMm: setup.pixelMm,
    matrix: setup.matrix,
    sliceMm: setup.sliceMm,
    noiseTexture: setup.noiseTexture,
    coronaryDominance: anat.coronary.course.dominance,
    armsDown: anat.arms !== null,
    heartCenterMm: anat.heart.c.map(round3) as ScannerMeta['heartCenterMm'],
    heartBoxMm: { min: box.min.map(round3) as ScannerMeta['heartCenterMm'], max: box.max.map(round3) as ScannerMeta['heartCenterMm'] },
    nonCoronaryCalcium: calcium.map(describeCalcification),
    parameters: Object.fromEntries(Object.entries(draws.values).map(([k, v]) => [k, Math.round(v * 1e6) / 1e6])),
  };
}

/** Generates one phantom. Deterministic in (seed, options). */
export function generatePhantom(opts: PhantomOptions): Phantom {
  checkSeed(opts.seed);
  const seedRng = new Rng(opts.seed);
  const o = resolveOptions(opts, seedRng.fork('parameters'));
  // Scanner splits draw from streams of their own: a seed never gives the same patient in train and held-out.
  const root = o.preset ? seedRng : seedRng.fork(`scanner-${o.split}`);

  // 1. A patient, and the scan's grid placed on it.
  const { anat, g, draws, setup } = patientAndGrid(opts, o, root);
  const noiseHU = opts.noiseHU ?? setup?.noiseHU ?? o.noiseHU;
  const blurMm = opts.blurMm ?? setup?.blurMm ?? o.blurMm;
  const affine = gridAffine(g);
  const blood = anat.tissueHU[TISSUE.blood]!;

  // 2. Anatomy with partial volume, and calcium that is not coronary.
  const { hu, tissue, boneAny } = renderAnatomy(anat, g, o.supersample, setup !== undefined);
  let aorticCalcifications: CalcificationInfo[] = [];
  let calcium: Calcification[] = [];
  if (setup) {
    addBoneTexture(hu, tissue, g, setup.trabecularTextureHU, root.fork('bone-texture'));
    calcium = drawNonCoronaryCalcium(root.fork('calcium'), anat, g);
    renderCalcifications(hu, g, calcium);
  } else if (o.aortic) {
    ({ info: aorticCalcifications, calcifications: calcium } = addAorticCalcifications(root.fork('aorta'), anat, g, hu));
  }

  // 3. Point-spread function, noise and integer HU.
  const psf = psfFor(blurMm, g);
  blurAndNoise(hu, g, psf, noiseHU, setup ? setup.noiseTexture : 'polar', root.fork('noise'));
  const ct: Volume = { data: hu, dims: [g.nx, g.ny, g.nz], spacing: [g.dx, g.dy, g.dz], affine, source: `phantom seed ${opts.seed} (${o.presetName})` };
  const labels: LabelMap = { data: new Uint8Array(hu.length), dims: [g.nx, g.ny, g.nz], spacing: [g.dx, g.dy, g.dz], affine: [...affine] };
  const bone = boneZone(boneAny, g, psf.radius);
  const nonCoronary = nonCoronaryLabels(hu, g, calcium, psf, blood, bone);

  // 4-5. Plaques scaled until the phantom's own score lands in the target category; their ground truth.
  // The scanner preset also keeps them (and their labels) off the other calcium.
  const placed = placeCalibratedPlaques(root.fork('plaques'), {
    anat,
    g,
    ct,
    labels,
    blocked: setup ? blockedByCalcium(bone, nonCoronary, g) : bone,
    style: setup ? SCANNER_PLAQUES : LEGACY_PLAQUES,
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
    noiseHU,
    blurMm,
    plaques: describePlaques(anat, placed.plaques),
    aorticCalcifications,
    anatomy: anat.summary,
    score: summariseScore(placed.score),
    ...(setup ? { scanner: scannerMeta(anat, setup, draws, calcium) } : {}),
  };
  return { ct, labels, tissue, nonCoronary, meta };
}

/** Bone zone plus the non-coronary calcium grown by one voxel in-plane: where plaques and their labels may not go. */
function blockedByCalcium(bone: Uint8Array, nonCoronary: Uint8Array, g: Grid): Uint8Array {
  const out = Uint8Array.from(bone);
  for (let v = 0; v < nonCoronary.length; v++) {
    if (!nonCoronary[v]) continue;
    out[v] = 1;
    const i = v % g.nx;
    const j = Math.floor(v / g.nx) % g.ny;
    if (i > 0) out[v - 1] = 1;
    if (i < g.nx - 1) out[v + 1] = 1;
    if (j > 0) out[v - g.nx] = 1;
    if (j < g.ny - 1) out[v + g.nx] = 1;
  }
  return out;
}
