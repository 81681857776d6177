/**
 * Named parameter draws over one random stream. Each draw states its name and
 * its default range; a range table may widen or narrow it by name (the scanner
 * preset's train / held-out ranges), and every value drawn is recorded, so a
 * phantom's meta can list each parameter it was made with.
 *
 * Without a table a draw is exactly `rng.uniform(lo, hi)`: the older presets
 * keep their streams, and their bytes.
 */

import type { Rng } from '../base/rng.js';

export type Range = readonly [number, number];

export class Draws {
  /** Every named value drawn so far (shared with forks). */
  readonly values: Record<string, number>;

  constructor(
    readonly rng: Rng,
    private readonly ranges: Readonly<Record<string, Range>> = {},
    values?: Record<string, number>,
  ) {
    this.values = values ?? {};
  }

  /** Uniform in the table's range for `name`, else in [lo, hi). */
  uniform(name: string, lo: number, hi: number): number {
    const r = this.ranges[name];
    return r ? this.draw(name, r[0], r[1]) : this.draw(name, lo, hi);
  }

  /** Uniform in the table's range for `name`, which must be there (parameters only some presets draw). */
  ranged(name: string): number {
    const r = this.ranges[name];
    if (!r) throw new Error(`no range for phantom parameter '${name}'`);
    return this.draw(name, r[0], r[1]);
  }

  /** Uniform in [lo, hi) intersected with the table's range for `name` (a sub-interval of the parameter). */
  within(name: string, lo: number, hi: number): number {
    const r = this.ranges[name];
    return this.draw(name, r ? Math.max(lo, r[0]) : lo, r ? Math.min(hi, r[1]) : hi);
  }

  /** Records a value derived from draws. */
  record(name: string, value: number): number {
    this.values[name] = value;
    return value;
  }

  /** True with probability p (recorded as 0 or 1). */
  chance(name: string, p: number): boolean {
    const v = this.rng.chance(p);
    this.values[name] = v ? 1 : 0;
    return v;
  }

  /** An index drawn with probability proportional to `weights` (recorded). */
  pick(name: string, weights: readonly number[]): number {
    const i = this.rng.pick(weights);
    this.values[name] = i;
    return i;
  }

  /** The same table and record over another stream. */
  fork(tag: string): Draws {
    return new Draws(this.rng.fork(tag), this.ranges, this.values);
  }

  private draw(name: string, lo: number, hi: number): number {
    const v = this.rng.uniform(lo, hi);
    this.values[name] = v;
    return v;
  }
}
