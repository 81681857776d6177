/**
 * The CSV of a batch run (`cacnet batch`): one row per study, scored or not:
 * per-artery and total Agatston, volume, mass and lesions, the risk category,
 * the series scored and its acquisition, and the error when the study failed.
 * Rows come from scores just computed or read back from per-study JSON reports.
 */
import type { AcquisitionInfo } from '../io/acquisition.js';
import { num, quote, scoreCells, scoreColumns, type ScoreSummary } from './report-csv.js';

export interface BatchRow {
  id: string;
  source: string;
  /** Absent when the study failed; `error` then says why. */
  score?: ScoreSummary;
  error?: string;
  acquisition?: AcquisitionInfo;
  notes?: string[];
  /** Seconds in the network. */
  seconds?: number;
}

const HEAD = ['id', 'status', 'error', 'source', 'series_uid', 'series_number', 'series_description', 'kvp', 'slice_thickness_mm', 'notes'];

export function batchCsv(rows: readonly BatchRow[]): string {
  const lines = [[...HEAD, ...scoreColumns(''), 'seconds'].join(',')];
  for (const r of rows) {
    const a = r.acquisition ?? {};
    const opt = (x: number | undefined) => (x === undefined ? '' : num(x));
    const cells = [r.id, r.error === undefined ? 'ok' : 'error', r.error ?? '', r.source, a.seriesUid ?? '', opt(a.seriesNumber), a.seriesDescription ?? '', opt(a.kvp), opt(a.sliceThicknessMm), (r.notes ?? []).join(' | ')];
    lines.push([...cells, ...scoreCells(r.score), opt(r.seconds)].map(quote).join(','));
  }
  return `${lines.join('\n')}\n`;
}
