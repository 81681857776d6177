/**
 * Choosing the inference operating point on validation scans.
 *
 * The balanced cross-entropy trains the network as if calcium were as common
 * as everything else >= 130 HU, so its calcium probability runs high: on
 * held-out phantoms most false positives had P(calcium) above 0.7. The
 * operating point is a threshold on P(calcium) = 1 − P(background); this picks
 * it on phantoms apart from training and evaluation, as the one whose weakest
 * metric among the paper's (lesion F1 by number and by volume, Agatston ICC
 * per patient and per artery) is best, the lowest threshold on a tie; then
 * per artery (see calibrateOperatingPoint). The noise margin (noise-floor.ts)
 * is chosen with the shared threshold, and the arteries tuned at it.
 */
import type { Runtime } from '../gpu/runtime.js';
import type { LabelMap, Volume } from '../io/volume.js';
import { ARTERIES } from '../io/volume.js';
import { summariseCohort, type CohortSummary } from '../scoring/cohort.js';
import { matchScores } from '../scoring/evaluate.js';
import { scoreScan, type ScanScore } from '../scoring/score.js';
import type { CacNet } from './cacnet.js';
import { segmentScan, type Relabelable } from './pipeline.js';

/** Thresholds tried: finer towards 1, where a confident network's probabilities crowd. */
export const CALIBRATION_GRID = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995];

/** Noise margins tried (noise SDs above 130 HU a lesion's peak must reach; noise-floor.ts): 0 first, so a tie keeps every lesion. */
export const NOISE_MARGINS = [0, 1, 1.5, 2, 2.5, 3];

export interface CalibrationRow {
  /** Threshold per artery (LAD, LCX, RCA). */
  point: number[];
  /** Noise SDs above 130 HU a lesion's peak must reach. */
  noiseMargin: number;
  summary: CohortSummary;
  /** The metrics compared, by name, and the weakest of them. */
  metrics: Record<string, number>;
  weakest: number;
}

/** The metrics the operating point is judged on (NaN, e.g. an ICC without variance, counts as 0). */
export function operatingMetrics(s: CohortSummary): Record<string, number> {
  const m = s.detection!.metrics;
  const out: Record<string, number> = { 'F1 by number': m.f1, 'F1 by volume': m.f1Volume, 'ICC patient': s.agatston.total.icc.value };
  for (const a of ARTERIES) out[`ICC ${a}`] = s.agatston[a].icc.value;
  for (const k of Object.keys(out)) if (!Number.isFinite(out[k])) out[k] = 0;
  return out;
}

/**
 * Runs the network once per scan, then judges operating points: first one
 * threshold shared by the arteries (every value of the grid: `shared`), then,
 * from the best of those, each artery's own threshold in turn over the grid
 * with the others held (two rounds), kept only when the weakest metric
 * improves. Per artery because the network is not equally sure of every
 * artery's calcium: the LCX, which it never learned to name, gets lower
 * calcium probabilities than the LAD and RCA.
 */
export async function calibrateOperatingPoint(
  rt: Runtime,
  model: CacNet,
  scans: Iterable<{ id: string; ct: Volume; labels: LabelMap }>,
  grid: readonly number[] = CALIBRATION_GRID,
  onScan?: (id: string) => void,
  margins: readonly number[] = NOISE_MARGINS,
): Promise<{ shared: CalibrationRow[]; best: CalibrationRow }> {
  const runs: Array<{ id: string; scan: Relabelable; reference: ScanScore }> = [];
  for (const scan of scans) {
    // Only the box any threshold of the grid can label is kept (a scanner-size scan is 60 MB).
    const kept = (await segmentScan(rt, model, scan.ct)).crop(scan.labels, Math.min(...grid));
    runs.push({ id: scan.id, scan: kept, reference: scoreScan(kept.ct, kept.reference) });
    onScan?.(scan.id);
  }
  const judge = (point: number[], noiseMargin: number): CalibrationRow => {
    const cases = runs.map((r) => ({ id: r.id, predicted: scoreScan(r.scan.ct, r.scan.relabel(point, noiseMargin)), reference: r.reference }));
    const summary = summariseCohort(cases, cases.map((c) => matchScores(c.predicted, c.reference)));
    const metrics = operatingMetrics(summary);
    return { point, noiseMargin, summary, metrics, weakest: Math.min(...Object.values(metrics)) };
  };
  return searchOperatingPoint(judge, grid, margins);
}

/**
 * The search calibrateOperatingPoint makes, given how to judge a point (per
 * artery thresholds) at a noise margin: every shared threshold of the grid at
 * every margin, the best of them (the lowest margin, then the lowest threshold,
 * on a tie), then at that margin two rounds over the arteries of each one's own
 * threshold with the others held, kept only on a strict improvement.
 */
export function searchOperatingPoint<R extends { point: number[]; weakest: number }>(
  judge: (point: number[], noiseMargin: number) => R,
  grid: readonly number[],
  margins: readonly number[] = [0],
): { shared: Array<R & { noiseMargin: number }>; best: R & { noiseMargin: number } } {
  const at = (point: number[], noiseMargin: number) => ({ ...judge(point, noiseMargin), noiseMargin });
  const shared = margins.flatMap((m) => grid.map((t) => at(ARTERIES.map(() => t), m)));
  let best = shared.reduce((a, b) => (b.weakest > a.weakest ? b : a));
  const margin = best.noiseMargin;
  for (let round = 0; round < 2; round++) {
    for (let a = 0; a < ARTERIES.length; a++) {
      // Only artery a moves in this sweep, so every trial varies the point it started from (already judged).
      const from = best.point;
      for (const t of grid) {
        if (t === from[a]) continue;
        const row = at(from.map((x, k) => (k === a ? t : x)), margin);
        if (row.weakest > best.weakest) best = row;
      }
    }
  }
  return { shared, best };
}
