/**
 * Choosing the inference operating point on validation scans.
 *
 * The balanced cross-entropy trains the network as if calcium were as common
 * as everything else >= 130 HU, so its calcium probability runs high: on
 * held-out phantoms most false positives had P(calcium) above 0.7. The
 * operating point is a threshold on P(calcium) = 1 − P(background); this picks
 * it on phantoms apart from training and evaluation, as the one whose weakest
 * metric among the paper's (lesion F1 by number and by volume, Agatston ICC
 * per patient and per artery) is best, the lowest threshold on a tie.
 */
import type { Runtime } from '../gpu/runtime.js';
import type { LabelMap, Volume } from '../io/volume.js';
import { ARTERIES } from '../io/volume.js';
import { summariseCohort, type CohortSummary } from '../scoring/cohort.js';
import { matchScores, type ScanEvaluation } from '../scoring/evaluate.js';
import { scoreScan, type ScanScore } from '../scoring/score.js';
import type { CacNet } from './cacnet.js';
import { CALCIUM_THRESHOLD_HU } from './data.js';
import { labelsFromProbabilities, segment } from './infer.js';

/** Thresholds tried: 0.50, 0.55, ..., 0.95. */
export const CALIBRATION_GRID = Array.from({ length: 10 }, (_, i) => +(0.5 + 0.05 * i).toFixed(2));

export interface CalibrationRow {
  calciumProbability: number;
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

/** Runs the network once per scan and scores every threshold of the grid; returns the rows and the chosen one. */
export async function calibrateOperatingPoint(
  rt: Runtime,
  model: CacNet,
  scans: Iterable<{ id: string; ct: Volume; labels: LabelMap }>,
  grid: readonly number[] = CALIBRATION_GRID,
  onScan?: (id: string) => void,
): Promise<{ rows: CalibrationRow[]; best: CalibrationRow }> {
  const cases = grid.map(() => [] as Array<{ id: string; predicted: ScanScore; reference: ScanScore }>);
  const evaluations = grid.map(() => [] as ScanEvaluation[]);
  for (const scan of scans) {
    const { probabilities } = await segment(rt, model, scan.ct);
    const reference = scoreScan(scan.ct, scan.labels);
    grid.forEach((t, g) => {
      const predicted = scoreScan(scan.ct, labelsFromProbabilities(probabilities, scan.ct, CALCIUM_THRESHOLD_HU, t));
      cases[g]!.push({ id: scan.id, predicted, reference });
      evaluations[g]!.push(matchScores(predicted, reference));
    });
    onScan?.(scan.id);
  }
  const rows = grid.map((t, g) => {
    const summary = summariseCohort(cases[g]!, evaluations[g]!);
    const metrics = operatingMetrics(summary);
    return { calciumProbability: t, summary, metrics, weakest: Math.min(...Object.values(metrics)) };
  });
  const best = rows.reduce((a, b) => (b.weakest > a.weakest ? b : a));
  return { rows, best };
}
