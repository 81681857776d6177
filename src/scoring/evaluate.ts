/**
 * Per-lesion detection performance of a predicted label map against a
 * reference (orCaScore framework, as the paper reports it).
 *
 * Both maps are scored with the same options, so "lesion" means the same
 * thing on both sides. Matching rule (artery-specific, the default):
 *
 * - a reference lesion of artery A is a true positive (TP) when at least one
 *   of its voxels belongs to a predicted lesion assigned to A; otherwise it is
 *   a false negative (FN);
 * - a predicted lesion of artery A is a true positive when at least one of its
 *   voxels belongs to a reference lesion assigned to A; otherwise it is a false
 *   positive (FP).
 *
 * So calcium found in the wrong artery counts twice: FN on the reference side
 * and FP on the predicted side. `arteryAgnostic: true` drops the artery
 * condition (plain calcium detection). A lesion's artery is its majority-vote
 * artery from scoreScan, the same one its scores are reported under.
 *
 * Sensitivity and PPV by number count lesions on each side (reference TP / all
 * reference; predicted TP / all predicted), so one predicted lesion covering
 * two reference lesions makes both reference lesions TP. By volume they weigh
 * each lesion by its volume. F1 is the harmonic mean of sensitivity and PPV.
 */

import { ARTERIES, type Artery, type LabelMap, type Volume } from '../io/volume.js';
import { scoreScan, type Lesion, type ScanScore, type ScoringOptions } from './score.js';
import { checkLabels } from './validate.js';

export interface EvaluateOptions extends ScoringOptions {
  /** Ignore arteries when matching (default false: artery-specific). */
  arteryAgnostic?: boolean;
}

/** Raw counts; they add up across scans (orCaScore pools lesions over the cohort). */
export interface DetectionCounts {
  /** Reference lesions detected, and their volume. */
  tp: number;
  tpVolumeMm3: number;
  /** Reference lesions missed, and their volume. */
  fn: number;
  fnVolumeMm3: number;
  /** Predicted lesions that hit reference calcium, and their volume. */
  tpPredicted: number;
  tpPredictedVolumeMm3: number;
  /** Predicted lesions that hit no reference calcium, and their volume. */
  fp: number;
  fpVolumeMm3: number;
}

/** Ratios of DetectionCounts; NaN where the denominator is 0 (e.g. no reference calcium). */
export interface DetectionMetrics {
  sensitivity: number;
  ppv: number;
  f1: number;
  sensitivityVolume: number;
  ppvVolume: number;
  f1Volume: number;
}

export interface LesionMatch {
  /** Lesion id on its own side. */
  id: number;
  artery: Artery;
  volumeMm3: number;
  /** Ids of the lesions on the other side it overlaps (and, artery-specific, shares the artery with). */
  matches: number[];
}

export interface ScanEvaluation {
  predicted: ScanScore;
  reference: ScanScore;
  arteryAgnostic: boolean;
  counts: DetectionCounts;
  metrics: DetectionMetrics;
  /** Counts by artery: reference lesions under their artery, predicted lesions under theirs. */
  perArtery: Record<Artery, { counts: DetectionCounts; metrics: DetectionMetrics }>;
  referenceLesions: LesionMatch[];
  predictedLesions: LesionMatch[];
}

export function emptyCounts(): DetectionCounts {
  return { tp: 0, tpVolumeMm3: 0, fn: 0, fnVolumeMm3: 0, tpPredicted: 0, tpPredictedVolumeMm3: 0, fp: 0, fpVolumeMm3: 0 };
}

/** Element-wise sum of counts (cohort pooling). */
export function sumCounts(all: readonly DetectionCounts[]): DetectionCounts {
  const s = emptyCounts();
  for (const c of all) for (const key of Object.keys(s) as (keyof DetectionCounts)[]) s[key] += c[key];
  return s;
}

const ratio = (num: number, den: number): number => (den > 0 ? num / den : Number.NaN);
const harmonic = (a: number, b: number): number => (a + b > 0 ? (2 * a * b) / (a + b) : Number.NaN);

export function detectionMetrics(c: DetectionCounts): DetectionMetrics {
  const sensitivity = ratio(c.tp, c.tp + c.fn);
  const ppv = ratio(c.tpPredicted, c.tpPredicted + c.fp);
  const sensitivityVolume = ratio(c.tpVolumeMm3, c.tpVolumeMm3 + c.fnVolumeMm3);
  const ppvVolume = ratio(c.tpPredictedVolumeMm3, c.tpPredictedVolumeMm3 + c.fpVolumeMm3);
  return {
    sensitivity,
    ppv,
    f1: harmonic(sensitivity, ppv),
    sensitivityVolume,
    ppvVolume,
    f1Volume: harmonic(sensitivityVolume, ppvVolume),
  };
}

/** For each lesion of `side`, the ids of `other`'s lesions it overlaps under the rule. */
function overlaps(side: readonly Lesion[], other: readonly Lesion[], arteryAgnostic: boolean): LesionMatch[] {
  // Lesion voxels are sparse: a map from voxel index to lesion beats a full-volume array.
  const owner = new Map<number, Lesion>();
  for (const l of other) for (const v of l.voxelIndices) owner.set(v, l);
  return side.map((l) => {
    const hit = new Set<number>();
    for (const v of l.voxelIndices) {
      const o = owner.get(v);
      if (o !== undefined && (arteryAgnostic || o.artery === l.artery)) hit.add(o.id);
    }
    return { id: l.id, artery: l.artery, volumeMm3: l.volumeMm3, matches: [...hit].sort((a, b) => a - b) };
  });
}

/** Detection performance of two already-scored maps of the same scan (scored with the same options). */
export function matchScores(predicted: ScanScore, reference: ScanScore, arteryAgnostic = false): ScanEvaluation {
  const referenceLesions = overlaps(reference.lesions, predicted.lesions, arteryAgnostic);
  const predictedLesions = overlaps(predicted.lesions, reference.lesions, arteryAgnostic);
  const byArtery = { LAD: emptyCounts(), LCX: emptyCounts(), RCA: emptyCounts() };
  for (const m of referenceLesions) {
    const c = byArtery[m.artery];
    if (m.matches.length > 0) {
      c.tp++;
      c.tpVolumeMm3 += m.volumeMm3;
    } else {
      c.fn++;
      c.fnVolumeMm3 += m.volumeMm3;
    }
  }
  for (const m of predictedLesions) {
    const c = byArtery[m.artery];
    if (m.matches.length > 0) {
      c.tpPredicted++;
      c.tpPredictedVolumeMm3 += m.volumeMm3;
    } else {
      c.fp++;
      c.fpVolumeMm3 += m.volumeMm3;
    }
  }
  const counts = sumCounts(ARTERIES.map((a) => byArtery[a]));
  const perArtery = {} as ScanEvaluation['perArtery'];
  for (const a of ARTERIES) perArtery[a] = { counts: byArtery[a], metrics: detectionMetrics(byArtery[a]) };
  return {
    predicted,
    reference,
    arteryAgnostic,
    counts,
    metrics: detectionMetrics(counts),
    perArtery,
    referenceLesions,
    predictedLesions,
  };
}

/** Scores both label maps on `ct` with the same options and matches their lesions. */
export function evaluateScan(
  ct: Volume,
  predicted: LabelMap,
  reference: LabelMap,
  opts: EvaluateOptions = {},
): ScanEvaluation {
  const { arteryAgnostic = false, ...scoring } = opts;
  // Checked here first so a bad map is named in the message.
  checkLabels(ct, predicted, 'predicted label map');
  checkLabels(ct, reference, 'reference label map');
  return matchScores(scoreScan(ct, predicted, scoring), scoreScan(ct, reference, scoring), arteryAgnostic);
}
