/**
 * Batch normalisation over channels-last tensors (NHWC, or NDHWC: the same
 * reduction): statistics per channel over N·(D·)H·W.
 *
 * Training mode normalises with the batch mean and the biased variance, and
 * updates the running statistics in place, PyTorch style:
 *   running = (1 − momentum)·running + momentum·batch,
 * where the running variance takes the unbiased batch variance (× n/(n−1)).
 * Eval mode normalises with the running statistics.
 */
import { ShapeError, fmtShape } from '../base/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { vec4Width } from '../gpu/wgsl.js';
import {
  checkChannelVector, checkEps, checkGradOutput, checkNormInput, momentSums, normBackward, normalise,
  statsFromRunning, statsFromSums, type NormForward, type NormGeometry, type NormGradNeeds, type NormGrads,
} from './norm-core.js';

export interface BatchNormRunning {
  /** [C], updated in place by a training forward. */
  runningMean: Tensor;
  /** [C], updated in place by a training forward (unbiased estimate). */
  runningVar: Tensor;
  /** Weight of the new batch in the running average (PyTorch's default 0.1). */
  momentum: number;
  eps: number;
}

function geometry(x: Tensor, c: number): NormGeometry {
  return { outer: 1, rows: x.size / c, c, cg: 1, vec: vec4Width(c) };
}

function checkInputs(op: string, x: Tensor, gamma: Tensor, beta: Tensor, r: BatchNormRunning): number {
  const c = checkNormInput(op, x);
  checkChannelVector(op, gamma, 'gamma', x, c);
  checkChannelVector(op, beta, 'beta', x, c);
  checkChannelVector(op, r.runningMean, 'runningMean', x, c);
  checkChannelVector(op, r.runningVar, 'runningVar', x, c);
  checkEps(op, r.eps);
  return c;
}

/** Training forward: normalise with batch statistics, update running stats in place. */
export function batchNormTraining(x: Tensor, gamma: Tensor, beta: Tensor, running: BatchNormRunning, relu = false): NormForward {
  const op = 'batchNorm';
  const c = checkInputs(op, x, gamma, beta, running);
  if (!Number.isFinite(running.momentum) || running.momentum < 0 || running.momentum > 1) {
    throw new ShapeError(`${op}: momentum must be in [0, 1], got ${running.momentum}`);
  }
  const g = geometry(x, c);
  if (g.rows < 2) {
    throw new ShapeError(`${op}: training needs more than one value per channel, x ${fmtShape(x.shape)} has ${g.rows}`);
  }
  const sums = momentSums(x, g);
  const stats = statsFromSums(x, sums, gamma, beta, g, running.eps, {
    mean: running.runningMean, variance: running.runningVar, momentum: running.momentum,
  });
  sums.dispose();
  return { y: normalise(x, stats, g, relu), stats };
}

/** Eval forward: normalise with the running statistics. */
export function batchNormInference(x: Tensor, gamma: Tensor, beta: Tensor, running: BatchNormRunning, relu = false): NormForward {
  const c = checkInputs('batchNorm', x, gamma, beta, running);
  const stats = statsFromRunning(gamma, beta, running.runningMean, running.runningVar, running.eps);
  return { y: normalise(x, stats, geometry(x, c), relu), stats };
}

/**
 * Gradients of batch norm. `training` picks the full batch-statistics backward
 * (the mean and variance depend on x) or the eval one (dx = dy·γ/σ).
 */
export function batchNormBackward(
  dy: Tensor, x: Tensor, gamma: Tensor, stats: Tensor, training: boolean, relu: boolean, need: NormGradNeeds,
): NormGrads {
  const op = 'batchNorm backward';
  const c = checkNormInput(op, x);
  checkGradOutput(op, dy, x);
  checkChannelVector(op, gamma, 'gamma', x, c);
  stats.assertLive(op);
  return normBackward(dy, x, gamma, stats, geometry(x, c), { batchStats: training, relu, need });
}
