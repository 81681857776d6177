/**
 * The forkable member of the seeded family (random.ts): sfc32 with uniform and
 * gaussian draws, for the synthetic phantoms.
 *
 * Integer arithmetic only (Math.imul, shifts), so a seed gives the same stream
 * in every JS engine; the gaussian uses Math.log and Math.sqrt (the polar
 * method, no trig). `fork(tag)` derives an independent stream from the seed
 * and a tag without consuming this one, so adding draws to one part of the
 * phantom (say, the plaques) never shifts another (the anatomy, the noise).
 */

import { checkSeed, hashString, mix32, normalQuantile } from './random.js';

/** Quantiles of the fast normal draw (see fillGaussianFast), built once. */
let quantileTable: Float64Array | null = null;
const QUANTILES = 4096;

function normalTable(): Float64Array {
  if (quantileTable) return quantileTable;
  const t = new Float64Array(QUANTILES + 1);
  for (let i = 0; i <= QUANTILES; i++) t[i] = normalQuantile((i + 0.5) / (QUANTILES + 1));
  // Linear between quantiles is uniform within each of QUANTILES equally likely cells; scale to unit variance.
  let v = 0;
  for (let i = 0; i < QUANTILES; i++) v += (t[i]! * t[i]! + t[i]! * t[i + 1]! + t[i + 1]! * t[i + 1]!) / 3;
  const s = 1 / Math.sqrt(v / QUANTILES);
  for (let i = 0; i <= QUANTILES; i++) t[i]! *= s;
  quantileTable = t;
  return t;
}


export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** The two words that define this stream; forks hash them with the tag. */
  private readonly key: [number, number];
  private spare: number | null = null;

  /** `seed`: any safe integer. Equal seeds give equal streams. */
  constructor(seed: number | [number, number]) {
    if (typeof seed === 'number') {
      checkSeed(seed);
      const lo = seed >>> 0;
      const hi = Math.floor(seed / 4294967296) >>> 0;
      this.key = [mix32(lo ^ 0x9e3779b9), mix32(hi ^ 0x7f4a7c15)];
    } else {
      this.key = [seed[0] >>> 0, seed[1] >>> 0];
    }
    this.a = mix32(this.key[0]);
    this.b = mix32(this.key[1] ^ 0x6a09e667);
    this.c = mix32(this.key[0] ^ this.key[1] ^ 0xbb67ae85);
    this.d = 1;
    // sfc32's first outputs are correlated with the seed words; skip them.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** An independent stream named `tag`, derived from this stream's seed (not its position). */
  fork(tag: string | number): Rng {
    const t = typeof tag === 'number' ? mix32((tag >>> 0) ^ 0x3c6ef372) : hashString(tag);
    return new Rng([mix32(this.key[0] ^ t), mix32(this.key[1] + Math.imul(t, 0x9e3779b1))]);
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Integer uniform in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** Log-uniform in [lo, hi) (lo > 0): for sizes and scores that span decades. */
  logUniform(lo: number, hi: number): number {
    return lo * Math.pow(hi / lo, this.float());
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** An index drawn with probability proportional to `weights`. */
  pick(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let u = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i]!;
      if (u < 0) return i;
    }
    return weights.length - 1;
  }

  /** Standard normal (Marsaglia's polar method; draws come in pairs, the second is kept). */
  gaussian(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.float() - 1;
      v = 2 * this.float() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    return u * f;
  }

  /** Fills `out` with independent N(mean, sd) draws; the bulk path for image noise. */
  fillGaussian(out: Float32Array, mean: number, sd: number): void {
    const n = out.length;
    let i = 0;
    while (i < n) {
      let u: number;
      let v: number;
      let s: number;
      do {
        u = 2 * this.float() - 1;
        v = 2 * this.float() - 1;
        s = u * u + v * v;
      } while (s >= 1 || s === 0);
      const f = sd * Math.sqrt((-2 * Math.log(s)) / s);
      out[i++] = mean + u * f;
      if (i < n) out[i++] = mean + v * f;
    }
  }

  /**
   * Fills `out` with N(mean, sd) draws by inverse-CDF table lookup: one 32-bit
   * draw each, linear between 4097 quantiles (tails cut at 3.5 sd), several
   * times faster than the polar method. For image noise of the scanner preset.
   */
  fillGaussianFast(out: Float32Array, mean: number, sd: number): void {
    const t = normalTable();
    const scale = QUANTILES / 4294967296;
    for (let i = 0; i < out.length; i++) {
      const u = this.nextUint32() * scale;
      const k = Math.floor(u);
      const lo = t[k]!;
      out[i] = mean + sd * (lo + (u - k) * (t[k + 1]! - lo));
    }
  }
}
