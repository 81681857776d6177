/**
 * Whole-scan inference on the working grid, for networks trained on it
 * (NetConfig.workingGrid): locate the heart, bin the scan onto the grid
 * around it (mean and max HU per cell), run the network there, and draw the
 * lesions on the scan's own voxels from the cells it calls calcium
 * (native-labels.ts).
 *
 * Compute goes only where coronary calcium can be: a fixed box around the
 * heart, at 2 x 2 x 3 mm, whatever the scan's own grid (a 512 x 512 x 60 scan
 * at 0.4 mm is 15.7 M voxels; its working grid is 0.4 M cells).
 */
import type { Runtime } from '../gpu/runtime.js';
import type { LabelMap, Volume } from '../io/volume.js';
import type { CacNet } from './cacnet.js';
import { normaliseHu } from './data.js';
import { locateHeart, type HeartLocation } from './heart-locator.js';
import { applyArteryPrior } from './artery-prior.js';
import { DEFAULT_INFERENCE, predictGrid, type InferenceOptions } from './infer.js';
import { nativeLabels } from './native-labels.js';
import { buildWorkingGrid, type WorkingGrid } from './working-grid.js';

/** The network's input on a working grid: normalised mean and max HU, interleaved per cell (channels last). */
export function workingGridInput(grid: WorkingGrid, window: { lo: number; hi: number }): Float32Array {
  const mean = normaliseHu(grid.mean, window);
  const max = normaliseHu(grid.max, window);
  const x = new Float32Array(mean.length * 2);
  for (let c = 0; c < mean.length; c++) {
    x[2 * c] = mean[c]!;
    x[2 * c + 1] = max[c]!;
  }
  return x;
}

/** Where the working grid's centre cell lies relative to the located heart (mm): the artery prior's frame is the heart. */
export function gridOffsetFromHeart(grid: WorkingGrid): [number, number, number] {
  const a = grid.affine;
  const centre = [0, 1, 2].map((r) => a[4 * r]! * ((grid.dims[0] - 1) / 2) + a[4 * r + 1]! * ((grid.dims[1] - 1) / 2) + a[4 * r + 2]! * ((grid.dims[2] - 1) / 2) + a[4 * r + 3]!);
  return [centre[0]! - grid.centreMm[0], centre[1]! - grid.centreMm[1], centre[2]! - grid.centreMm[2]];
}

export interface ScanSegmentation {
  labels: LabelMap;
  /** Per class (background first), per working-grid cell. */
  probabilities: Float32Array[];
  grid: WorkingGrid;
  heart: HeartLocation;
  /** Seconds per phase (locate, bin, network, labels): where the time went. */
  seconds: Record<string, number>;
}

export async function segmentOnWorkingGrid(rt: Runtime, model: CacNet, ct: Volume, opts: Partial<InferenceOptions> = {}): Promise<ScanSegmentation> {
  const spec = model.config.workingGrid;
  if (!spec) throw new Error('segmentOnWorkingGrid needs a network trained on the working grid');
  const o = { ...DEFAULT_INFERENCE, window: [64, spec.planeCells, spec.planeCells] as [number, number, number], ...opts };
  const seconds: Record<string, number> = {};
  let t = performance.now();
  const lap = (phase: string) => {
    const now = performance.now();
    seconds[phase] = (now - t) / 1000;
    t = now;
  };
  const heart = locateHeart(ct);
  lap('locate heart');
  const grid = buildWorkingGrid(ct, heart.centreMm, spec);
  const input = workingGridInput(grid, model.config.huWindow);
  lap('working grid');
  const probabilities = await predictGrid(rt, model, input, 2, grid.dims, o);
  lap('network');
  if (model.arteryPrior && o.arteryPrior) {
    applyArteryPrior(probabilities, grid.dims, grid.affine, model.arteryPrior, (c) => grid.max[c]! >= o.thresholdHU, gridOffsetFromHeart(grid));
  }
  const point = o.calciumProbability ?? model.calciumProbability;
  const labels = nativeLabels(probabilities, grid, ct, o.thresholdHU, point);
  lap('labels');
  return { labels, probabilities, grid, heart, seconds };
}
