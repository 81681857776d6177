/**
 * The shipped model's training recipe and its phantoms: `cacnet train`'s
 * defaults, and where `cacnet calibrate` takes its validation seed from.
 */
import { generateCohort } from '../phantom/cohort.js';
import type { PhantomKind } from '../phantom/for-network.js';
import { CALCIUM_THRESHOLD_HU } from '../net/data.js';
import type { NetConfig } from '../net/config.js';
import { prepareScan, type PreparedScan, type Scan } from '../net/train.js';

/**
 * Training defaults: stage 1 of the shipped weights (README; stage 2 fine-tunes
 * them with --init): the scanner network on scanner-size phantoms of the
 * training ranges, 16 x 64 x 64 patches of their working grids (48 x 128 x 128 mm).
 */
export const SHIPPED_RECIPE = {
  config: 'scanner',
  steps: 500,
  lr: 1e-2,
  seed: 20261206,
  trainCount: 120,
  valCount: 4,
  batch: 1,
  patch: '16,64,64',
  foregroundProbability: 0.9,
  diceWeight: 0,
  ceWeight: 1,
  candidateHU: CALCIUM_THRESHOLD_HU as number | null,
};

/** A seeded cohort's phantoms one at a time (validation and evaluation at scanner size would not fit in memory together). */
export function* phantomStream(seed: number, count: number, idPrefix: string, kind: PhantomKind): Generator<Scan> {
  for (const c of generateCohort({ seed, count, idPrefix, ...kind })) yield { id: c.id, ct: c.phantom.ct, labels: c.phantom.labels };
}

/** `count` phantoms of a seeded cohort as training (or validation) scans. */
export function phantomScans(seed: number, count: number, idPrefix: string): Scan[] {
  const scans: Scan[] = [];
  for (const c of generateCohort({ seed, count, idPrefix })) scans.push({ id: c.id, ct: c.phantom.ct, labels: c.phantom.labels });
  return scans;
}

/** Phantoms a working-grid network trains on: scanner-size scans, each binned onto the working grid as it is made (the native scans would not fit in memory together). */
export function workingGridScans(config: NetConfig, kind: PhantomKind, seed: number, count: number, idPrefix: string, onScan?: (done: number) => void): PreparedScan[] {
  const out: PreparedScan[] = [];
  for (const c of generateCohort({ seed, count, idPrefix, ...kind })) {
    out.push(prepareScan({ id: c.id, ct: c.phantom.ct, labels: c.phantom.labels }, config));
    onScan?.(out.length);
  }
  return out;
}
