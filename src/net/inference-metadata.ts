/**
 * What turns the network's probabilities into labels besides the weights: the
 * spatial artery prior (artery-prior.ts) and the calcium operating point
 * (calibrate.ts). Both travel in the weights file's metadata, so a file is the
 * whole model for `cacnet`, the browser app and checkpoints alike.
 */
import { InputError } from '../gpu/errors.js';
import { ARTERY_PRIOR_KEY, readArteryPrior } from './artery-prior.js';
import type { CacNet } from './cacnet.js';

export const CALCIUM_PROBABILITY_KEY = 'calcium_probability';

/** A candidate voxel is calcium when 1 − P(background) reaches this; 0.5 unless calibrated. */
export const DEFAULT_CALCIUM_PROBABILITY = 0.5;

/** Metadata entries for the model's inference settings (none for defaults). */
export function inferenceMetadata(model: CacNet): Record<string, string> {
  const meta: Record<string, string> = {};
  if (model.arteryPrior) meta[ARTERY_PRIOR_KEY] = JSON.stringify(model.arteryPrior);
  if (model.calciumProbability !== DEFAULT_CALCIUM_PROBABILITY) meta[CALCIUM_PROBABILITY_KEY] = String(model.calciumProbability);
  return meta;
}

/** Sets the model's inference settings from a weights file's metadata (defaults where absent). */
export function applyInferenceMetadata(model: CacNet, metadata: Record<string, string>, source: string): void {
  model.arteryPrior = readArteryPrior(metadata, source);
  const t = metadata[CALCIUM_PROBABILITY_KEY];
  const p = t === undefined ? DEFAULT_CALCIUM_PROBABILITY : Number(t);
  if (!(p > 0 && p < 1)) throw new InputError(`${source}: calcium_probability in the metadata must be a number between 0 and 1, got '${t}'`);
  model.calciumProbability = p;
}
