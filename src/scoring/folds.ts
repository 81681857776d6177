/**
 * Seeded k-fold split stratified by a category (the paper: 5 folds, each test
 * set covering all cardiovascular risk categories).
 *
 * Deterministic: the result depends only on the (id, stratum) pairs, k and the
 * seed, not on the input order. Each stratum is shuffled, then dealt round-robin
 * starting at the currently smallest folds, so every stratum with at least k
 * scans reaches every fold and fold sizes differ by at most one.
 */

import { InputError } from '../base/errors.js';
import { mulberry32 } from '../base/random.js';
import type { ScanScore } from './score.js';

export interface FoldItem {
  id: string;
  /** The stratum, e.g. the risk category 0..4. */
  stratum: number;
}

/** The ids of each of `k` folds (each fold is a test set; the rest train). */
export function stratifiedFolds(items: readonly FoldItem[], k = 5, seed = 0): string[][] {
  if (!Number.isInteger(k) || k < 2) throw new InputError(`number of folds must be an integer >= 2, got ${k}`);
  if (items.length < k) throw new InputError(`${items.length} scans cannot fill ${k} folds`);
  const seen = new Set<string>();
  for (const it of items) {
    if (seen.has(it.id)) throw new InputError(`scan id '${it.id}' appears twice in the fold split`);
    seen.add(it.id);
  }
  const rand = mulberry32(seed);
  const strata = new Map<number, string[]>();
  // Sorting first removes any dependence on the caller's order.
  for (const it of [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const list = strata.get(it.stratum) ?? [];
    list.push(it.id);
    strata.set(it.stratum, list);
  }
  const folds: string[][] = Array.from({ length: k }, () => []);
  for (const stratum of [...strata.keys()].sort((a, b) => a - b)) {
    const ids = strata.get(stratum)!;
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    // Smallest folds first (ties: lower index) keeps sizes within one of each other.
    const order = folds.map((f, i) => i).sort((a, b) => folds[a]!.length - folds[b]!.length || a - b);
    ids.forEach((id, i) => folds[order[i % k]!]!.push(id));
  }
  for (const f of folds) f.sort();
  return folds;
}

/** Folds stratified by each scan's risk category (from its reference score). */
export function riskStratifiedFolds(
  scans: readonly { id: string; score: ScanScore }[],
  k = 5,
  seed = 0,
): string[][] {
  return stratifiedFolds(
    scans.map((s) => ({ id: s.id, stratum: s.score.riskCategory })),
    k,
    seed,
  );
}
