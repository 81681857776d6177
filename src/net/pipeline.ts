/**
 * CT in, calcium out: segmentation by the network, then artery-specific
 * scoring. Shared by the CLI and the browser app, so both give the same numbers.
 */
import type { Runtime } from '../gpu/runtime.js';
import type { LabelMap, Volume } from '../io/volume.js';
import { scoreScan, type ScanScore, type ScoringOptions } from '../scoring/score.js';
import type { CacNet } from './cacnet.js';
import { segment, type InferenceOptions } from './infer.js';

export interface ScanResult {
  labels: LabelMap;
  score: ScanScore;
  /** Seconds spent in the network. */
  inferenceSeconds: number;
}

export async function scoreCt(
  rt: Runtime,
  model: CacNet,
  ct: Volume,
  opts: { inference?: Partial<InferenceOptions>; scoring?: ScoringOptions } = {},
): Promise<ScanResult> {
  const t0 = performance.now();
  const { labels } = await segment(rt, model, ct, { thresholdHU: opts.scoring?.thresholdHU ?? 130, ...opts.inference });
  const inferenceSeconds = (performance.now() - t0) / 1000;
  return { labels, score: scoreScan(ct, labels, opts.scoring), inferenceSeconds };
}
