/**
 * What turns the network's probabilities into labels besides the weights: the
 * spatial artery prior (artery-prior.ts), the calcium operating point
 * (calibrate.ts) and the lesion checks (lesion-filter.ts). All travel in the
 * weights file's metadata, so a file is the whole model for `cacnet`, the
 * browser app and checkpoints alike.
 */
import { InputError } from '../base/errors.js';
import { ARTERY_PRIOR_KEY, readArteryPrior, type ArteryPrior } from './artery-prior.js';
import { ARTERIES } from '../io/volume.js';

/** What a model carries for inference besides its weights (CacNet has these fields). */
export interface InferenceSettings {
  /** Spatial prior that names the artery of found calcium; null: the network names it. */
  arteryPrior: ArteryPrior | null;
  /** Operating point per artery (LAD, LCX, RCA): a candidate is calcium when 1 − P(background) reaches it. */
  calciumProbability: readonly number[];
  /** A labelled lesion is kept when its peak reaches 130 HU + this many noise SDs of the scan (noise-floor.ts); 0 keeps all. */
  noiseMargin: number;
  /** A labelled lesion is kept when its centre lies within this many prior SDs of the nearest artery (lesion-filter.ts); Infinity: no gate. */
  positionGate: number;
}

export const CALCIUM_PROBABILITY_KEY = 'calcium_probability';
export const NOISE_MARGIN_KEY = 'noise_margin';
export const POSITION_GATE_KEY = 'position_gate';

/** The metadata keys the inference settings are stored under. */
export const INFERENCE_KEYS: readonly string[] = [ARTERY_PRIOR_KEY, CALCIUM_PROBABILITY_KEY, NOISE_MARGIN_KEY, POSITION_GATE_KEY];

/** A candidate voxel is calcium when 1 − P(background) reaches this; 0.5 unless calibrated. */
export const DEFAULT_CALCIUM_PROBABILITY = 0.5;

/** Operating point per artery (LAD, LCX, RCA), all DEFAULT_CALCIUM_PROBABILITY. */
export const DEFAULT_OPERATING_POINT: readonly number[] = ARTERIES.map(() => DEFAULT_CALCIUM_PROBABILITY);

const sharedByAll = (p: readonly number[]) => p.every((t) => t === p[0]);

/** The operating point for people: '0.85', or '0.85 LAD, 0.6 LCX, 0.85 RCA'. */
export function operatingPointText(p: readonly number[]): string {
  return sharedByAll(p) ? String(p[0]) : p.map((t, a) => `${t} ${ARTERIES[a]}`).join(', ');
}

/** The operating point as stored: one number when the arteries share it, else 'LAD,LCX,RCA'. */
export function formatOperatingPoint(p: readonly number[]): string {
  return sharedByAll(p) ? String(p[0]) : p.join(',');
}

/** Metadata entries for a model's inference settings (none for defaults). */
export function inferenceMetadata(s: InferenceSettings): Record<string, string> {
  const meta: Record<string, string> = {};
  if (s.arteryPrior) meta[ARTERY_PRIOR_KEY] = JSON.stringify(s.arteryPrior);
  if (s.calciumProbability.some((t) => t !== DEFAULT_CALCIUM_PROBABILITY)) meta[CALCIUM_PROBABILITY_KEY] = formatOperatingPoint(s.calciumProbability);
  if (s.noiseMargin !== 0) meta[NOISE_MARGIN_KEY] = String(s.noiseMargin);
  if (Number.isFinite(s.positionGate)) meta[POSITION_GATE_KEY] = String(s.positionGate);
  return meta;
}

/** Sets inference settings (a model's, or a plain object) from a weights file's metadata (defaults where absent). */
export function applyInferenceMetadata(target: InferenceSettings, metadata: Record<string, string>, source: string): void {
  target.arteryPrior = readArteryPrior(metadata, source);
  const t = metadata[CALCIUM_PROBABILITY_KEY];
  const parts = t === undefined ? [...DEFAULT_OPERATING_POINT] : t.split(',').map(Number);
  const p = parts.length === 1 ? ARTERIES.map(() => parts[0]!) : parts;
  if (p.length !== ARTERIES.length || !p.every((x) => x > 0 && x < 1)) {
    throw new InputError(`${source}: calcium_probability in the metadata must be a number between 0 and 1, or one per artery (${ARTERIES.join(',')}), got '${t}'`);
  }
  target.calciumProbability = p;
  const m = metadata[NOISE_MARGIN_KEY];
  const margin = m === undefined ? 0 : Number(m);
  if (!(margin >= 0 && margin <= 10)) throw new InputError(`${source}: noise_margin in the metadata must be a number of noise SDs from 0 to 10, got '${m}'`);
  target.noiseMargin = margin;
  const g = metadata[POSITION_GATE_KEY];
  const gate = g === undefined ? Infinity : Number(g);
  if (g !== undefined && !(gate >= 1 && gate <= 20)) throw new InputError(`${source}: position_gate in the metadata must be a number of prior SDs from 1 to 20, got '${g}'`);
  if (g !== undefined && !target.arteryPrior) throw new InputError(`${source}: position_gate in the metadata needs an artery prior, and there is none`);
  target.positionGate = gate;
}
