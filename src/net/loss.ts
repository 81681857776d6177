/**
 * The training objective of eq. 4: the multi-class Dice loss of the final
 * output plus weighted Dice losses of the deep-supervision heads. The L2 term
 * λ‖W‖² is applied by the optimiser as weight decay (same gradient, no extra
 * graph).
 */
import type { Tensor } from '../gpu/tensor.js';
import { softmax, softmaxDice, softmaxDiceLoss, weightedSum } from '../autograd/loss.js';
import { logClamped, mul, neg, reshape, sum } from '../autograd/ops.js';
import type { NetConfig } from './config.js';
import type { NetOutput } from './cacnet.js';

export interface LossResult {
  loss: Tensor;
  /** Per-class Dice of the final output, [classes] (for progress and validation). */
  dice: Tensor;
}

/**
 * `classWeights` (one per class, background first) lets the trainer down-weight
 * classes absent from a patch; see presentClassWeights.
 */
export function cacnetLoss(out: NetOutput, labels: Tensor, c: NetConfig, classWeights?: readonly number[], voxelWeights?: Tensor): LossResult {
  const opts = { smooth: c.diceSmooth, classWeights };
  const main = softmaxDice(out.logits, labels, opts);
  const losses = [main.loss, ...out.deep.map((d) => softmaxDiceLoss(d, labels, opts))];
  const weights = c.supervisionWeights.slice(0, losses.length);
  if (voxelWeights) {
    losses.push(weightedCrossEntropy(out.logits, voxelWeights));
    weights.push(1);
  }
  return { loss: losses.length === 1 ? main.loss : weightedSum(losses, weights), dice: main.dice };
}

/**
 * −Σ W ⊙ log softmax(logits), with W [.., C] holding each voxel's weight at
 * its true class (0 elsewhere). Not in the paper: Dice alone gives almost no
 * gradient once the softmax saturates on "background" (all foreground
 * probabilities < 0.003 after 100 steps, observed on the phantoms), while
 * −log p keeps pulling the few calcium voxels up (as nnU-Net's Dice + CE).
 */
export function weightedCrossEntropy(logits: Tensor, voxelWeights: Tensor): Tensor {
  return reshape(neg(sum(mul(logClamped(softmax(logits)), voxelWeights))), [1]);
}

/**
 * Voxel weights for a class-balanced cross-entropy: half the total weight on
 * the calcium voxels, half on the background (all on background when a patch
 * has no calcium). Returns [voxels × classes], one-hot at the true class.
 */
export function balancedVoxelWeights(labels: Uint32Array, classes: number): Float32Array {
  let fg = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]! > 0) fg++;
  const bg = labels.length - fg;
  const wFg = fg > 0 ? 0.5 / fg : 0;
  const wBg = fg > 0 ? 0.5 / bg : 1 / bg;
  const w = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) w[i * classes + labels[i]!] = labels[i]! > 0 ? wFg : wBg;
  return w;
}

/**
 * Per-class Dice weights for one batch: 1 for an artery present in the labels,
 * `absentWeight` for one that is not. With calcium in a few voxels of a patch,
 * the Dice terms of absent classes (which only push every voxel's probability
 * down) otherwise outweigh the one class present, and the network collapses to
 * "background everywhere" (observed: all foreground probabilities < 0.003).
 * When no artery is present every class keeps weight 1 (pure suppression).
 */
export function presentClassWeights(labels: Uint32Array, classes: number, absentWeight: number): number[] {
  const present = new Array<boolean>(classes).fill(false);
  for (let i = 0; i < labels.length; i++) present[labels[i]!] = true;
  const any = present.slice(1).some(Boolean);
  return present.map((p, c) => (c === 0 ? 0 : !any || p ? 1 : absentWeight));
}
