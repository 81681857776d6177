/** The options of generatePhantom, checked, with the per-phantom draws filled in. */

import { InputError } from '../base/errors.js';
import type { Rng } from '../base/rng.js';
import { DEFAULT_RISK_THRESHOLDS } from '../scoring/risk.js';
import type { ScoringOptions } from '../scoring/score.js';
import { PHANTOM_PRESETS, PHANTOM_PRESET_NAMES, type PhantomPreset } from './presets.js';
import { PHANTOM_SPLITS, type PhantomSplit } from './scanner-ranges.js';

export interface PhantomOptions {
  seed: number;
  /** Grid preset; default 'small'. */
  preset?: PhantomPreset;
  /** Scanner preset: draw inside the training ranges ('train', default) or the full ones ('heldout'). */
  split?: PhantomSplit;
  /** Agatston category to produce (0..4 with the default thresholds); default drawn from the seed. */
  riskTarget?: number;
  /** Noise standard deviation (HU); default drawn per phantom (10-25; scanner: its split's range). */
  noiseHU?: number;
  /** Grid size; spacing then scales so the preset's field of view stays the same (not for 'scanner'). */
  dims?: [number, number, number];
  /** Voxel size (mm), overriding the preset's draw (and the dims scaling; not for 'scanner'). */
  spacing?: [number, number, number];
  /** In-plane point-spread function, Gaussian sigma in mm; default 0.4 (scanner: drawn). */
  blurMm?: number;
  /** Anatomy samples per voxel [x, y, z]; default from the preset. */
  supersample?: [number, number, number];
  /** Calcified spots in the descending aortic wall (small and realistic presets); default by chance. */
  aorticCalcification?: boolean;
  /** Scoring conventions used to hit `riskTarget` and reported in meta.score. */
  scoring?: ScoringOptions;
}

function checkTriple(name: string, v: readonly number[] | undefined, integer: boolean): void {
  if (v === undefined) return;
  if (v.length !== 3 || v.some((x) => !Number.isFinite(x) || x <= 0 || (integer && !Number.isInteger(x)))) {
    throw new InputError(`${name} must be 3 positive ${integer ? 'integers' : 'numbers'}, got [${v.join(', ')}]`);
  }
}

export function resolveOptions(opts: PhantomOptions, pr: Rng) {
  const presetName = opts.preset ?? 'small';
  if (!PHANTOM_PRESET_NAMES.includes(presetName)) {
    throw new InputError(`unknown phantom preset '${String(presetName)}' (${PHANTOM_PRESET_NAMES.join(', ')})`);
  }
  const scanner = presetName === 'scanner';
  if (opts.split !== undefined && !PHANTOM_SPLITS.includes(opts.split)) {
    throw new InputError(`split must be ${PHANTOM_SPLITS.join(' or ')}, got '${String(opts.split)}'`);
  }
  if (opts.split !== undefined && !scanner) throw new InputError(`split applies to the scanner preset only (preset '${presetName}')`);
  if (scanner && (opts.dims || opts.spacing)) throw new InputError('dims and spacing do not apply to the scanner preset: it draws its own grid');
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
  const preset = scanner ? undefined : PHANTOM_PRESETS[presetName as Exclude<PhantomPreset, 'scanner'>];
  return {
    presetName,
    /** The fixed-grid preset's spec; undefined for 'scanner'. */
    preset,
    split: opts.split ?? 'train',
    supersample: opts.supersample ?? preset?.supersample ?? ([1, 1, 3] as [number, number, number]),
    thresholds,
    riskTarget,
    noiseHU: opts.noiseHU ?? noiseDraw,
    blurMm: opts.blurMm ?? 0.4,
    aortic: opts.aorticCalcification ?? aorticDraw,
  };
}

export type ResolvedOptions = ReturnType<typeof resolveOptions>;
