/**
 * Whole-scan inference: the network runs on overlapping windows, their softmax
 * probabilities are blended with weights that fall off towards the window edges
 * (so seams do not show).
 *
 * Output labels follow the paper's annotation standard: a voxel is calcium only
 * if it is >= 130 HU, so the predicted artery is kept only on such voxels.
 * A candidate is calcium when its calcium probability, 1 − P(background),
 * reaches the model's operating point (0.5 unless calibrated), and takes the
 * most probable artery; when the model carries a spatial artery prior, that
 * prior names the artery (artery-prior.ts).
 */
import { CacnetError, GpuLimitError } from '../base/errors.js';
import type { Runtime } from '../gpu/runtime.js';
import { tidy } from '../gpu/scope.js';
import { Tensor } from '../gpu/tensor.js';
import { noGrad } from '../autograd/tape.js';
import { softmax } from '../autograd/softmax.js';
import type { LabelMap, Volume } from '../io/volume.js';
import { sizeMultiple, type NetConfig } from './config.js';
import type { CacNet } from './cacnet.js';
import { CALCIUM_THRESHOLD_HU, cropChannels, normaliseHu, type Box } from './data.js';
import { applyArteryPrior } from './artery-prior.js';

export interface InferenceOptions {
  /** Window [d, h, w] in voxels; rounded to what the network's poolings need. */
  window: [number, number, number];
  /** Fraction of a window shared with its neighbour along each axis (0 to < 1). */
  overlap: number;
  /** Calcium threshold (HU) applied to the output labels. */
  thresholdHU: number;
  /** Name the arteries with the model's spatial prior when it has one (artery-prior.ts). */
  arteryPrior: boolean;
  /** A candidate is calcium when 1 − P(background) reaches this, one value or one per artery (default: the model's calibrated ones). */
  calciumProbability?: number | readonly number[];
  /** Noise SDs above the threshold a lesion's peak must reach (default: the model's calibrated margin; noise-floor.ts). */
  noiseMargin?: number;
  /** Prior SDs from the nearest artery a lesion's centre may lie (default: the model's calibrated gate; lesion-filter.ts). */
  positionGate?: number;
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_INFERENCE: InferenceOptions = { window: [16, 64, 64], overlap: 0.25, thresholdHU: CALCIUM_THRESHOLD_HU, arteryPrior: true };

/** Window start positions covering n voxels with windows of `size`. */
export function windowStarts(n: number, size: number, overlap: number): number[] {
  if (n <= size) return [Math.floor((n - size) / 2)];
  const stride = Math.max(1, Math.floor(size * (1 - overlap)));
  const starts: number[] = [];
  for (let s = 0; s + size < n; s += stride) starts.push(s);
  starts.push(n - size);
  return [...new Set(starts)];
}

/** Blending weight along one axis: a tent that never reaches zero. */
function tent(size: number): Float32Array {
  return Float32Array.from({ length: size }, (_, i) => 1 - Math.abs((i + 0.5) / size - 0.5) * 1.8);
}

function roundUp(v: number, m: number): number {
  return Math.ceil(v / m) * m;
}

/** Float bytes the biggest activation of a window (or training patch) needs, roughly; used to keep under the binding limit. */
export function activationBytes(c: NetConfig, voxels: number): number {
  const widest = Math.max(3 * c.inputChannels2d + c.denseBlocks.reduce((a, b) => a + b, 0) * c.growthRate, c.baseChannels3d * 2);
  return voxels * widest * 4;
}

/** A working window [d, h, w] for a grid of `dims` [nx, ny, nz]: the requested one, never larger than the grid, shrunk in-plane until it fits the device. */
function fitWindow(rt: Runtime, model: CacNet, dims: readonly number[], want: readonly number[]): [number, number, number] {
  const m = sizeMultiple(model.config);
  const [nx, ny, nz] = dims as [number, number, number];
  let win: [number, number, number] = [
    roundUp(Math.min(want[0]!, nz), m.depth),
    roundUp(Math.min(want[1]!, ny), m.plane),
    roundUp(Math.min(want[2]!, nx), m.plane),
  ];
  const bytes = (b: readonly number[]) => activationBytes(model.config, b[0]! * b[1]! * b[2]!);
  // Deep windows (the working grid's) get shallower first, down to the 16 slices native windows start at.
  while (bytes(win) > rt.maxStorageBinding && win[0] > Math.max(16, m.depth)) win = [Math.max(16, roundUp(win[0] / 2, m.depth)), win[1], win[2]];
  while (bytes(win) > rt.maxStorageBinding && win[1] > m.plane) {
    win = [win[0], Math.max(m.plane, roundUp(win[1] / 2, m.plane)), Math.max(m.plane, roundUp(win[2] / 2, m.plane))];
  }
  while (bytes(win) > rt.maxStorageBinding && win[0] > m.depth) win = [Math.max(m.depth, roundUp(win[0] / 2, m.depth)), win[1], win[2]];
  if (bytes(win) > rt.maxStorageBinding) {
    throw new GpuLimitError(`this scan does not fit the device: even a ${win.join('x')} window exceeds the ${rt.maxStorageBinding} byte binding limit`);
  }
  return win;
}

/**
 * Per-class probabilities over a whole grid: the network on overlapping
 * windows, blended with tent weights. `x` holds `channels` values per voxel
 * (channels fastest, then x, y, z); windows skip nothing, so every voxel gets
 * a probability.
 */
export async function predictGrid(
  rt: Runtime,
  model: CacNet,
  x: Float32Array,
  channels: number,
  dims: readonly number[],
  o: Pick<InferenceOptions, 'window' | 'overlap' | 'onProgress'>,
): Promise<Float32Array[]> {
  const [nx, ny, nz] = dims as [number, number, number];
  const win = fitWindow(rt, model, dims, o.window);
  const classes = model.config.classes;
  const n = nx * ny * nz;
  const probSum = Array.from({ length: classes }, () => new Float32Array(n));
  const weightSum = new Float32Array(n);
  const [wz, wy, wx] = [tent(win[0]), tent(win[1]), tent(win[2])];
  const boxes: Box[] = [];
  for (const z of windowStarts(nz, win[0], o.overlap))
    for (const y of windowStarts(ny, win[1], o.overlap))
      for (const xs of windowStarts(nx, win[2], o.overlap)) boxes.push({ z, y, x: xs, d: win[0], h: win[1], w: win[2] });

  model.eval();
  let done = 0;
  for (const box of boxes) {
    const patch = cropChannels(x, channels, dims, box);
    const probs = noGrad(() => tidy(() => softmax(model.forward(Tensor.from(rt, patch, [1, box.d, box.h, box.w, channels])).logits)));
    const p = await probs.readF32();
    probs.dispose();
    for (let k = 0; k < box.d; k++) {
      const z = box.z + k;
      if (z < 0 || z >= nz) continue;
      for (let j = 0; j < box.h; j++) {
        const y = box.y + j;
        if (y < 0 || y >= ny) continue;
        for (let i = 0; i < box.w; i++) {
          const xi = box.x + i;
          if (xi < 0 || xi >= nx) continue;
          const w = wz[k]! * wy[j]! * wx[i]!;
          const v = xi + nx * (y + ny * z);
          const src = ((k * box.h + j) * box.w + i) * classes;
          weightSum[v] += w;
          for (let c = 0; c < classes; c++) probSum[c]![v] += w * p[src + c]!;
        }
      }
    }
    o.onProgress?.(++done, boxes.length);
  }
  let broken = 0;
  for (let v = 0; v < n; v++) {
    const inv = 1 / weightSum[v]!;
    for (let c = 0; c < classes; c++) {
      const p = (probSum[c]![v]! *= inv);
      if (!(p >= -1e-5 && p <= 1 + 1e-5)) broken++; // float32 blending may overshoot by an ulp
    }
  }
  // A NaN probability compares false everywhere and would silently score as background (or as calcium).
  if (broken) throw new CacnetError(`the network gave ${broken} probabilities that are NaN or outside [0, 1] on this scan (of ${n * classes}); its weights or the device are faulty`);
  return probSum;
}

export async function segment(rt: Runtime, model: CacNet, ct: Volume, opts: Partial<InferenceOptions> = {}): Promise<{ labels: LabelMap; probabilities: Float32Array[] }> {
  const o = { ...DEFAULT_INFERENCE, ...opts };
  const probSum = await predictGrid(rt, model, normaliseHu(ct.data, model.config.huWindow), 1, ct.dims, o);
  if (model.arteryPrior && o.arteryPrior) applyArteryPrior(probSum, ct.dims, ct.affine, model.arteryPrior, (v) => ct.data[v]! >= o.thresholdHU);
  return { labels: labelsFromProbabilities(probSum, ct, o.thresholdHU, o.calciumProbability ?? model.calciumProbability), probabilities: probSum };
}

/**
 * Labels from per-class probabilities (background first): a voxel >= thresholdHU
 * takes its most probable artery when its calcium probability 1 − P(background)
 * reaches `calciumProbability` (one value, or one per artery: that artery's);
 * every other voxel is background.
 */
export function labelsFromProbabilities(probabilities: Float32Array[], ct: Volume, thresholdHU: number, calciumProbability: number | readonly number[]): LabelMap {
  const labels = new Uint8Array(ct.data.length);
  const decide = calciumDecision(probabilities, calciumProbability);
  for (let v = 0; v < labels.length; v++) if (ct.data[v]! >= thresholdHU) labels[v] = decide(v);
  return { data: labels, dims: [...ct.dims], spacing: [...ct.spacing], affine: [...ct.affine] };
}

/**
 * The label of element v of per-class probabilities (background first): its
 * most probable artery when its calcium probability 1 − P(background) reaches
 * the operating point (one value, or one per artery: that artery's), else 0.
 */
export function calciumDecision(probabilities: Float32Array[], calciumProbability: number | readonly number[]): (v: number) => number {
  const point = typeof calciumProbability === 'number' ? probabilities.slice(1).map(() => calciumProbability) : calciumProbability;
  return (v) => {
    let best = 1;
    for (let c = 2; c < probabilities.length; c++) if (probabilities[c]![v]! > probabilities[best]![v]!) best = c;
    return 1 - probabilities[0]![v]! >= point[best - 1]! ? best : 0;
  };
}
