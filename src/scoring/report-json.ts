/**
 * The per-scan JSON report: scores, lesions (without voxel lists), the
 * conventions they were computed with, and metadata, so a number in the report
 * can always be traced to how it was made.
 */

import type { AcquisitionInfo } from '../io/acquisition.js';
import type { ScanEvaluation } from './evaluate.js';
import type { Lesion, ScanScore } from './score.js';

export const SCAN_REPORT_FORMAT = 'cacnet-scan-report/1';

export interface ScanReportMeta {
  /** The scan's id (file stem, patient/series id). */
  id: string;
  /** Where the CT came from. */
  source?: string;
  dims?: [number, number, number];
  spacing?: [number, number, number];
  /** Producer and version, e.g. 'cacnet 0.1.0'. */
  software?: string;
  /** ISO time; left out unless given so reports of the same input are byte-identical. */
  createdAt?: string;
  /** The series scored and how it was acquired (DICOM). */
  acquisition?: AcquisitionInfo;
  /** Departures from the Agatston protocol (kVp, slice thickness), padding replaced: see acquisitionNotes. */
  notes?: string[];
  /** Anything else worth keeping (model checkpoint, fold, ...). */
  extra?: Record<string, unknown>;
}

export type LesionSummary = Omit<Lesion, 'voxelIndices'>;

function stripVoxels(l: Lesion): LesionSummary {
  const { voxelIndices: _dropped, ...rest } = l;
  return rest;
}

function scoreBody(s: ScanScore) {
  return {
    perArtery: s.perArtery,
    total: s.total,
    riskCategory: s.riskCategory,
    riskLabel: s.riskLabel,
    lesions: s.lesions.map(stripVoxels),
  };
}

/** The report as a plain object (what the JSON holds). */
export function scanReport(score: ScanScore, meta: ScanReportMeta, evaluation?: ScanEvaluation): Record<string, unknown> {
  const report: Record<string, unknown> = {
    format: SCAN_REPORT_FORMAT,
    meta,
    conventions: score.conventions,
    ...scoreBody(score),
  };
  if (evaluation !== undefined) {
    report.evaluation = {
      arteryAgnostic: evaluation.arteryAgnostic,
      matchingRule:
        (evaluation.arteryAgnostic ? 'artery-agnostic' : 'artery-specific') +
        ': a lesion is TP when any of its voxels lies in a lesion of the other map' +
        (evaluation.arteryAgnostic ? '' : ' assigned to the same artery'),
      counts: evaluation.counts,
      metrics: evaluation.metrics,
      perArtery: evaluation.perArtery,
      reference: scoreBody(evaluation.reference),
      referenceLesions: evaluation.referenceLesions,
      predictedLesions: evaluation.predictedLesions,
    };
  }
  return report;
}

/** The report as JSON text (NaN, e.g. an undefined sensitivity, becomes null). */
export function scanReportJson(score: ScanScore, meta: ScanReportMeta, evaluation?: ScanEvaluation): string {
  return `${JSON.stringify(scanReport(score, meta, evaluation), null, 2)}\n`;
}
