/**
 * The shipped model's training recipe and its phantoms: `cacnet train`'s
 * defaults, and where `cacnet calibrate` takes its validation seed from.
 */
import { generateCohort } from '../phantom/cohort.js';
import type { PhantomPreset } from '../phantom/presets.js';
import { CALCIUM_THRESHOLD_HU } from '../net/data.js';
import type { NetConfig } from '../net/config.js';
import { prepareScan, type PreparedScan, type Scan } from '../net/train.js';

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

/** The phantoms a network is trained, calibrated and judged on: scanner-size ones for a network on the working grid, else the small ones. */
export function phantomPreset(config: NetConfig): PhantomPreset {
  return config.workingGrid ? 'realistic' : 'small';
}

/** A seeded cohort's phantoms one at a time (validation and evaluation at scanner size would not fit in memory together). */
export function* phantomStream(seed: number, count: number, idPrefix: string, preset: PhantomPreset): Generator<Scan> {
  for (const c of generateCohort({ seed, count, idPrefix, preset })) yield { id: c.id, ct: c.phantom.ct, labels: c.phantom.labels };
}

/** `count` phantoms of a seeded cohort as training (or validation) scans. */
export function phantomScans(seed: number, count: number, idPrefix: string): Scan[] {
  const scans: Scan[] = [];
  for (const c of generateCohort({ seed, count, idPrefix })) scans.push({ id: c.id, ct: c.phantom.ct, labels: c.phantom.labels });
  return scans;
}

/** Phantoms a working-grid network trains on: scanner-size scans, each binned onto the working grid as it is made (the native scans would not fit in memory together). */
export function workingGridScans(config: NetConfig, preset: PhantomPreset, seed: number, count: number, idPrefix: string, onScan?: (done: number) => void): PreparedScan[] {
  const out: PreparedScan[] = [];
  for (const c of generateCohort({ seed, count, idPrefix, preset })) {
    out.push(prepareScan({ id: c.id, ct: c.phantom.ct, labels: c.phantom.labels }, config));
    onScan?.(out.length);
  }
  return out;
}
