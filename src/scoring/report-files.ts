/**
 * Writing reports to disk (Node only), atomically (temp file + rename in the
 * same folder). What they hold is built by the pure modules report-json.ts,
 * report-csv.ts and montage.ts, which the browser app uses without this file.
 */
import { writeFileAtomic } from '../io/atomic-write.js';
import type { LabelMap, Volume } from '../io/volume.js';
import type { ScanEvaluation } from './evaluate.js';
import { renderMontage, type Montage, type MontageOptions } from './montage.js';
import { cohortCsv, type CsvRow } from './report-csv.js';
import { scanReportJson, type ScanReportMeta } from './report-json.js';
import type { ScanScore } from './score.js';

/** Writes the JSON report. */
export async function writeScanReportJson(path: string, score: ScanScore, meta: ScanReportMeta, evaluation?: ScanEvaluation): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(scanReportJson(score, meta, evaluation)));
}

/** Writes the cohort CSV. */
export async function writeCohortCsv(path: string, rows: readonly CsvRow[]): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(cohortCsv(rows)));
}

/** Renders the montage and writes it. */
export async function writeMontagePng(path: string, ct: Volume, labels: LabelMap, opts: MontageOptions = {}): Promise<Montage> {
  const m = renderMontage(ct, labels, opts);
  await writeFileAtomic(path, m.png);
  return m;
}
