/**
 * Differentiable inverted dropout. The mask is a pure function of (seed,
 * element index), so the backward regenerates it instead of saving it.
 */
import type { Tensor } from '../gpu/tensor.js';
import { checkDropoutArgs, dropoutMask } from '../kernels/dropout.js';
import { record } from './tape.js';

export interface DropoutOptions {
  /** Eval mode (false) returns the input itself: no kernel, no copy. */
  training: boolean;
  /**
   * A u32 seed choosing the mask. Reusing a seed reuses the mask; a training
   * loop should derive a fresh one per step and layer. Default: a random seed.
   */
  seed?: number;
}

function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}

/**
 * Zeroes each element with probability p and scales the rest by 1/(1−p), so
 * the expected value is unchanged and eval mode needs no rescaling.
 */
export function dropout(x: Tensor, p: number, opts: DropoutOptions): Tensor {
  x.assertLive('dropout');
  x.expectDtype('f32', 'dropout');
  const seed = opts.seed ?? randomSeed();
  checkDropoutArgs(p, seed);
  if (!opts.training || p === 0) return x;
  const y = dropoutMask(x, p, seed);
  // dL/dx = mask ⊙ dL/dy / (1 − p): the same kernel, the same seed.
  return record('dropout', y, [x], (g) => [x.requiresGrad ? dropoutMask(g, p, seed) : null]);
}
