/**
 * CT in, calcium out: segmentation by the network, then artery-specific
 * scoring. Shared by the CLI and the browser app, so both give the same numbers.
 *
 * Networks trained on the working grid (NetConfig.workingGrid) run around the
 * located heart (scan-inference.ts); older ones slide over the scan's own grid
 * (infer.ts). Either way the labels come back on the input grid.
 */
import type { Runtime } from '../gpu/runtime.js';
import type { LabelMap, Volume } from '../io/volume.js';
import { scoreScan, type ScanScore, type ScoringOptions } from '../scoring/score.js';
import type { CacNet } from './cacnet.js';
import { CALCIUM_THRESHOLD_HU } from './data.js';
import type { HeartLocation } from './heart-locator.js';
import { segment, type InferenceOptions } from './infer.js';
import { segmentOnWorkingGrid } from './scan-inference.js';

export interface Segmentation {
  labels: LabelMap;
  /** Per class (background first), per voxel of the scan: what the labels were decided from. */
  voxelProbabilities(): Float32Array[];
  /** Where the heart was found (working-grid networks only). */
  heart?: HeartLocation;
  /** Seconds per phase, where measured (working-grid networks). */
  seconds?: Record<string, number>;
}

export async function segmentScan(rt: Runtime, model: CacNet, ct: Volume, inference: Partial<InferenceOptions> = {}): Promise<Segmentation> {
  if (!model.config.workingGrid) {
    const { labels, probabilities } = await segment(rt, model, ct, inference);
    return { labels, voxelProbabilities: () => probabilities };
  }
  const s = await segmentOnWorkingGrid(rt, model, ct, inference);
  const threshold = inference.thresholdHU ?? CALCIUM_THRESHOLD_HU;
  return {
    labels: s.labels,
    heart: s.heart,
    seconds: s.seconds,
    voxelProbabilities() {
      // A voxel outside the box or below the threshold is background for certain.
      const out = s.probabilities.map((_, c) => new Float32Array(ct.data.length).fill(c === 0 ? 1 : 0));
      for (let v = 0; v < ct.data.length; v++) {
        const cell = s.grid.cellOfVoxel[v]!;
        if (cell < 0 || ct.data[v]! < threshold) continue;
        for (let c = 0; c < out.length; c++) out[c]![v] = s.probabilities[c]![cell]!;
      }
      return out;
    },
  };
}

export interface ScanResult {
  labels: LabelMap;
  score: ScanScore;
  /** Seconds spent in the network. */
  inferenceSeconds: number;
  heart?: HeartLocation;
  /** Seconds per phase (the network's phases, then scoring). */
  seconds: Record<string, number>;
}

export async function scoreCt(
  rt: Runtime,
  model: CacNet,
  ct: Volume,
  opts: { inference?: Partial<InferenceOptions>; scoring?: ScoringOptions } = {},
): Promise<ScanResult> {
  const t0 = performance.now();
  const { labels, heart, seconds } = await segmentScan(rt, model, ct, { thresholdHU: opts.scoring?.thresholdHU ?? 130, ...opts.inference });
  const t1 = performance.now();
  const score = scoreScan(ct, labels, opts.scoring);
  const inferenceSeconds = (t1 - t0) / 1000;
  return { labels, score, inferenceSeconds, heart, seconds: { ...(seconds ?? { network: inferenceSeconds }), scoring: (performance.now() - t1) / 1000 } };
}
