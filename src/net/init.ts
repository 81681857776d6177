/** Seeded weight initialisation. */
import { gaussian, mulberry32 } from '../base/random.js';

/** A stream of seeded random numbers for one model: each layer draws in order. */
export class InitStream {
  private readonly uniform: () => number;
  private readonly normal: () => number;
  constructor(seed: number) {
    this.uniform = mulberry32(seed);
    this.normal = gaussian(this.uniform);
  }

  /** He (Kaiming) normal: std = sqrt(2 / fanIn), right for ReLU networks. */
  he(count: number, fanIn: number): Float32Array {
    const std = Math.sqrt(2 / fanIn);
    return Float32Array.from({ length: count }, () => this.normal() * std);
  }

  /** Small-variance normal for output heads, so initial logits are near zero. */
  small(count: number, std = 0.01): Float32Array {
    return Float32Array.from({ length: count }, () => this.normal() * std);
  }

  /** A fresh seed for a layer that needs its own stream (dropout). */
  seed(): number {
    return Math.floor(this.uniform() * 2 ** 31);
  }
}
