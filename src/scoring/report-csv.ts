/**
 * The per-cohort CSV: one row per scan with per-artery and total scores and the
 * risk category, plus the same columns for the reference when any scan has one.
 * Plain RFC 4180 CSV (comma, double-quote escaping) so spreadsheets and R read it.
 */

import { ARTERIES } from '../io/volume.js';
import type { ArteryScore, ScanScore } from './score.js';

/** What a CSV row needs of a score (a ScanScore, or one read back from a JSON report). */
export type ScoreSummary = Pick<ScanScore, 'perArtery' | 'total' | 'riskCategory' | 'riskLabel'>;

export interface CsvRow {
  id: string;
  score: ScanScore;
  reference?: ScanScore;
}

const SCOPES = [...ARTERIES, 'total'] as const;
const FIELDS = [
  ['agatston', 'agatston'],
  ['volume_mm3', 'volumeMm3'],
  ['mass_mg', 'massMg'],
  ['lesions', 'lesionCount'],
] as const;

export function scoreColumns(prefix: string): string[] {
  const cols: string[] = [];
  for (const s of SCOPES) for (const [name] of FIELDS) cols.push(`${prefix}${s}_${name}`);
  cols.push(`${prefix}risk_category`, `${prefix}risk_label`);
  return cols;
}

/** Numbers to 4 decimals without trailing zeros: enough for mm^3 and mg, free of float noise. */
export function num(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toFixed(4))) : '';
}

export function quote(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
}

export function scoreCells(s: ScoreSummary | undefined): string[] {
  if (s === undefined) return new Array<string>(SCOPES.length * FIELDS.length + 2).fill('');
  const cells: string[] = [];
  for (const scope of SCOPES) {
    const a: ArteryScore = scope === 'total' ? s.total : s.perArtery[scope];
    for (const [, key] of FIELDS) cells.push(num(a[key]));
  }
  cells.push(String(s.riskCategory), s.riskLabel);
  return cells;
}

/** The CSV text; reference columns (prefixed ref_) appear when any row has a reference. */
export function cohortCsv(rows: readonly CsvRow[]): string {
  const withRef = rows.some((r) => r.reference !== undefined);
  const header = ['id', ...scoreColumns(''), ...(withRef ? scoreColumns('ref_') : [])];
  const lines = [header.join(',')];
  for (const r of rows) {
    const cells = [r.id, ...scoreCells(r.score), ...(withRef ? scoreCells(r.reference) : [])];
    lines.push(cells.map(quote).join(','));
  }
  return `${lines.join('\n')}\n`;
}
