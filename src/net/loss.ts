/**
 * The training objective. Eq. 4 of the paper: the multi-class Dice loss (eq. 3)
 * of the final output plus weighted losses of the deep-supervision heads; the
 * L2 term λ‖W‖² is applied by the optimiser as weight decay (same gradient, no
 * extra graph).
 *
 * Two additions, both configurable (README, "Training"):
 *  - a class-balanced cross-entropy beside (or instead of) Dice, because Dice
 *    on a handful of calcium voxels per patch gives the network almost no
 *    usable gradient (measured on the phantoms: with Dice the calcium
 *    probability stayed at its prior for hundreds of steps, with the balanced
 *    cross-entropy alone 12 of 27 held-out calcium voxels were found after
 *    60 steps);
 *  - candidate restriction: the annotation standard labels calcium only at
 *    >= 130 HU, and inference keeps labels only there, so voxels below the
 *    threshold are fixed to background in the loss (their logits get a large
 *    background bias) and the network is judged only where a decision is made:
 *    calcium against bone, and which artery.
 */
import type { Tensor } from '../gpu/tensor.js';
import { softmaxDice, softmaxDiceLoss, weightedSum } from '../autograd/loss.js';
import { softmax } from '../autograd/softmax.js';
import { add, logClamped, mul, neg, reshape, sum } from '../autograd/ops.js';
import { noGrad } from '../autograd/tape.js';
import type { NetConfig } from './config.js';
import type { NetOutput } from './cacnet.js';
import { connectedComponents } from '../scoring/lesions.js';

export interface LossResult {
  loss: Tensor;
  /** Per-class Dice of the final output, [classes] (for progress and validation). */
  dice: Tensor;
}

/** Weights of the two loss terms; each is applied to every supervised head. */
export interface LossWeights {
  dice: number;
  crossEntropy: number;
}

export interface LossInputs {
  weights?: LossWeights;
  /** Dice weight per class, background first (see presentClassWeights). */
  classWeights?: readonly number[];
  /** Cross-entropy weight per voxel at its true class, [..., C] (see balancedVoxelWeights). Required when crossEntropy > 0. */
  voxelWeights?: Tensor;
}

/** The paper's loss: Dice only. */
export const PAPER_LOSS: LossWeights = { dice: 1, crossEntropy: 0 };

/**
 * dice · Σ_t s_t DiceLoss_t + crossEntropy · CE_0: Dice over the final output
 * and the deep-supervision heads (s_t the config's supervision weights, s_0 the
 * final output's), cross-entropy over the final output.
 */
export function cacnetLoss(out: NetOutput, labels: Tensor, c: NetConfig, inputs: LossInputs = {}): LossResult {
  const w = inputs.weights ?? PAPER_LOSS;
  if (w.crossEntropy > 0 && !inputs.voxelWeights) throw new Error('cacnetLoss: cross-entropy needs voxel weights');
  const opts = { smooth: c.diceSmooth, classWeights: inputs.classWeights };
  const heads = [out.logits, ...out.deep];
  const terms: Tensor[] = [];
  const termWeights: number[] = [];
  let dice: Tensor | undefined;
  heads.forEach((logits, t) => {
    const s = c.supervisionWeights[t] ?? 0;
    if (w.dice > 0 && s > 0) {
      if (t === 0) {
        const main = softmaxDice(logits, labels, opts);
        dice = main.dice;
        terms.push(main.loss);
      } else terms.push(softmaxDiceLoss(logits, labels, opts));
      termWeights.push(s * w.dice);
    }
    // Cross-entropy on the final output only: on the coarse deep heads, which
    // cannot place a one-voxel lesion, it slowed learning several-fold (measured).
    if (w.crossEntropy > 0 && t === 0) {
      terms.push(weightedCrossEntropy(logits, inputs.voxelWeights!));
      termWeights.push(w.crossEntropy);
    }
  });
  // The final output's Dice is always reported, even when it is not trained on.
  dice ??= noGrad(() => softmaxDice(out.logits, labels, opts)).dice;
  return { loss: terms.length === 1 && termWeights[0] === 1 ? terms[0]! : weightedSum(terms, termWeights), dice };
}

/**
 * −Σ W ⊙ log softmax(logits), with W [.., C] holding each voxel's weight at
 * its true class (0 elsewhere).
 */
export function weightedCrossEntropy(logits: Tensor, voxelWeights: Tensor): Tensor {
  return reshape(neg(sum(mul(logClamped(softmax(logits)), voxelWeights))), [1]);
}

/** Logit bias that makes a restricted voxel certain background: exp(-40) is below float32's resolution of 1. */
const CERTAIN_BACKGROUND = 40;

/**
 * Candidate voxels (HU >= threshold) of a patch, 1 or 0. Voxels outside the
 * scan are cropped with a fill below any threshold, so they are never candidates.
 */
export function candidateMask(hu: Float32Array, thresholdHU: number): Uint8Array {
  return Uint8Array.from(hu, (v) => (v >= thresholdHU ? 1 : 0));
}

/** [voxels × classes] logit bias: CERTAIN_BACKGROUND on the background class of every non-candidate voxel. */
export function nonCandidateBias(candidates: Uint8Array, classes: number): Float32Array {
  const b = new Float32Array(candidates.length * classes);
  for (let i = 0; i < candidates.length; i++) if (!candidates[i]) b[i * classes] = CERTAIN_BACKGROUND;
  return b;
}

/** The network's output with non-candidate voxels fixed to background (every head). */
export function restrictToCandidates(out: NetOutput, bias: Tensor): NetOutput {
  return { logits: add(out.logits, bias), deep: out.deep.map((d) => add(d, bias)) };
}

/**
 * Voxel weights for a class-balanced cross-entropy: half the total weight on
 * the calcium voxels, half on the background (all on background when a patch
 * has no calcium). With `candidates`, background voxels outside them get no
 * weight. With `perArtery`, the calcium half is split equally between the
 * arteries present, so a rarer artery (LCX) weighs as much as a common one.
 * `backgroundSpread` (see backgroundSpreadByComponent) divides the background
 * half unevenly; without it every background voxel gets the same weight.
 * Returns [voxels × classes], one-hot at the true class.
 */
export function balancedVoxelWeights(labels: Uint32Array, classes: number, candidates?: Uint8Array, perArtery = false, backgroundSpread?: Float32Array): Float32Array {
  const counted = (i: number) => !candidates || candidates[i] === 1;
  const spread = (i: number) => (backgroundSpread ? backgroundSpread[i]! : 1);
  const count = new Array<number>(classes).fill(0);
  let background = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! > 0 || counted(i)) count[labels[i]!]!++;
    if (labels[i] === 0 && counted(i)) background += spread(i);
  }
  const fg = count.slice(1).reduce((a, b) => a + b, 0);
  const present = count.slice(1).filter((n) => n > 0).length;
  const share = count.map((n, c) => {
    if (n === 0) return 0;
    if (c === 0) return (fg > 0 ? 0.5 : 1) / background;
    return perArtery ? 0.5 / present / n : 0.5 / fg;
  });
  const w = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! > 0) w[i * classes + labels[i]!] = share[labels[i]!]!;
    else if (counted(i)) w[i * classes] = share[0]! * spread(i);
  }
  return w;
}

/**
 * Relative weights of the background candidates of a batch of patches, for
 * balancedVoxelWeights: a share `byComponent` of the background weight is
 * divided equally between the connected components (6-connected, per patch) of
 * background candidates and then between each component's voxels; the rest
 * equally between all background candidates.
 *
 * Why: detection is judged by lesion count, but per-voxel weighting lets the
 * ~2,500 bone voxels of a phantom set the background's loss, so an isolated
 * bright voxel in the blood, myocardium or muscle (noise; up to dozens per
 * phantom) weighs a few thousandths of it, and the network learned to call
 * such voxels calcium: they were the validation phantoms' false positives. Per
 * component, each weighs about as much as a calcium voxel.
 *
 * labels and candidates: the batch's voxels, patch after patch, each patch
 * [d, h, w] with x fastest. Returns a spread summing to 1 over the background
 * candidates (0 elsewhere).
 */
export function backgroundSpreadByComponent(labels: Uint32Array, candidates: Uint8Array, patch: readonly [number, number, number], byComponent: number): Float32Array {
  const [d, h, w] = patch;
  const per = d * h * w;
  const spread = new Float32Array(labels.length);
  const components: Uint32Array[] = [];
  let voxels = 0;
  for (let start = 0; start < labels.length; start += per) {
    const mask = new Uint8Array(per);
    for (let i = 0; i < per; i++) mask[i] = candidates[start + i] === 1 && labels[start + i] === 0 ? 1 : 0;
    for (const c of connectedComponents(mask, [w, h, d], 6).voxels) {
      components.push(c.map((i) => i + start));
      voxels += c.length;
    }
  }
  for (const c of components) for (const i of c) spread[i] = (1 - byComponent) / voxels + byComponent / (components.length * c.length);
  return spread;
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
