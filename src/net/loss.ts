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

export function cacnetLoss(out: NetOutput, labels: Tensor, c: NetConfig): LossResult {
  const opts = { smooth: c.diceSmooth };
  const main = softmaxDice(out.logits, labels, opts);
  if (out.deep.length === 0) return main;
  const losses = [main.loss, ...out.deep.map((d) => softmaxDiceLoss(d, labels, opts))];
  const weights = c.supervisionWeights.slice(0, losses.length);
  return { loss: weightedSum(losses, weights), dice: main.dice };
}
