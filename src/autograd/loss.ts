/**
 * The multi-class Dice loss of the CAC-Net paper (eq. 3, its softmax fused),
 * deep supervision's weighted sum of losses (eq. 4) and the L2 term.
 *
 * Dice convention (eq. 3 with N = every voxel of the batch): per class i,
 *   Dice_i = (2 Σ_j P_ij G_ij + smooth) / (Σ_j P_ij² + Σ_j G_ij² + smooth)
 * and the loss is Σ_i w_i (1 − Dice_i), a sum over classes (0..K, as in the
 * paper), not a mean. By default the background class 0 is left out of the
 * loss: it fills almost every voxel of a cardiac CT, so its Dice is ≈ 1 from
 * the first step and would swamp the few calcium voxels of classes 1..C−1.
 */
import { InputError, ShapeError, fmtShape } from '../base/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { checkDiceInputs, softmaxDiceBackward, softmaxDiceForward } from '../kernels/dice.js';
import { add, affine, reshape, square, sum } from './ops.js';
import { record } from './tape.js';

export interface DiceLossOptions {
  /** Added to numerator and denominator (eq. 3's smooth). Default 1. */
  smooth?: number;
  /** Count class 0 (background) in the loss. Default false (see the file comment). */
  includeBackground?: boolean;
  /**
   * One weight per class (C entries, background first); the loss is
   * Σ w_i (1 − Dice_i). Default 1 each. The background entry only counts when
   * includeBackground is set.
   */
  classWeights?: readonly number[];
}

export interface DiceResult {
  /** The loss, shape [1], differentiable w.r.t. the logits. */
  loss: Tensor;
  /** Dice coefficient of every class, background included, shape [C] (for logging; not differentiable). */
  dice: Tensor;
}

/** The effective per-class loss weights for C classes. */
export function diceClassWeights(c: number, opts: DiceLossOptions = {}): number[] {
  if (opts.classWeights && opts.classWeights.length !== c) {
    throw new InputError(`softmaxDiceLoss: ${opts.classWeights.length} class weights given for ${c} classes`);
  }
  return Array.from({ length: c }, (_, i) => (i === 0 && !opts.includeBackground ? 0 : opts.classWeights?.[i] ?? 1));
}

/**
 * Softmax of the logits [..., C] and the multi-class Dice loss against the
 * ground truth: u32 class indices shaped like the logits without the channel
 * axis, or an f32 one-hot map shaped like the logits (treated as a constant).
 * Returns the loss and the per-class Dice values.
 */
export function softmaxDice(logits: Tensor, labels: Tensor, opts: DiceLossOptions = {}): DiceResult {
  const { c } = checkDiceInputs('softmaxDiceLoss', logits, labels);
  const weights = diceClassWeights(c, opts);
  const { loss, dice, coef } = softmaxDiceForward(logits, labels, { smooth: opts.smooth ?? 1, weights });
  record('softmaxDiceLoss', loss, [logits], (g) => [softmaxDiceBackward(logits, labels, coef, g)]);
  if (!loss.gradNode) coef.dispose(); // nothing will run the backward
  return { loss, dice };
}

/** The multi-class Dice loss alone (shape [1]); see softmaxDice. */
export function softmaxDiceLoss(logits: Tensor, labels: Tensor, opts: DiceLossOptions = {}): Tensor {
  const { loss, dice } = softmaxDice(logits, labels, opts);
  dice.dispose();
  return loss;
}

/**
 * Σ_t w_t · L_t over same-shaped losses (deep supervision, eq. 4). The
 * intermediate tensors stay in the enclosing scope: the tape needs them.
 */
export function weightedSum(losses: readonly Tensor[], weights: readonly number[]): Tensor {
  if (losses.length === 0) throw new InputError('weightedSum: no losses given');
  if (weights.length !== losses.length) throw new InputError(`weightedSum: ${losses.length} losses but ${weights.length} weights`);
  const shape = losses[0]!.shape;
  losses.forEach((l, t) => {
    l.assertLive('weightedSum');
    l.expectDtype('f32', 'weightedSum');
    if (l.shape.length !== shape.length || l.shape.some((d, i) => d !== shape[i])) {
      throw new ShapeError(`weightedSum: loss ${t} has shape ${fmtShape(l.shape)}, loss 0 has ${fmtShape(shape)}`);
    }
    if (!Number.isFinite(weights[t])) throw new InputError(`weightedSum: weight ${t} is ${weights[t]}`);
  });
  let acc = affine(losses[0]!, weights[0]!);
  for (let t = 1; t < losses.length; t++) acc = add(acc, affine(losses[t]!, weights[t]!));
  return acc;
}

/**
 * λ Σ_W ‖W‖² over parameter tensors, shape [1]: the R(W) term of eq. 4, for
 * logging or for adding to the loss. Its gradient is 2λW, which is what the
 * optimisers' weightDecay: λ adds to the gradient without building this graph.
 */
export function l2Penalty(params: readonly Tensor[], lambda: number): Tensor {
  if (params.length === 0) throw new InputError('l2Penalty: no parameters given');
  if (!Number.isFinite(lambda)) throw new InputError(`l2Penalty: lambda is ${lambda}`);
  let acc: Tensor | null = null;
  for (const w of params) {
    w.assertLive('l2Penalty');
    const s = reshape(sum(square(w)), [1]);
    acc = acc ? add(acc, s) : s;
  }
  return affine(acc!, lambda);
}
