/**
 * Cardiovascular risk categories from the total Agatston score.
 *
 * Thresholds t0 < t1 < ... split the score axis into (thresholds.length + 1)
 * categories; a score s falls in category #{ i : s > t_i }. With the default
 * [0, 10, 100, 400] that is 0 | 1-10 | 11-100 | 101-400 | >400, the categories
 * of Rumberger et al. used by orCaScore. Scores are real-valued after slice
 * thickness normalisation, so 10.4 counts as "> 10" (category 2).
 */

import { InputError } from '../base/errors.js';

export const DEFAULT_RISK_THRESHOLDS: readonly number[] = [0, 10, 100, 400];

const DEFAULT_NAMES = ['none', 'minimal', 'mild', 'moderate', 'severe'];

/** Throws InputError unless `thresholds` is a non-empty, strictly increasing list of finite numbers >= 0. */
export function validateRiskThresholds(thresholds: readonly number[]): void {
  if (thresholds.length === 0) throw new InputError('risk thresholds must not be empty');
  for (let i = 0; i < thresholds.length; i++) {
    const t = thresholds[i]!;
    if (!Number.isFinite(t) || t < 0) {
      throw new InputError(`risk threshold ${i} must be a finite number >= 0, got ${t}`);
    }
    if (i > 0 && t <= thresholds[i - 1]!) {
      throw new InputError(`risk thresholds must be strictly increasing, got [${thresholds.join(', ')}]`);
    }
  }
}

/** The category (0..thresholds.length) of a total Agatston score. */
export function riskCategory(agatston: number, thresholds: readonly number[] = DEFAULT_RISK_THRESHOLDS): number {
  validateRiskThresholds(thresholds);
  let c = 0;
  for (const t of thresholds) if (agatston > t) c++;
  return c;
}

function isDefault(thresholds: readonly number[]): boolean {
  return (
    thresholds.length === DEFAULT_RISK_THRESHOLDS.length &&
    thresholds.every((t, i) => t === DEFAULT_RISK_THRESHOLDS[i])
  );
}

/**
 * A short label for a category: its score range ("0", "1-10", "11-100",
 * "101-400", ">400" for the defaults), followed by the usual clinical name for the default scheme.
 */
export function riskLabel(category: number, thresholds: readonly number[] = DEFAULT_RISK_THRESHOLDS): string {
  validateRiskThresholds(thresholds);
  const n = thresholds.length;
  if (!Number.isInteger(category) || category < 0 || category > n) {
    throw new InputError(`risk category must be an integer in 0..${n}, got ${category}`);
  }
  let range: string;
  if (category === n) range = `>${thresholds[n - 1]}`;
  else if (category === 0) range = thresholds[0] === 0 ? '0' : `<=${thresholds[0]}`;
  else {
    const lo = thresholds[category - 1]!;
    const hi = thresholds[category]!;
    range = Number.isInteger(lo) && Number.isInteger(hi) ? `${lo + 1}-${hi}` : `>${lo} to ${hi}`;
  }
  return isDefault(thresholds) ? `${range} (${DEFAULT_NAMES[category]})` : range;
}
