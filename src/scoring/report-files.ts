/**
 * Reports as files (Node only): their bytes for a set written together with
 * writeFilesAtomic, or each written alone, atomically (temp file + rename in
 * the same folder). What they hold is built by the pure modules
 * report-json.ts, report-csv.ts and montage.ts, which the browser app uses
 * without this file.
 */
import { writeFileAtomic, type OutputFile } from '../io/atomic-write.js';
import type { LabelMap, Volume } from '../io/volume.js';
import type { ScanEvaluation } from './evaluate.js';
import { renderMontage, type Montage, type MontageOptions } from './montage.js';
import { cohortCsv, type CsvRow } from './report-csv.js';
import { scanReportJson, type ScanReportMeta } from './report-json.js';
import type { ScanScore } from './score.js';

/** The JSON report as a file. */
export function scanReportFile(path: string, score: ScanScore, meta: ScanReportMeta, evaluation?: ScanEvaluation): OutputFile {
  return { path, bytes: new TextEncoder().encode(scanReportJson(score, meta, evaluation)) };
}

/** Writes the JSON report. */
export async function writeScanReportJson(path: string, score: ScanScore, meta: ScanReportMeta, evaluation?: ScanEvaluation): Promise<void> {
  const f = scanReportFile(path, score, meta, evaluation);
  await writeFileAtomic(f.path, f.bytes);
}

/** Writes the cohort CSV. */
export async function writeCohortCsv(path: string, rows: readonly CsvRow[]): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(cohortCsv(rows)));
}

/** The montage as a PNG file. */
export function montageFile(path: string, ct: Volume, labels: LabelMap, opts: MontageOptions = {}): OutputFile {
  return { path, bytes: renderMontage(ct, labels, opts).png };
}

/** Renders the montage and writes it. */
export async function writeMontagePng(path: string, ct: Volume, labels: LabelMap, opts: MontageOptions = {}): Promise<Montage> {
  const m = renderMontage(ct, labels, opts);
  await writeFileAtomic(path, m.png);
  return m;
}
