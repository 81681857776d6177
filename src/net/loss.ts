/**
 * The training objective of eq. 4: the multi-class Dice loss of the final
 * output plus weighted Dice losses of the deep-supervision heads. The L2 term
 * λ‖W‖² is applied by the optimiser as weight decay (same gradient, no extra
 * graph).
 */
import type { Tensor } from '../gpu/tensor.js';
import { softmaxDice, softmaxDiceLoss, weightedSum } from '../autograd/loss.js';
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
export function cacnetLoss(out: NetOutput, labels: Tensor, c: NetConfig, classWeights?: readonly number[]): LossResult {
  const opts = { smooth: c.diceSmooth, classWeights };
  const main = softmaxDice(out.logits, labels, opts);
  if (out.deep.length === 0) return main;
  const losses = [main.loss, ...out.deep.map((d) => softmaxDiceLoss(d, labels, opts))];
  const weights = c.supervisionWeights.slice(0, losses.length);
  return { loss: weightedSum(losses, weights), dice: main.dice };
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
