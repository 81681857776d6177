/**
 * An evaluation broken down by what a cohort varies (pixel size, field of
 * view, noise, risk category): per bin the pooled lesion detection, so that a
 * cohort-wide number cannot hide a kind of scan the method fails on. Also the
 * false-positive lesions on calcium-free scans, which pooled PPV barely sees.
 */
import { detectionMetrics, sumCounts, type DetectionCounts, type DetectionMetrics, type ScanEvaluation } from './evaluate.js';

/** One way of binning: an attribute of each scan, and the bins' edges (a scan in [edges[i], edges[i + 1]) is in bin i). */
export interface BinSpec {
  attribute: string;
  /** How bins are printed: `${label} ${lo}-${hi}${unit}`. */
  unit: string;
  edges: number[];
}

export interface BinnedCase {
  evaluation: ScanEvaluation;
  /** The scan's value of every BinSpec attribute. */
  attributes: Record<string, number>;
}

export interface BinRow {
  attribute: string;
  bin: string;
  scans: number;
  counts: DetectionCounts;
  metrics: DetectionMetrics;
}

function binLabel(spec: BinSpec, i: number): string {
  const lo = spec.edges[i]!;
  const hi = spec.edges[i + 1]!;
  const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/0$/, ''));
  return hi - lo === 1 && Number.isInteger(lo) ? `${lo}${spec.unit}` : `${fmt(lo)}-${fmt(hi)}${spec.unit}`;
}

/** Per bin of every spec, the detection pooled over its scans (bins no scan falls in are left out). */
export function binDetection(cases: readonly BinnedCase[], specs: readonly BinSpec[]): BinRow[] {
  const rows: BinRow[] = [];
  for (const spec of specs) {
    for (let i = 0; i + 1 < spec.edges.length; i++) {
      const inBin = cases.filter((c) => {
        const v = c.attributes[spec.attribute];
        return v !== undefined && v >= spec.edges[i]! && v < spec.edges[i + 1]!;
      });
      if (inBin.length === 0) continue;
      const counts = sumCounts(inBin.map((c) => c.evaluation.counts));
      rows.push({ attribute: spec.attribute, bin: binLabel(spec, i), scans: inBin.length, counts, metrics: detectionMetrics(counts) });
    }
  }
  return rows;
}

export interface CalciumFreeSummary {
  /** Scans whose reference has no lesion. */
  scans: number;
  /** Of those, scans with no predicted lesion either. */
  clean: number;
  /** False-positive lesions on them, per scan. */
  falsePositivesPerScan: number;
}

export function calciumFreeSummary(evaluations: readonly ScanEvaluation[]): CalciumFreeSummary {
  const free = evaluations.filter((e) => e.referenceLesions.length === 0);
  const fps = free.reduce((s, e) => s + e.counts.fp, 0);
  return { scans: free.length, clean: free.filter((e) => e.counts.fp === 0).length, falsePositivesPerScan: free.length ? fps / free.length : NaN };
}
