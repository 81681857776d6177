/** Phantom cohorts: seeds and risk targets per case, generated lazily. */

import { InputError } from '../base/errors.js';
import { checkSeed } from '../base/random.js';
import { Rng } from '../base/rng.js';
import { DEFAULT_RISK_THRESHOLDS } from '../scoring/risk.js';
import { generatePhantom, type Phantom, type PhantomOptions } from './phantom.js';

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

