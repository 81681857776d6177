/**
 * Agreement statistics between an automatic method and a reference, as the
 * paper and orCaScore report them: intraclass correlation (ICC), linearly
 * weighted Cohen's kappa on risk categories, and Bland-Altman limits.
 *
 * Undefined results (0 / 0, e.g. an ICC over identical ratings) are NaN, which
 * JSON reports write as null.
 */

import { InputError } from '../base/errors.js';
import { fQuantile } from './distributions.js';

/** Two-way ANOVA mean squares of an n targets x k raters table. */
export interface IccAnova {
  n: number;
  k: number;
  /** Between targets (rows). */
  msr: number;
  /** Between raters (columns). */
  msc: number;
  /** Residual (interaction + error). */
  mse: number;
  /** Within targets (one-way model). */
  msw: number;
}

export interface IccEstimate {
  value: number;
  /** Confidence interval at `level` (default 0.95). */
  lower: number;
  upper: number;
  level: number;
  /** The F statistic of the ICC's test against 0, with its degrees of freedom. */
  f: number;
  df1: number;
  df2: number;
}

export type IccType =
  /** One-way random, single rater: Shrout-Fleiss ICC(1,1). */
  | 'ICC1'
  /** Two-way random, absolute agreement, single rater: McGraw-Wong ICC(A,1) = Shrout-Fleiss ICC(2,1). */
  | 'A1'
  /** Two-way, consistency, single rater: McGraw-Wong ICC(C,1) = Shrout-Fleiss ICC(3,1). */
  | 'C1';

/** Mean squares of `ratings[target][rater]`; every row must have the same k >= 2 finite values, n >= 2. */
export function iccAnova(ratings: readonly (readonly number[])[]): IccAnova {
  const n = ratings.length;
  if (n < 2) throw new InputError(`ICC needs at least 2 targets, got ${n}`);
  const k = ratings[0]!.length;
  if (k < 2) throw new InputError(`ICC needs at least 2 raters, got ${k}`);
  let grand = 0;
  for (const [i, row] of ratings.entries()) {
    if (row.length !== k) throw new InputError(`ICC: target ${i} has ${row.length} ratings, target 0 has ${k}`);
    for (const x of row) {
      if (!Number.isFinite(x)) throw new InputError(`ICC: target ${i} has a non-finite rating (${x})`);
      grand += x;
    }
  }
  grand /= n * k;
  const rowMean = ratings.map((r) => r.reduce((s, x) => s + x, 0) / k);
  const colMean = Array.from({ length: k }, (_, j) => ratings.reduce((s, r) => s + r[j]!, 0) / n);
  let sst = 0;
  for (const row of ratings) for (const x of row) sst += (x - grand) ** 2;
  const ssr = k * rowMean.reduce((s, m) => s + (m - grand) ** 2, 0);
  const ssc = n * colMean.reduce((s, m) => s + (m - grand) ** 2, 0);
  // Clamp tiny negative residuals from rounding when ratings agree exactly.
  const sse = Math.max(0, sst - ssr - ssc);
  const ssw = Math.max(0, sst - ssr);
  return {
    n,
    k,
    msr: ssr / (n - 1),
    msc: ssc / (k - 1),
    mse: sse / ((n - 1) * (k - 1)),
    msw: ssw / (n * (k - 1)),
  };
}

/**
 * A single-rater ICC with its confidence interval (McGraw & Wong 1996, Table 7;
 * Shrout & Fleiss 1979). The agreement form 'A1' is what the paper reports
 * (absolute agreement, two-way, 95 % CI); its interval uses Satterthwaite's
 * approximate degrees of freedom.
 */
export function icc(ratings: readonly (readonly number[])[], type: IccType = 'A1', level = 0.95): IccEstimate {
  if (!(level > 0 && level < 1)) throw new InputError(`ICC confidence level must be in (0, 1), got ${level}`);
  const { n, k, msr, msc, mse, msw } = iccAnova(ratings);
  const q = 1 - (1 - level) / 2;

  if (type === 'ICC1' || type === 'C1') {
    const denomMs = type === 'ICC1' ? msw : mse;
    const df1 = n - 1;
    const df2 = type === 'ICC1' ? n * (k - 1) : (n - 1) * (k - 1);
    const value = (msr - denomMs) / (msr + (k - 1) * denomMs);
    const f = msr / denomMs;
    const fl = f / fQuantile(q, df1, df2);
    const fu = f * fQuantile(q, df2, df1);
    return { value, lower: (fl - 1) / (fl + k - 1), upper: (fu - 1) / (fu + k - 1), level, f, df1, df2 };
  }

  const value = (msr - mse) / (msr + (k - 1) * mse + (k * (msc - mse)) / n);
  const a = (k * value) / (n * (1 - value));
  const b = 1 + (k * value * (n - 1)) / (n * (1 - value));
  const v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1)));
  const fStar = fQuantile(q, n - 1, v);
  const fStar2 = fQuantile(q, v, n - 1);
  const c = k * msc + (k * n - k - n) * mse;
  const lower = (n * (msr - fStar * mse)) / (fStar * c + n * msr);
  const upper = (n * (fStar2 * msr - mse)) / (c + n * fStar2 * msr);
  return { value, lower, upper, level, f: msr / mse, df1: n - 1, df2: (n - 1) * (k - 1) };
}

/** ICC(A,1) of paired measurements (method vs reference), the form the paper reports. */
export function iccAgreement(method: readonly number[], reference: readonly number[], level = 0.95): IccEstimate {
  if (method.length !== reference.length) {
    throw new InputError(`ICC: ${method.length} method values but ${reference.length} reference values`);
  }
  return icc(
    method.map((m, i) => [m, reference[i]!]),
    'A1',
    level,
  );
}

export type KappaWeights = 'linear' | 'quadratic' | 'unweighted';

/**
 * Weighted Cohen's kappa of a k x k table (rows: rater 1, columns: rater 2),
 * as 1 - sum(w o) / sum(w e) with disagreement weights |i - j| (linear),
 * (i - j)^2 (quadratic) or [i != j]. All k categories of the scale count, also
 * those nobody used (some packages drop empty levels, which changes the linear
 * weights).
 */
export function weightedKappaFromTable(table: readonly (readonly number[])[], weights: KappaWeights = 'linear'): number {
  const k = table.length;
  if (k < 2) throw new InputError(`kappa needs at least 2 categories, got ${k}`);
  let total = 0;
  const rowSum = new Array<number>(k).fill(0);
  const colSum = new Array<number>(k).fill(0);
  for (let i = 0; i < k; i++) {
    const row = table[i]!;
    if (row.length !== k) throw new InputError(`kappa table must be square: row ${i} has ${row.length} cells, not ${k}`);
    for (let j = 0; j < k; j++) {
      const x = row[j]!;
      if (!(Number.isFinite(x) && x >= 0)) throw new InputError(`kappa table cell (${i}, ${j}) must be a count >= 0, got ${x}`);
      rowSum[i] += x;
      colSum[j] += x;
      total += x;
    }
  }
  if (total === 0) throw new InputError('kappa table is empty');
  const w = (i: number, j: number): number =>
    weights === 'linear' ? Math.abs(i - j) : weights === 'quadratic' ? (i - j) ** 2 : i === j ? 0 : 1;
  let observed = 0;
  let expected = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      observed += (w(i, j) * table[i]![j]!) / total;
      expected += (w(i, j) * rowSum[i]! * colSum[j]!) / (total * total);
    }
  }
  return 1 - observed / expected;
}

/** The k x k confusion table of two raters' category codes 0..k-1. */
export function confusionTable(a: readonly number[], b: readonly number[], k: number): number[][] {
  if (a.length !== b.length) throw new InputError(`kappa: rater 1 has ${a.length} ratings, rater 2 has ${b.length}`);
  const t = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= k || y >= k) {
      throw new InputError(`kappa: rating pair ${i} (${x}, ${y}) is not a category in 0..${k - 1}`);
    }
    t[x]![y]!++;
  }
  return t;
}

/** Weighted kappa of two raters' categories 0..k-1 (e.g. risk categories, k = 5). */
export function weightedKappa(
  a: readonly number[],
  b: readonly number[],
  k: number,
  weights: KappaWeights = 'linear',
): number {
  return weightedKappaFromTable(confusionTable(a, b, k), weights);
}

export interface BlandAltman {
  n: number;
  /** Mean of (method - reference). */
  bias: number;
  /** Sample standard deviation (n - 1) of the differences. */
  sd: number;
  /** bias -/+ z sd (z = 1.96 for 95 % limits of agreement). */
  lower: number;
  upper: number;
  /** Per pair: the mean of the two values and their difference (method - reference), for plots. */
  means: number[];
  differences: number[];
}

/** Bland & Altman (1986) bias and limits of agreement of paired measurements. */
export function blandAltman(method: readonly number[], reference: readonly number[], z = 1.96): BlandAltman {
  const n = method.length;
  if (n !== reference.length) {
    throw new InputError(`Bland-Altman: ${n} method values but ${reference.length} reference values`);
  }
  if (n < 2) throw new InputError(`Bland-Altman needs at least 2 pairs, got ${n}`);
  const differences = method.map((m, i) => m - reference[i]!);
  const means = method.map((m, i) => (m + reference[i]!) / 2);
  if (differences.some((d) => !Number.isFinite(d))) throw new InputError('Bland-Altman: non-finite value in the pairs');
  const bias = differences.reduce((s, d) => s + d, 0) / n;
  const sd = Math.sqrt(differences.reduce((s, d) => s + (d - bias) ** 2, 0) / (n - 1));
  return { n, bias, sd, lower: bias - z * sd, upper: bias + z * sd, means, differences };
}
