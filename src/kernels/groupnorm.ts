/**
 * Group normalisation (Wu & He 2018) over channels-last tensors, NDHWC or
 * NHWC: the C channels split into G groups of C/G consecutive channels, and
 * statistics are taken per (sample, group) over (D·)H·W·C/G values; γ and β
 * are per channel. Same in training and eval (no running statistics).
 */
import { ShapeError, fmtShape } from '../base/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { vec4Width } from '../gpu/wgsl.js';
import {
  checkChannelVector, checkEps, checkGradOutput, checkNormInput, momentSums, normBackward, normalise,
  statsFromSums, type NormForward, type NormGeometry, type NormGradNeeds, type NormGrads,
} from './norm-core.js';

function geometry(op: string, x: Tensor, c: number, groups: number): NormGeometry {
  if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(`${op}: groups must be a positive integer, got ${groups}`);
  if (c % groups !== 0) {
    throw new ShapeError(`${op}: ${c} channels of x ${fmtShape(x.shape)} do not split into ${groups} groups (C must be divisible by G)`);
  }
  const n = x.shape[0]!;
  return { outer: n, rows: x.size / (n * c), c, cg: c / groups, vec: vec4Width(c) };
}

/** Forward: y = (x − mean)/sqrt(var + eps)·γ + β per (sample, group); optional fused ReLU. */
export function groupNormForward(x: Tensor, gamma: Tensor, beta: Tensor, groups: number, eps: number, relu = false): NormForward {
  const op = 'groupNorm';
  const c = checkNormInput(op, x);
  checkChannelVector(op, gamma, 'gamma', x, c);
  checkChannelVector(op, beta, 'beta', x, c);
  checkEps(op, eps);
  const g = geometry(op, x, c, groups);
  const sums = momentSums(x, g);
  const stats = statsFromSums(x, sums, gamma, beta, g, eps);
  sums.dispose();
  return { y: normalise(x, stats, g, relu), stats };
}

/** Gradients for x, γ and β (the statistics always depend on x). */
export function groupNormBackward(
  dy: Tensor, x: Tensor, gamma: Tensor, stats: Tensor, groups: number, relu: boolean, need: NormGradNeeds,
): NormGrads {
  const op = 'groupNorm backward';
  const c = checkNormInput(op, x);
  checkGradOutput(op, dy, x);
  checkChannelVector(op, gamma, 'gamma', x, c);
  stats.assertLive(op);
  return normBackward(dy, x, gamma, stats, geometry(op, x, c, groups), { batchStats: true, relu, need });
}
