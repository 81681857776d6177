/** The per-bin part of an evaluation (scoring/bins.ts), as `cacnet eval` prints it. */
import { binDetection, calciumFreeSummary, type BinSpec } from '../scoring/bins.js';
import type { PhantomMeta } from '../phantom/meta.js';
import type { CohortResult } from './cohort-run.js';

/** What a phantom's evaluation is binned by (SCANNER_BINS' attributes), from its generation record. */
export function phantomAttributes(meta: PhantomMeta): Record<string, number> {
  return { pixelMm: meta.spacing[0], fovMm: meta.scanner?.fovMm ?? meta.dims[0] * meta.spacing[0], noiseHU: meta.noiseHU, risk: meta.riskCategory };
}

/** How scanner-resolution cohorts are binned (the attributes phantom cohorts carry). */
export const SCANNER_BINS: BinSpec[] = [
  { attribute: 'pixelMm', unit: ' mm pixels', edges: [0.3, 0.45, 0.6, 0.75, 0.91] },
  { attribute: 'fovMm', unit: ' mm field of view', edges: [150, 220, 260, 300, 361] },
  { attribute: 'noiseHU', unit: ' HU noise', edges: [0, 20, 30, 41] },
  { attribute: 'risk', unit: ' (risk category)', edges: [0, 1, 2, 3, 4, 5] },
];

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '  -  ');

export function printBins(results: CohortResult[], specs: BinSpec[] = SCANNER_BINS): void {
  const cases = results.filter((r) => r.attributes).map((r) => ({ evaluation: r.evaluation, attributes: r.attributes! }));
  if (cases.length === 0) return;
  console.log('\nLesion detection per bin (pooled lesions of the scans in the bin)');
  console.log(`  ${'bin'.padEnd(30)} scans   ref  found   pred    FP   sensitivity   PPV`);
  for (const row of binDetection(cases, specs)) {
    const c = row.counts;
    console.log(
      `  ${row.bin.padEnd(30)} ${String(row.scans).padStart(5)} ${String(c.tp + c.fn).padStart(5)} ${String(c.tp).padStart(6)} ${String(c.tpPredicted + c.fp).padStart(6)} ${String(c.fp).padStart(5)}   ${f3(row.metrics.sensitivity).padStart(11)}   ${f3(row.metrics.ppv)}`,
    );
  }
  const free = calciumFreeSummary(results.map((r) => r.evaluation));
  if (free.scans > 0) {
    console.log(`\nCalcium-free scans: ${free.clean} of ${free.scans} without a false-positive lesion (${((100 * free.clean) / free.scans).toFixed(0)}%); ${free.falsePositivesPerScan.toFixed(2)} false-positive lesions per scan`);
  }
  const checked = results.filter((r) => r.nonCoronaryLabelled !== undefined);
  if (checked.length > 0) {
    const hit = checked.filter((r) => r.nonCoronaryLabelled! > 0);
    console.log(`Non-coronary calcium (aortic wall, valves, annulus, cartilage): labelled in ${hit.length} of ${checked.length} scans${hit.length ? ` (${hit.map((r) => `${r.id}: ${r.nonCoronaryLabelled} voxels`).join(', ')})` : ''}`);
  }
}
