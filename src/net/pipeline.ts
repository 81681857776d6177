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
import { labelsFromProbabilities, segment, type InferenceOptions } from './infer.js';
import { segmentOnWorkingGrid } from './scan-inference.js';
import { nativeLabels, type CellIndex } from './native-labels.js';
import { dropLesionsBelow, estimateNoiseHU, noiseFloorHU } from './noise-floor.js';
import { boundingBox, cropAffine, cropArray, indexInBox, type VoxelBox } from '../io/crop.js';

/** A scan on which the labels can be drawn again at another operating point. */
export interface Relabelable {
  ct: Volume;
  /** Labels at another threshold on P(calcium) and noise margin (default: the one the segmentation used). */
  relabel(calciumProbability: number | readonly number[], noiseMargin?: number): LabelMap;
}

export interface Segmentation extends Relabelable {
  labels: LabelMap;
  /**
   * The same segmentation on the smallest box of the scan that an operating
   * point >= `lowest` (or the reference) can label, with the reference cut to
   * it: calibration keeps dozens of scanner-size scans, which would not fit in
   * memory whole.
   */
  crop(reference: LabelMap, lowest: number): Relabelable & { reference: LabelMap };
  /** Where the heart was found (working-grid networks only). */
  heart?: HeartLocation;
  /** Seconds per phase, where measured (working-grid networks). */
  seconds?: Record<string, number>;
  /** The scan's noise SD (HU) as measured for the noise floor (noise-floor.ts); NaN where it could not be. */
  noiseHU: number;
  /** The peak HU a lesion needed to be kept. */
  floorHU: number;
}

export async function segmentScan(rt: Runtime, model: CacNet, ct: Volume, inference: Partial<InferenceOptions> = {}): Promise<Segmentation> {
  const threshold = inference.thresholdHU ?? CALCIUM_THRESHOLD_HU;
  const margin = inference.noiseMargin ?? model.noiseMargin;
  // The scan's noise floor: its noise, the peak a lesion needs at `margin`, and labels kept to the lesions that reach it at margin m.
  const noiseFloor = (noiseHU: number) => ({
    noiseHU,
    floorHU: noiseFloorHU(threshold, margin, noiseHU),
    keep(labels: LabelMap, scan: Volume, m: number): LabelMap {
      const floor = noiseFloorHU(threshold, m, noiseHU);
      return floor > threshold ? dropLesionsBelow(labels, scan, floor) : labels;
    },
  });
  if (!model.config.workingGrid) {
    const { labels, probabilities } = await segment(rt, model, ct, inference);
    const { keep, ...noise } = noiseFloor(estimateNoiseHU(ct));
    const onGrid = (scan: Volume, probs: Float32Array[]) => ({
      ct: scan,
      relabel: (p: number | readonly number[], m = margin) => keep(labelsFromProbabilities(probs, scan, threshold, p), scan, m),
    });
    return {
      labels: keep(labels, ct, margin),
      ...onGrid(ct, probabilities),
      ...noise,
      crop(reference, lowest) {
        const box = boundingBox(ct.dims, (v) => reference.data[v]! > 0 || (ct.data[v]! >= threshold && 1 - probabilities[0]![v]! >= lowest));
        const scan = cropVolume(ct, box);
        return { ...onGrid(scan, probabilities.map((p) => cropArray(p, ct.dims, box))), reference: cropLabels(reference, scan, box) };
      },
    };
  }
  const s = await segmentOnWorkingGrid(rt, model, ct, inference);
  // Measured inside the working grid's box: the soft tissue around the heart, where the specks would be.
  const { keep, ...noise } = noiseFloor(estimateNoiseHU(ct, s.grid.cellOfVoxel));
  const calcium = (c: number, lowest: number) => 1 - s.probabilities[0]![c]! >= lowest;
  const relabel = (p: number | readonly number[], m = margin) => keep(nativeLabels(s.probabilities, s.grid, ct, threshold, p), ct, m);
  return {
    labels: keep(s.labels, ct, margin),
    heart: s.heart,
    seconds: s.seconds,
    ...noise,
    ct,
    relabel,
    crop(reference, lowest) {
      // Voxels any point >= lowest can label: >= threshold in a cell that is, or neighbours, a cell that calcium at `lowest`.
      const near = new Set<number>();
      const [gx, gy, gz] = s.grid.dims;
      for (let c = 0; c < s.probabilities[0]!.length; c++) {
        if (!calcium(c, lowest)) continue;
        const x = c % gx, y = Math.floor(c / gx) % gy, z = Math.floor(c / (gx * gy));
        for (let dz = -1; dz <= 1; dz++) for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
          if (x + dx >= 0 && y + dy >= 0 && z + dz >= 0 && x + dx < gx && y + dy < gy && z + dz < gz) near.add(c + dx + gx * (dy + gy * dz));
        }
      }
      const box = boundingBox(ct.dims, (v) => reference.data[v]! > 0 || (ct.data[v]! >= threshold && near.has(s.grid.cellOfVoxel[v]!)));
      const scan = cropVolume(ct, box);
      const cells: CellIndex = {
        dims: s.grid.dims,
        cellOfVoxel: cropArray(s.grid.cellOfVoxel, ct.dims, box),
        maxVoxel: s.grid.maxVoxel.map((v) => (v < 0 ? -1 : indexInBox(v, ct.dims, box))),
      };
      return {
        ct: scan,
        reference: cropLabels(reference, scan, box),
        relabel: (p, m = margin) => keep(nativeLabels(s.probabilities, cells, scan, threshold, p), scan, m),
      };
    },
  };
}

/** A label map cut to the box `scan` was cut to. */
function cropLabels(labels: LabelMap, scan: Volume, box: VoxelBox): LabelMap {
  return { ...labels, data: cropArray(labels.data, labels.dims, box), dims: [...scan.dims], affine: [...scan.affine] };
}

/** The part of a volume inside a box. */
function cropVolume<V extends Volume>(v: V, box: VoxelBox): V {
  return { ...v, data: cropArray(v.data, v.dims, box), dims: [...box.size], affine: cropAffine(v.affine, box) };
}

export interface ScanResult {
  labels: LabelMap;
  score: ScanScore;
  /** Seconds spent in the network. */
  inferenceSeconds: number;
  heart?: HeartLocation;
  /** Seconds per phase (the network's phases, then scoring). */
  seconds: Record<string, number>;
  /** The scan's noise SD (HU) and the peak a lesion needed (noise-floor.ts). */
  noiseHU: number;
  floorHU: number;
}

export async function scoreCt(
  rt: Runtime,
  model: CacNet,
  ct: Volume,
  opts: { inference?: Partial<InferenceOptions>; scoring?: ScoringOptions } = {},
): Promise<ScanResult> {
  const t0 = performance.now();
  const { labels, heart, seconds, noiseHU, floorHU } = await segmentScan(rt, model, ct, { thresholdHU: opts.scoring?.thresholdHU ?? 130, ...opts.inference });
  const t1 = performance.now();
  const score = scoreScan(ct, labels, opts.scoring);
  const inferenceSeconds = (t1 - t0) / 1000;
  return { labels, score, inferenceSeconds, heart, noiseHU, floorHU, seconds: { ...(seconds ?? { network: inferenceSeconds }), scoring: (performance.now() - t1) / 1000 } };
}
