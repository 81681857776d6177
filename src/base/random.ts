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
