/**
 * The shipped model's training recipe and its phantoms: `cacnet train`'s
 * defaults, and where `cacnet calibrate` takes its validation seed from.
 */
import { generateCohort } from '../io/phantom.js';
import { CALCIUM_THRESHOLD_HU } from '../net/data.js';
import type { Scan } from '../net/train.js';

/** Training defaults: stage 1 of the shipped weights (README; stage 2 fine-tunes them with --init). */
export const SHIPPED_RECIPE = {
  config: 'demo',
  steps: 450,
  lr: 1e-2,
  seed: 20181116,
  trainCount: 80,
  valCount: 5,
  batch: 1,
  patch: '16,64,64',
  foregroundProbability: 0.9,
  diceWeight: 0,
  ceWeight: 1,
  candidateHU: CALCIUM_THRESHOLD_HU as number | null,
};

/** `count` phantoms of a seeded cohort as training (or validation) scans. */
export function phantomScans(seed: number, count: number, idPrefix: string): Scan[] {
  const scans: Scan[] = [];
  for (const c of generateCohort({ seed, count, idPrefix })) scans.push({ id: c.id, ct: c.phantom.ct, labels: c.phantom.labels });
  return scans;
}
