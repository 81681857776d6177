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
import { estimateNoiseHU, noiseFloorHU } from './noise-floor.js';
import { keepLesions, labelledLesions, setAside, type LabelledLesion, type LesionChecks, type PriorFrame, type SetAside } from './lesion-filter.js';
import { boundingBox, cropAffine, cropArray, indexInBox, type VoxelBox } from '../io/crop.js';

/** The lesion checks an operating point sets (lesion-filter.ts); a field left out keeps the model's. */
export interface LesionSettings {
  noiseMargin?: number;
  positionGate?: number;
}

/** A scan on which the labels can be drawn again at another operating point. */
export interface Relabelable {
  ct: Volume;
  /** Labels at another threshold on P(calcium) and other lesion checks (default: the ones the segmentation used). */
  relabel(calciumProbability: number | readonly number[], checks?: LesionSettings): LabelMap;
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
  /** Labelled lesions the checks removed (lesion-filter.ts). */
  setAside: SetAside;
}

export async function segmentScan(rt: Runtime, model: CacNet, ct: Volume, inference: Partial<InferenceOptions> = {}): Promise<Segmentation> {
  const threshold = inference.thresholdHU ?? CALCIUM_THRESHOLD_HU;
  const settings = { noiseMargin: inference.noiseMargin ?? model.noiseMargin, positionGate: inference.positionGate ?? model.positionGate };
  // The artery prior's frame: the located heart (working grid) or the scan's centre (small grid); the gate needs it.
  const frameAt = (originMm: readonly number[]): PriorFrame | null => (model.arteryPrior ? { prior: model.arteryPrior, originMm } : null);
  const checksAt = (noiseHU: number, s: LesionSettings = {}): LesionChecks => ({
    floorHU: noiseFloorHU(threshold, s.noiseMargin ?? settings.noiseMargin, noiseHU),
    positionGate: s.positionGate ?? settings.positionGate,
  });
  const check = (labels: LabelMap, scan: Volume, noiseHU: number, frame: PriorFrame | null) => {
    const lesions = labelledLesions(labels, scan, frame);
    return { labels: keepLesions(labels, lesions, checksAt(noiseHU)), setAside: setAside(lesions, checksAt(noiseHU)) };
  };
  // Labels at a point, then the lesion checks; the last point's lesions are kept, so calibration can try many checks on them.
  const checked = (scan: Volume, noiseHU: number, frame: PriorFrame | null, draw: (p: number | readonly number[]) => LabelMap) => {
    let last: { key: string; labels: LabelMap; lesions: LabelledLesion[] } | undefined;
    return (p: number | readonly number[], s: LesionSettings = {}): LabelMap => {
      const key = String(p);
      if (last?.key !== key) {
        const labels = draw(p);
        last = { key, labels, lesions: labelledLesions(labels, scan, frame) };
      }
      return keepLesions(last.labels, last.lesions, checksAt(noiseHU, s));
    };
  };
  const noise = (noiseHU: number) => ({ noiseHU, floorHU: checksAt(noiseHU).floorHU });
  if (!model.config.workingGrid) {
    const { labels, probabilities } = await segment(rt, model, ct, inference);
    const noiseHU = estimateNoiseHU(ct);
    const frame = frameAt(centreMm(ct));
    const onGrid = (scan: Volume, probs: Float32Array[]) => ({
      ct: scan,
      relabel: checked(scan, noiseHU, frame, (p) => labelsFromProbabilities(probs, scan, threshold, p)),
    });
    return {
      ...check(labels, ct, noiseHU, frame),
      ...onGrid(ct, probabilities),
      ...noise(noiseHU),
      crop(reference, lowest) {
        const box = boundingBox(ct.dims, (v) => reference.data[v]! > 0 || (ct.data[v]! >= threshold && 1 - probabilities[0]![v]! >= lowest));
        const scan = cropVolume(ct, box);
        return { ...onGrid(scan, probabilities.map((p) => cropArray(p, ct.dims, box))), reference: cropLabels(reference, scan, box) };
      },
    };
  }
  const s = await segmentOnWorkingGrid(rt, model, ct, inference);
  // Measured inside the working grid's box: the soft tissue around the heart, where the specks would be.
  const noiseHU = estimateNoiseHU(ct, s.grid.cellOfVoxel);
  const frame = frameAt(s.heart.centreMm);
  const calcium = (c: number, lowest: number) => 1 - s.probabilities[0]![c]! >= lowest;
  return {
    ...check(s.labels, ct, noiseHU, frame),
    heart: s.heart,
    seconds: s.seconds,
    ...noise(noiseHU),
    ct,
    relabel: checked(ct, noiseHU, frame, (p) => nativeLabels(s.probabilities, s.grid, ct, threshold, p)),
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
        relabel: checked(scan, noiseHU, frame, (p) => nativeLabels(s.probabilities, cells, scan, threshold, p)),
      };
    },
  };
}

/** The patient position (mm) of a volume's centre: the small-grid network's prior frame. */
function centreMm(v: Volume): number[] {
  const a = v.affine;
  return [0, 1, 2].map((r) => a[4 * r]! * ((v.dims[0]! - 1) / 2) + a[4 * r + 1]! * ((v.dims[1]! - 1) / 2) + a[4 * r + 2]! * ((v.dims[2]! - 1) / 2) + a[4 * r + 3]!);
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
  /** Labelled lesions the checks removed (lesion-filter.ts). */
  setAside: SetAside;
}

export async function scoreCt(
  rt: Runtime,
  model: CacNet,
  ct: Volume,
  opts: { inference?: Partial<InferenceOptions>; scoring?: ScoringOptions } = {},
): Promise<ScanResult> {
  const t0 = performance.now();
  const { labels, heart, seconds, noiseHU, floorHU, setAside } = await segmentScan(rt, model, ct, { thresholdHU: opts.scoring?.thresholdHU ?? 130, ...opts.inference });
  const t1 = performance.now();
  const score = scoreScan(ct, labels, opts.scoring);
  const inferenceSeconds = (t1 - t0) / 1000;
  return { labels, score, inferenceSeconds, heart, noiseHU, floorHU, setAside, seconds: { ...(seconds ?? { network: inferenceSeconds }), scoring: (performance.now() - t1) / 1000 } };
}
