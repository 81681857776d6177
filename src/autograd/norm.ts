/**
 * Differentiable batch norm and group norm (channels-last, rank 4 or 5), each
 * with an optional fused ReLU. The forward saves x, γ and the small [outer, 4, C]
 * stats tensor; the backward recomputes x̂ from them. Like every saved
 * intermediate, the stats belong to the enclosing tidy() scope, so run
 * backward() inside the scope that ran the forward.
 */
import type { Tensor } from '../gpu/tensor.js';
import { batchNormBackward, batchNormInference, batchNormTraining, type BatchNormRunning } from '../kernels/batchnorm.js';
import { groupNormBackward, groupNormForward } from '../kernels/groupnorm.js';
import type { NormForward } from '../kernels/norm-core.js';
import { record } from './tape.js';

/**
 * Running statistics and hyper-parameters of a batch norm layer. A training
 * forward updates runningMean/runningVar in place:
 * running = (1 − momentum)·running + momentum·batch, with the unbiased batch
 * variance for runningVar (as PyTorch); the output uses the biased variance.
 */
export type BatchNormState = BatchNormRunning;

export interface NormOptions {
  /** Fuse a ReLU after the affine (one pass forward, masked backward). */
  relu?: boolean;
}

function recordNorm(op: string, fwd: NormForward, x: Tensor, gamma: Tensor, beta: Tensor,
  backward: (g: Tensor) => [Tensor | null, Tensor | null, Tensor | null]): Tensor {
  const y = record(op, fwd.y, [x, gamma, beta], backward);
  // Nothing will run the backward: the stats are not needed past this point.
  if (!y.gradNode) fwd.stats.dispose();
  return y;
}

/**
 * Batch norm over NHWC / NDHWC: statistics per channel over N·(D·)H·W.
 * `training` normalises with batch statistics (and updates the running ones);
 * otherwise with the running statistics. Gradients flow to x, gamma and beta.
 */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, state: BatchNormState, training: boolean, opts: NormOptions = {}): Tensor {
  const relu = opts.relu ?? false;
  const fwd = training ? batchNormTraining(x, gamma, beta, state, relu) : batchNormInference(x, gamma, beta, state, relu);
  return recordNorm(relu ? 'batchNormRelu' : 'batchNorm', fwd, x, gamma, beta, (g) => {
    const r = batchNormBackward(g, x, gamma, fwd.stats, training, relu, need(x, gamma, beta));
    return [r.dx, r.dgamma, r.dbeta];
  });
}

/**
 * Group norm over NDHWC / NHWC with `groups` groups of C/groups consecutive
 * channels: statistics per (sample, group). Gradients flow to x, gamma and beta.
 */
export function groupNorm(x: Tensor, gamma: Tensor, beta: Tensor, groups: number, eps = 1e-5, opts: NormOptions = {}): Tensor {
  const relu = opts.relu ?? false;
  const fwd = groupNormForward(x, gamma, beta, groups, eps, relu);
  return recordNorm(relu ? 'groupNormRelu' : 'groupNorm', fwd, x, gamma, beta, (g) => {
    const r = groupNormBackward(g, x, gamma, fwd.stats, groups, relu, need(x, gamma, beta));
    return [r.dx, r.dgamma, r.dbeta];
  });
}

function need(x: Tensor, gamma: Tensor, beta: Tensor) {
  return { x: x.requiresGrad, gamma: gamma.requiresGrad, beta: beta.requiresGrad };
}
