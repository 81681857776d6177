/**
 * What every scoring command (infer, score, batch) shares about its input:
 * which series of a DICOM study to read, and how calcium mass is calibrated
 * (a factor, or a QRM phantom scan to measure it on).
 */
import { describeStudy } from '../io/dicom-study.js';
import { readScan, type Scan } from '../io/read-scan.js';
import { measureRodCalibration } from '../scoring/qrm-calibration.js';
import { locateQrmPhantom } from '../scoring/qrm-phantom.js';
import type { ScanReportMeta } from '../scoring/report-json.js';
import type { ScoringOptions } from '../scoring/score.js';
import { UsageError } from './run-command.js';

type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

export const MASS_OPTIONS = {
  'mass-calibration': { type: 'string' },
  'mass-zero-hu': { type: 'string' },
  'calibration-phantom': { type: 'string' },
} as const;
export const SCAN_OPTIONS = { series: { type: 'string' }, ...MASS_OPTIONS } as const;

export const MASS_HELP = [
  '  --mass-calibration F      mg HA per mm^3 per HU (default 0.001: 1 mg/cm^3 per HU); from a phantom,',
  '                            200 mg/cm^3 / (HU of its 200 mg/cm^3 rod - HU of its water rod) / 1000',
  '  --mass-zero-hu H          the HU of 0 mg HA/cm^3, the water rod (default 0)',
  '  --calibration-phantom P   measure both on a QRM phantom scan (DICOM folder or NIfTI) instead',
];
export const SCAN_HELP = [
  '  --series UID|N            the series of a DICOM study to score (default: the calcium-scoring',
  '                            series, chosen and printed with the alternatives)',
  ...MASS_HELP,
];

/** A finite number option, or undefined when absent. */
function numberOption(v: Values, name: string, check: (x: number) => boolean, what: string): number | undefined {
  const raw = v[name];
  if (raw === undefined) return undefined;
  const x = Number(raw);
  if (!Number.isFinite(x) || !check(x)) throw new UsageError(`--${name} must be ${what}, got '${String(raw)}'`);
  return x;
}

/** Reads the scan at `path` (the series asked for, or the chosen one), printing the study's series and the choice. */
export async function readScanFor(path: string, v: Values, log: (line: string) => void = console.log): Promise<Scan> {
  const scan = await readScan(path, { series: v.series as string | undefined });
  if (scan.study) for (const line of describeStudy(scan.study, path)) log(line);
  return scan;
}

/** The mass calibration from the options: a factor (and zero HU), or measured on a phantom scan; printed. */
export async function massScoring(v: Values, log: (line: string) => void = console.log): Promise<Pick<ScoringOptions, 'massCalibration' | 'massZeroHU'>> {
  // Above 0.01 mg/(mm^3 HU) is 10 mg/cm^3 per HU: no CT reads calcium that faintly; it is the factor in mg/cm^3 per HU.
  const factor = numberOption(v, 'mass-calibration', (x) => x > 0 && x <= 0.01, 'a number in (0, 0.01] mg/(mm^3 HU) (a factor in mg/cm^3 per HU, e.g. 0.72, is 0.00072 here)');
  const zero = numberOption(v, 'mass-zero-hu', (x) => Math.abs(x) < 500, 'a number of HU between -500 and 500');
  const phantom = v['calibration-phantom'] as string | undefined;
  if (phantom === undefined) return { massCalibration: factor, massZeroHU: zero };
  if (factor !== undefined || zero !== undefined) throw new UsageError('give either --calibration-phantom or --mass-calibration/--mass-zero-hu, not both');
  const ct = await readScan(phantom);
  const cal = measureRodCalibration(ct, locateQrmPhantom(ct));
  log(`mass calibration from ${phantom}: 200 mg/cm^3 rod ${cal.hu200.toFixed(1)} HU, water rod ${cal.huWater.toFixed(1)} HU -> ${cal.massCalibration.toPrecision(4)} mg/(mm^3 HU), zero ${cal.massZeroHU.toFixed(1)} HU`);
  return { massCalibration: cal.massCalibration, massZeroHU: cal.massZeroHU };
}

/** The report metadata a scan adds: its acquisition and notes (kVp, thickness, padding). */
export function scanMeta(scan: Scan): Pick<ScanReportMeta, 'acquisition' | 'notes'> {
  return { ...(Object.keys(scan.acquisition).length ? { acquisition: scan.acquisition } : {}), ...(scan.notes.length ? { notes: scan.notes } : {}) };
}

/** The scan's notes, one line each. */
export function printNotes(scan: Scan, log: (line: string) => void = console.log): void {
  for (const n of scan.notes) log(`note: ${n}`);
}
