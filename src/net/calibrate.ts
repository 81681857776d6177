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
 * per artery, with the lesion checks (lesion-filter.ts: noise margin and
 * position gate) as further coordinates (see searchOperatingPoint).
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

/** Position gates tried (prior SDs from the nearest artery; lesion-filter.ts): none first, so a tie keeps every lesion. */
export const POSITION_GATES = [Infinity, 6, 5, 4.5, 4, 3.5];

/** What calibration chooses: the threshold per artery and the lesion checks. */
export interface OperatingPoint {
  /** Threshold on P(calcium) per artery (LAD, LCX, RCA). */
  point: number[];
  /** Noise SDs above 130 HU a lesion's peak must reach. */
  noiseMargin: number;
  /** Prior SDs from the nearest artery a lesion's centre may lie (Infinity: no gate). */
  positionGate: number;
}

export interface CalibrationRow extends OperatingPoint {
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

/** The values searchOperatingPoint tries for each coordinate. */
export interface SearchSpace {
  thresholds: readonly number[];
  margins: readonly number[];
  gates: readonly number[];
}

export const CALIBRATION_SPACE: SearchSpace = { thresholds: CALIBRATION_GRID, margins: NOISE_MARGINS, gates: POSITION_GATES };

/**
 * Runs the network once per scan, then judges operating points (see
 * searchOperatingPoint). Per artery because the network is not equally sure
 * of every artery's calcium: it gives the LCX lower calcium probabilities than
 * the LAD and RCA.
 */
export async function calibrateOperatingPoint(
  rt: Runtime,
  model: CacNet,
  scans: Iterable<{ id: string; ct: Volume; labels: LabelMap }>,
  space: SearchSpace = CALIBRATION_SPACE,
  onScan?: (id: string) => void,
): Promise<{ shared: CalibrationRow[]; best: CalibrationRow }> {
  const runs: Array<{ id: string; scan: Relabelable; reference: ScanScore }> = [];
  for (const scan of scans) {
    // Only the box any threshold of the grid can label is kept (a scanner-size scan is 60 MB).
    const kept = (await segmentScan(rt, model, scan.ct)).crop(scan.labels, Math.min(...space.thresholds));
    runs.push({ id: scan.id, scan: kept, reference: scoreScan(kept.ct, kept.reference) });
    onScan?.(scan.id);
  }
  const judge = (op: OperatingPoint): CalibrationRow => {
    const cases = runs.map((r) => ({ id: r.id, predicted: scoreScan(r.scan.ct, r.scan.relabel(op.point, op)), reference: r.reference }));
    const summary = summariseCohort(cases, cases.map((c) => matchScores(c.predicted, c.reference)));
    const metrics = operatingMetrics(summary);
    return { ...op, summary, metrics, weakest: Math.min(...Object.values(metrics)) };
  };
  return searchOperatingPoint(judge, space);
}

/**
 * The search calibrateOperatingPoint makes, given how to judge an operating
 * point: every threshold of the grid shared by the arteries at every noise
 * margin, without a position gate (`shared`); from the best of those (the
 * first on a tie: lowest threshold, then lowest margin), two rounds of
 * coordinate moves (the gate, the margin, then each artery's threshold), each
 * over all its values with the rest held, kept only on a strict improvement.
 * Thresholds vary in the outer loop so a scan relabels once per threshold.
 */
export function searchOperatingPoint<R extends OperatingPoint & { weakest: number }>(
  judge: (op: OperatingPoint) => R,
  space: SearchSpace,
): { shared: R[]; best: R } {
  const noGate = space.gates[0]!;
  const shared = space.thresholds.flatMap((t) => space.margins.map((m) => judge({ point: ARTERIES.map(() => t), noiseMargin: m, positionGate: noGate })));
  let best = shared.reduce((a, b) => (b.weakest > a.weakest ? b : a));
  const move = (values: readonly number[], current: (op: OperatingPoint) => number, at: (op: OperatingPoint, x: number) => OperatingPoint) => {
    // Only this coordinate moves in the sweep, so every trial varies the point it started from (already judged).
    const from: OperatingPoint = { point: best.point, noiseMargin: best.noiseMargin, positionGate: best.positionGate };
    for (const x of values) {
      if (x === current(from)) continue;
      const row = judge(at(from, x));
      if (row.weakest > best.weakest) best = row;
    }
  };
  for (let round = 0; round < 2; round++) {
    move(space.gates, (op) => op.positionGate, (op, g) => ({ ...op, positionGate: g }));
    move(space.margins, (op) => op.noiseMargin, (op, m) => ({ ...op, noiseMargin: m }));
    for (let a = 0; a < ARTERIES.length; a++) {
      move(space.thresholds, (op) => op.point[a]!, (op, t) => ({ ...op, point: op.point.map((x, k) => (k === a ? t : x)) }));
    }
  }
  return { shared, best };
}
