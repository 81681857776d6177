/**
 * Cohort-level agreement between automatic and reference scores, the numbers
 * of the paper's Tables 1 and 2: ICC(A,1) of Agatston and volume per artery and
 * per patient (total), Bland-Altman limits, linearly weighted kappa on risk
 * categories, and pooled lesion detection.
 */

import { InputError } from '../base/errors.js';
import { ARTERIES, type Artery } from '../io/volume.js';
import { detectionMetrics, sumCounts, type DetectionCounts, type DetectionMetrics, type ScanEvaluation } from './evaluate.js';
import type { ScanScore } from './score.js';
import { blandAltman, confusionTable, iccAgreement, weightedKappaFromTable, type BlandAltman, type IccEstimate } from './stats.js';

export interface CohortCase {
  id: string;
  predicted: ScanScore;
  reference: ScanScore;
}

export type Scope = Artery | 'total';
export const SCOPES: readonly Scope[] = [...ARTERIES, 'total'];

export interface Agreement {
  icc: IccEstimate;
  blandAltman: BlandAltman;
}

export interface CohortSummary {
  n: number;
  /** Per artery and per patient ('total'). */
  agatston: Record<Scope, Agreement>;
  volume: Record<Scope, Agreement>;
  risk: {
    /** Linearly weighted kappa on the categories of the total Agatston score. */
    kappa: number;
    /** Fraction of scans in the same category. */
    agreement: number;
    /** Rows: reference category, columns: predicted. */
    confusion: number[][];
  };
  /** Lesions pooled over all scans, when evaluations were given. */
  detection?: {
    counts: DetectionCounts;
    metrics: DetectionMetrics;
    perArtery: Record<Artery, { counts: DetectionCounts; metrics: DetectionMetrics }>;
  };
}

function pick(c: CohortCase, side: 'predicted' | 'reference', scope: Scope): ScanScore['total'] {
  return scope === 'total' ? c[side].total : c[side].perArtery[scope];
}

function agreement(cases: readonly CohortCase[], scope: Scope, key: 'agatston' | 'volumeMm3'): Agreement {
  const method = cases.map((c) => pick(c, 'predicted', scope)[key]);
  const reference = cases.map((c) => pick(c, 'reference', scope)[key]);
  return { icc: iccAgreement(method, reference), blandAltman: blandAltman(method, reference) };
}

/**
 * Summarises a cohort of at least 2 scans. Pass `evaluations` (same scans, any
 * order) to add pooled detection performance.
 */
export function summariseCohort(
  cases: readonly CohortCase[],
  evaluations?: readonly ScanEvaluation[],
): CohortSummary {
  if (cases.length < 2) throw new InputError(`a cohort summary needs at least 2 scans, got ${cases.length}`);
  const thresholds = cases[0]!.reference.conventions.riskThresholds;
  for (const c of cases) {
    for (const side of [c.predicted, c.reference]) {
      if (side.conventions.riskThresholds.join() !== thresholds.join()) {
        throw new InputError(`scan ${c.id}: risk thresholds differ within the cohort; score all scans alike`);
      }
    }
  }
  const k = thresholds.length + 1;
  const confusion = confusionTable(
    cases.map((c) => c.reference.riskCategory),
    cases.map((c) => c.predicted.riskCategory),
    k,
  );
  const same = confusion.reduce((s, row, i) => s + row[i]!, 0);

  const agatston = {} as Record<Scope, Agreement>;
  const volume = {} as Record<Scope, Agreement>;
  for (const s of SCOPES) {
    agatston[s] = agreement(cases, s, 'agatston');
    volume[s] = agreement(cases, s, 'volumeMm3');
  }

  const summary: CohortSummary = {
    n: cases.length,
    agatston,
    volume,
    risk: { kappa: weightedKappaFromTable(confusion, 'linear'), agreement: same / cases.length, confusion },
  };
  if (evaluations !== undefined && evaluations.length > 0) {
    const counts = sumCounts(evaluations.map((e) => e.counts));
    const perArtery = {} as Record<Artery, { counts: DetectionCounts; metrics: DetectionMetrics }>;
    for (const a of ARTERIES) {
      const c = sumCounts(evaluations.map((e) => e.perArtery[a].counts));
      perArtery[a] = { counts: c, metrics: detectionMetrics(c) };
    }
    summary.detection = { counts, metrics: detectionMetrics(counts), perArtery };
  }
  return summary;
}
