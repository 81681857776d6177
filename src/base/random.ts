/**
 * Seeded random numbers: the project's one generator family. Integer arithmetic
 * only (Math.imul, shifts), so a seed gives the same stream in every JS engine.
 *
 * Two cores, because each stream is pinned by what was made with it:
 *  - `mulberry32(seed)`, a plain uniform function, with `gaussian` (Box–Muller)
 *    on top: weight initialisation, training patch sampling, fold splits, test
 *    data (the shipped weights must stay reproducible);
 *  - `Rng` (rng.ts, sfc32) with named forks and bulk polar-method normals: the
 *    phantom simulator, whose bytes the tests pin.
 * Sub-streams are derived, never consumed from a parent: `mixSeed(seed, step)`
 * for a mulberry32 stream per step, `rng.fork(tag)` for an Rng.
 */

import { InputError } from './errors.js';

/** Uniform floats in [0, 1). */
export type Uniform = () => number;

/** Throws unless `seed` is a safe integer (negative allowed); the whole number is used, not only 32 bits. */
export function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed)) throw new InputError(`seed must be a safe integer, got ${seed}`);
}

/** A small, fast, seedable PRNG (mulberry32) returning floats in [0, 1); the seed is taken mod 2^32. */
export function mulberry32(seed: number): Uniform {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box–Muller, pairs: the second is kept) from a uniform source. */
export function gaussian(uniform: Uniform): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u = Math.max(uniform(), 1e-12);
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** A 32-bit seed mixed from two integers, e.g. (run seed, step) for a per-step stream. */
export function mixSeed(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  return (h ^ (h >>> 15)) >>> 0;
}

/** Mixes a 32-bit word (the splitmix32 / murmur3 finaliser). */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** 32-bit FNV-1a of a string, to turn stream names into numbers. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The standard normal quantile function (inverse CDF), Acklam's rational
 * approximation: relative error below 1.2e-9 for p in (0, 1).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}
