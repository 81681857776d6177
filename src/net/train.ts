/**
 * The training loop: seeded patch sampling, Adam, one submit and one scalar
 * readback per step, checkpoints, exact resume, and a clear stop on a NaN or
 * infinite loss.
 *
 * Reproducibility: everything random in step s (which scans, which patches,
 * dropout masks) is derived from (seed, s) alone, never from a running stream,
 * so a run resumed from a checkpoint at step s continues exactly as the
 * uninterrupted run would have.
 */
import { NonFiniteLossError } from '../base/errors.js';
import type { Runtime } from '../gpu/runtime.js';
import { tidy } from '../gpu/scope.js';
import { Tensor } from '../gpu/tensor.js';
import { backward, noGrad } from '../autograd/tape.js';
import { mixSeed, mulberry32 } from '../base/random.js';
import { Adam } from '../autograd/optim.js';
import { concat, reshape } from '../autograd/ops.js';
import { prepareOutputFolder } from '../io/output-folder.js';
import type { LabelMap, Volume } from '../io/volume.js';
import type { CacNet } from './cacnet.js';
import { CALCIUM_THRESHOLD_HU, cropBox, foregroundIndices, normaliseHu, samplePatch, type Patch } from './data.js';
import {
  backgroundSpreadByComponent,
  balancedVoxelWeights,
  cacnetLoss,
  candidateMask,
  nonCandidateBias,
  presentClassWeights,
  restrictToCandidates,
  type LossResult,
  type LossWeights,
} from './loss.js';
import { optimizerStateFor, removeStaleTemporaries, saveCheckpoint, writeWeightsFile, type Checkpoint, type TrainingPosition } from './checkpoint.js';
import { fitArteryPrior } from './artery-prior.js';
import { DEFAULT_OPERATING_POINT } from './inference-metadata.js';
import type { NetConfig } from './config.js';
import { locateHeart } from './heart-locator.js';
import { buildWorkingGrid, labelsToWorkingGrid } from './working-grid.js';
import { gridOffsetFromHeart, workingGridInput } from './scan-inference.js';

export interface Scan {
  id: string;
  ct: Volume;
  labels: LabelMap;
}

export interface TrainOptions {
  steps: number;
  /** Peak learning rate; cosine-decayed to 10% over the run. */
  lr: number;
  patch: [number, number, number];
  batch: number;
  foregroundProbability: number;
  /** Dice weight of an artery absent from the step's patches (see presentClassWeights). */
  absentClassWeight?: number;
  /** Dice and cross-entropy weights (default DEFAULT_LOSS). */
  loss?: LossWeights;
  /** Split the cross-entropy's calcium weight equally between the arteries present (see balancedVoxelWeights). */
  balanceArteries?: boolean;
  /** Centre calcium patches on a uniformly drawn artery (see PatchSampler.balanceArteries). */
  sampleArteries?: boolean;
  /** Steps of linear learning-rate warm-up (default DEFAULT_WARMUP). */
  warmupSteps?: number;
  /** Fit the spatial artery prior to the training labels and keep it with the weights (default true; see artery-prior.ts). */
  arteryPrior?: boolean;
  /** Share of the cross-entropy's background weight divided per connected component (see backgroundSpreadByComponent); default 0. */
  backgroundByComponent?: number;
  /** Judge the network only on voxels >= this HU (see loss.ts); null: on every voxel. Default CALCIUM_THRESHOLD_HU. */
  candidateHU?: number | null;
  seed: number;
  checkpointDir?: string;
  checkpointEvery?: number;
  validateEvery?: number;
  /** Stop (as if interrupted) after this step, with a checkpoint of it; the run can be resumed. */
  stopAfter?: number;
  /** The command-line options that made the run, kept in its checkpoints so a resume can restore them. */
  command?: Record<string, string | boolean>;
  /** Runs with a new checkpoint flushed under its temporary name, just before it replaces the last one (tests kill the process here). */
  beforeCheckpointCommit?: () => Promise<void>;
  onProgress?: (p: Progress) => void;
}

export interface Progress {
  step: number;
  steps: number;
  loss: number;
  /** Per-class Dice of the step's batch (background first). */
  dice: number[];
  stepsPerSecond: number;
  etaSeconds: number;
  validationDice?: number[];
}

export interface TrainResult {
  step: number;
  history: Array<{ step: number; loss: number }>;
  validationDice?: number[];
}

/** Training loss unless told otherwise: the paper's Dice with deep supervision, plus the balanced cross-entropy. */
export const DEFAULT_LOSS: LossWeights = { dice: 1, crossEntropy: 1 };

/** A training scan ready for patch sampling, on the grid the network sees (see prepareScan). */
export interface PreparedScan {
  id: string;
  /** Network input: `channels` values per voxel, channels fastest. */
  x: Float32Array;
  channels: number;
  /** HU that makes a voxel a candidate (>= 130): the CT itself, or a working-grid cell's max. */
  hu: Float32Array;
  labels: LabelMap;
  foreground: Uint32Array;
  /** Where the grid's centre lies in the artery prior's frame (mm): 0 for the scan's own grid, the offset from the located heart for the working grid. */
  priorOffsetMm: [number, number, number];
}

/**
 * A scan on the grid the network works on: its own grid, normalised (networks
 * without a working grid), or binned onto the working grid around its located
 * heart (working-grid.ts), with the labels binned the same way.
 */
export function prepareScan(scan: Scan, config: NetConfig): PreparedScan {
  if (!config.workingGrid) {
    return { id: scan.id, x: normaliseHu(scan.ct.data, config.huWindow), channels: 1, hu: scan.ct.data, labels: scan.labels, foreground: foregroundIndices(scan.labels), priorOffsetMm: [0, 0, 0] };
  }
  const grid = buildWorkingGrid(scan.ct, locateHeart(scan.ct).centreMm, config.workingGrid);
  const labels = labelsToWorkingGrid(scan.labels, grid, config.classes);
  return { id: scan.id, x: workingGridInput(grid, config.huWindow), channels: 2, hu: grid.max, labels, foreground: foregroundIndices(labels), priorOffsetMm: gridOffsetFromHeart(grid) };
}

function prepared(scans: Array<Scan | PreparedScan>, config: NetConfig): PreparedScan[] {
  return scans.map((s) => ('x' in s ? s : prepareScan(s, config)));
}

export interface StepBatch {
  x: Float32Array;
  y: Uint32Array;
  /** HU of the same voxels (-1000 outside the scan), for the candidate mask. */
  hu: Float32Array;
}

/** The patches of one step, stacked as a batch. */
export function stepBatch(data: PreparedScan[], o: TrainOptions, step: number): StepBatch {
  const random = mulberry32(mixSeed(o.seed, step));
  const patches: Array<Patch & { hu: Float32Array }> = [];
  for (let b = 0; b < o.batch; b++) {
    const scan = data[Math.floor(random() * data.length)]!;
    const p = samplePatch(scan.x, scan.labels, { size: o.patch, foregroundProbability: o.foregroundProbability, balanceArteries: o.sampleArteries }, random, scan.foreground, scan.channels);
    patches.push({ ...p, hu: cropBox(scan.hu, scan.labels.dims, p.box, -1000, (k) => new Float32Array(k)) });
  }
  const n = patches[0]!.y.length;
  const nx = patches[0]!.x.length;
  const x = new Float32Array(nx * o.batch);
  const y = new Uint32Array(n * o.batch);
  const hu = new Float32Array(n * o.batch);
  patches.forEach((p, b) => {
    x.set(p.x, b * nx);
    y.set(p.y, b * n);
    hu.set(p.hu, b * n);
  });
  return { x, y, hu };
}

/** The step's loss on one batch: forward, candidate restriction, Dice and cross-entropy as the options say. */
export function batchLoss(rt: Runtime, model: CacNet, batch: StepBatch, o: TrainOptions): LossResult {
  const c = model.config;
  const shape = [batch.y.length / (o.patch[0] * o.patch[1] * o.patch[2]), ...o.patch];
  const candidateHU = o.candidateHU === undefined ? CALCIUM_THRESHOLD_HU : o.candidateHU;
  const candidates = candidateHU === null ? undefined : candidateMask(batch.hu, candidateHU);
  let out = model.forward(Tensor.from(rt, batch.x, [...shape, c.inputChannels ?? 1]));
  if (candidates) out = restrictToCandidates(out, Tensor.from(rt, nonCandidateBias(candidates, c.classes), [...shape, c.classes]));
  const weights = o.loss ?? DEFAULT_LOSS;
  const byComponent = o.backgroundByComponent ?? 0;
  const spread = candidates && byComponent > 0 && weights.crossEntropy > 0 ? backgroundSpreadByComponent(batch.y, candidates, o.patch, byComponent) : undefined;
  return cacnetLoss(out, Tensor.from(rt, batch.y, shape, 'u32'), c, {
    weights,
    classWeights: presentClassWeights(batch.y, c.classes, o.absentClassWeight ?? 0.1),
    voxelWeights: weights.crossEntropy > 0 ? Tensor.from(rt, balancedVoxelWeights(batch.y, c.classes, candidates, o.balanceArteries, spread), [...shape, c.classes]) : undefined,
  });
}

export const DEFAULT_WARMUP = 20;

/**
 * Linear warm-up over `warmupSteps`, then cosine decay to 10%. The warm-up is
 * there because Adam's first steps move every weight by about the full
 * learning rate whatever the gradient's size: when the first scan drawn had no
 * calcium, that first push towards "background everywhere" left the network
 * unable to learn calcium for 100+ steps (measured; with another seed it
 * learned in 40).
 */
export function learningRate(o: TrainOptions, step: number): number {
  const t = Math.min(1, step / Math.max(1, o.steps));
  const warm = Math.min(1, (step + 1) / Math.max(1, o.warmupSteps ?? DEFAULT_WARMUP));
  return o.lr * warm * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * t)));
}

export function makeOptimizer(model: CacNet, lr: number): Adam {
  return new Adam(model.parameters(), { lr, weightDecay: model.config.l2 });
}

/** Mean per-class Dice over fixed validation patches, in evaluation mode. */
export async function validate(rt: Runtime, model: CacNet, data: PreparedScan[], o: TrainOptions, patches = 8): Promise<number[]> {
  model.eval();
  const sums = new Array<number>(model.config.classes).fill(0);
  for (let i = 0; i < patches; i++) {
    const batch = stepBatch(data, { ...o, batch: 1, seed: o.seed ^ 0x5eed }, i);
    const dice = noGrad(() => tidy(() => batchLoss(rt, model, batch, { ...o, loss: { dice: 1, crossEntropy: 0 } }).dice));
    (await dice.readF32()).forEach((v, c) => (sums[c]! += v / patches));
    dice.dispose();
  }
  model.train();
  return sums;
}

/** The first parameter holding a NaN or an infinity, and how many values are, in `values` laid out as `params` (flattened, in order). */
function nonFiniteParameters(values: Float32Array, offset: number, params: Array<[string, Tensor]>): { count: number; first: string } | null {
  let count = 0;
  let first = '';
  let at = offset;
  for (const [name, p] of params) {
    for (let i = at; i < at + p.size; i++) {
      if (Number.isFinite(values[i]!)) continue;
      count++;
      first ||= name;
    }
    at += p.size;
  }
  return count ? { count, first } : null;
}

/**
 * Trains `model` for o.steps steps; with `resume`, a checkpoint whose model
 * `model` was built from (buildModel), it continues from that checkpoint's step.
 * After every step the loss and every parameter must be finite, or training
 * stops with a NonFiniteLossError naming the step, before any checkpoint of it.
 */
export async function train(rt: Runtime, model: CacNet, trainScans: Array<Scan | PreparedScan>, valScans: Array<Scan | PreparedScan>, o: TrainOptions, resume?: Checkpoint): Promise<TrainResult> {
  const data = prepared(trainScans, model.config);
  const val = prepared(valScans, model.config);
  const dir = o.checkpointDir;
  if (dir) {
    await prepareOutputFolder(dir);
    await removeStaleTemporaries(dir);
  }
  const opt = makeOptimizer(model, o.lr);
  let pos: TrainingPosition = { step: 0, options: { ...o, onProgress: undefined, beforeCheckpointCommit: undefined }, history: [] };
  // Deterministic in the training labels, so a resumed run fits the same prior (and a checkpoint from before priors gets one).
  const offsets = new Map(data.map((s) => [s.labels, s.priorOffsetMm]));
  model.arteryPrior = o.arteryPrior === false ? null : fitArteryPrior(data.map((s) => s.labels), (labels) => offsets.get(labels)!);
  // A calibrated operating point belongs to the weights it was chosen for; training moves them.
  model.calciumProbability = DEFAULT_OPERATING_POINT;
  model.noiseMargin = 0;
  model.positionGate = Infinity;
  const params = model.namedParameters();
  const save = () => saveCheckpoint(dir!, model, opt, pos, o.beforeCheckpointCommit);
  model.train();
  const started = performance.now();
  let startStep = 0;
  let validationDice: number[] | undefined;
  try {
    if (resume) {
      opt.loadState(optimizerStateFor(model, resume));
      pos = resume.position;
      startStep = pos.step;
      // The weights file may lag the checkpoint by one if the last run was killed between the two.
      if (dir) await writeWeightsFile(dir, model, pos.step);
    }
    for (let step = pos.step; step < o.steps; step++) {
      model.setStep(step);
      opt.lr = learningRate(o, step);
      const batch = stepBatch(data, o, step);
      const report = tidy(() => {
        const r = batchLoss(rt, model, batch, o);
        backward(r.loss);
        return noGrad(() => concat([r.loss, r.dice]));
      });
      opt.step();
      opt.zeroGrad();
      // One readback per step: the loss, the per-class Dice and every updated parameter travel together.
      const all = noGrad(() => tidy(() => concat([report, ...params.map(([, p]) => reshape(p, [p.size]))])));
      report.dispose();
      const values = await all.readF32();
      all.dispose();
      const lossValue = values[0]!;
      const diceValues = Array.from(values.subarray(1, 1 + model.config.classes));
      const intact = dir ? `; the last good checkpoint in ${dir} is intact` : '';
      if (!Number.isFinite(lossValue)) {
        throw new NonFiniteLossError(`training stopped at step ${step + 1}: the loss is ${lossValue}. Lower the learning rate (--lr, now ${o.lr})${intact}`);
      }
      const broken = nonFiniteParameters(values, 1 + model.config.classes, params);
      if (broken) {
        throw new NonFiniteLossError(
          `training stopped at step ${step + 1}: ${broken.count} parameter values became NaN or infinite (first in '${broken.first}') although the loss was ${lossValue}. Lower the learning rate (--lr, now ${o.lr})${intact}`,
        );
      }
      pos.step = step + 1;
      pos.history.push({ step: pos.step, loss: lossValue });
      if (o.validateEvery && val.length && pos.step % o.validateEvery === 0) validationDice = await validate(rt, model, val, o);
      const stopping = o.stopAfter !== undefined && pos.step >= o.stopAfter;
      if (dir && o.checkpointEvery && (pos.step % o.checkpointEvery === 0 || pos.step === o.steps || stopping)) await save();
      const elapsed = (performance.now() - started) / 1000;
      const rate = (pos.step - startStep) / Math.max(elapsed, 1e-9);
      o.onProgress?.({ step: pos.step, steps: o.steps, loss: lossValue, dice: diceValues, stepsPerSecond: rate, etaSeconds: (o.steps - pos.step) / Math.max(rate, 1e-9), validationDice });
      if (stopping) break;
    }
  } finally {
    opt.dispose();
  }
  return { step: pos.step, history: pos.history, validationDice };
}
