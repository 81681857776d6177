import { describe, expect, it } from 'vitest';
import { binDetection, calciumFreeSummary } from '../src/scoring/bins.js';
import { emptyCounts, type DetectionCounts, type ScanEvaluation } from '../src/scoring/evaluate.js';

/** An evaluation with the given lesion counts (only what the binning reads). */
function evaluation(c: Partial<DetectionCounts>, referenceLesions: number): ScanEvaluation {
  const counts = { ...emptyCounts(), ...c };
  return { counts, referenceLesions: Array.from({ length: referenceLesions }, (_, id) => ({ id, artery: 'LAD', volumeMm3: 1, matches: [] })) } as unknown as ScanEvaluation;
}

describe('evaluation per bin', () => {
  const cases = [
    { evaluation: evaluation({ tp: 3, fn: 1, tpPredicted: 3, fp: 1 }, 4), attributes: { pixelMm: 0.35, noiseHU: 12 } },
    { evaluation: evaluation({ tp: 1, fn: 0, tpPredicted: 1, fp: 0 }, 1), attributes: { pixelMm: 0.4, noiseHU: 35 } },
    { evaluation: evaluation({ fp: 2 }, 0), attributes: { pixelMm: 0.8, noiseHU: 35 } },
    { evaluation: evaluation({}, 0), attributes: { pixelMm: 0.9, noiseHU: 20 } },
  ];
  const specs = [
    { attribute: 'pixelMm', unit: ' mm', edges: [0.3, 0.5, 0.91] },
    { attribute: 'noiseHU', unit: ' HU', edges: [10, 20, 30, 41] },
  ];

  it('pools the lesions of the scans in each bin (hand-counted)', () => {
    const rows = binDetection(cases, specs);
    expect(rows.map((r) => [r.bin, r.scans])).toEqual([
      ['0.3-0.5 mm', 2],
      ['0.5-0.91 mm', 2],
      ['10-20 HU', 1],
      ['20-30 HU', 1],
      ['30-41 HU', 2],
    ]);
    // 0.3-0.5 mm: 4 of 5 reference lesions found; 4 of 5 predicted lesions true.
    expect(rows[0]!.metrics.sensitivity).toBeCloseTo(0.8, 12);
    expect(rows[0]!.metrics.ppv).toBeCloseTo(0.8, 12);
    // 0.5-0.91 mm: no reference lesion (sensitivity undefined), 2 false positives.
    expect(rows[1]!.metrics.sensitivity).toBeNaN();
    expect(rows[1]!.metrics.ppv).toBe(0);
    // 30-41 HU: scans 2 and 3: 1 of 1 found, 1 of 3 predicted true.
    expect(rows[4]!.metrics.ppv).toBeCloseTo(1 / 3, 12);
  });

  it('counts false positives on calcium-free scans', () => {
    const s = calciumFreeSummary(cases.map((c) => c.evaluation));
    expect(s).toEqual({ scans: 2, clean: 1, falsePositivesPerScan: 1 });
  });
});
