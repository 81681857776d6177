import { describe, expect, it } from 'vitest';
import { InputError } from '../src/base/errors.js';
import { scalingAffine, type LabelMap, type Volume } from '../src/io/volume.js';
import { densityWeight } from '../src/scoring/agatston.js';
import { connectedComponents } from '../src/scoring/lesions.js';
import { riskCategory, riskLabel } from '../src/scoring/risk.js';
import { scoreScan } from '../src/scoring/score.js';

/** A scan of soft tissue (40 HU, with a little texture) and an empty label map. */
function makeScan(dims: [number, number, number], spacing: [number, number, number]) {
  const n = dims[0] * dims[1] * dims[2];
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = 40 + (i % 7) - 3; // 37..43 HU, never all zero
  const ct: Volume = { data, dims, spacing, affine: scalingAffine(spacing), source: 'hand-built' };
  const labels: LabelMap = { data: new Uint8Array(n), dims, spacing, affine: scalingAffine(spacing) };
  const at = (i: number, j: number, k: number) => i + dims[0] * (j + dims[1] * k);
  /** Sets HU and label of voxel (i, j, k). */
  const put = (i: number, j: number, k: number, hu: number, label: number) => {
    ct.data[at(i, j, k)] = hu;
    labels.data[at(i, j, k)] = label;
  };
  return { ct, labels, put, at };
}

describe('density weight', () => {
  it('follows the 1990 bands at their edges', () => {
    expect([129.9, 130, 199.9, 200, 299, 300, 399.5, 400, 1500].map(densityWeight)).toEqual([
      0, 1, 1, 2, 2, 3, 3, 4, 4,
    ]);
  });
});

describe('connected components', () => {
  it('separates corner-touching voxels under 6-connectivity and joins them under 26', () => {
    const mask = new Uint8Array(27);
    mask[0] = 1; // (0,0,0)
    mask[13] = 1; // (1,1,1): shares only a corner with (0,0,0)
    mask[26] = 1; // (2,2,2)
    expect(connectedComponents(mask, [3, 3, 3], 6).voxels.length).toBe(3);
    const c26 = connectedComponents(mask, [3, 3, 3], 26);
    expect(c26.voxels.length).toBe(1);
    expect([...c26.voxels[0]!]).toEqual([0, 13, 26]);
  });
});

describe('scoreScan on a hand-built scan (0.5 x 0.5 x 2.5 mm)', () => {
  // Pixel area 0.25 mm^2, voxel volume 0.625 mm^3, thickness factor 2.5 / 3.
  const build = () => {
    const s = makeScan([8, 8, 4], [0.5, 0.5, 2.5]);
    const { put } = s;
    // Lesion A, LAD, slices 0 and 1. One voxel is labelled LCX: majority stays LAD (5 vs 1).
    put(1, 1, 0, 150, 1);
    put(2, 1, 0, 180, 1);
    put(1, 2, 0, 250, 1);
    put(2, 2, 0, 160, 2);
    put(1, 1, 1, 420, 1);
    put(2, 1, 1, 310, 1);
    // Next to lesion A but not part of it: bone outside the arteries, and a labelled voxel below 130 HU.
    put(3, 1, 0, 700, 0);
    put(1, 3, 0, 129, 1);
    // Lesion B, RCA, slices 2 and 3.
    put(5, 5, 2, 135, 3);
    put(6, 5, 2, 199, 3);
    put(5, 5, 3, 300, 3);
    // Lesion C, LCX, 2 voxels = 1.25 mm^3 <= 1.5 mm^3: dropped.
    put(6, 1, 0, 500, 2);
    put(6, 2, 0, 500, 2);
    // Lesion D, 2 voxels LCX + 2 voxels RCA: a tie goes to the lower label, LCX.
    put(1, 5, 3, 200, 2);
    put(2, 5, 3, 200, 3);
    put(1, 6, 3, 200, 3);
    put(2, 6, 3, 200, 2);
    return s;
  };

  const f = 2.5 / 3;
  // A: slice 0 has 4 voxels (1 mm^2), peak 250 -> weight 2; slice 1 has 2 voxels (0.5 mm^2), peak 420 -> 4.
  const agA = (1 * 2 + 0.5 * 4) * f;
  const volA = 6 * 0.625;
  const massA = volA * ((150 + 180 + 250 + 160 + 420 + 310) / 6) * 0.001;
  // B: slice 2 has 0.5 mm^2, peak 199 -> 1; slice 3 has 0.25 mm^2, peak 300 -> 3.
  const agB = (0.5 * 1 + 0.25 * 3) * f;
  const volB = 3 * 0.625;
  const massB = volB * ((135 + 199 + 300) / 3) * 0.001;
  // D: one slice, 1 mm^2, peak 200 -> 2.
  const agD = 1 * 2 * f;
  const volD = 4 * 0.625;
  const massD = volD * 200 * 0.001;

  it('scores Agatston, volume and mass per artery as computed by hand', () => {
    const { ct, labels } = build();
    const s = scoreScan(ct, labels);
    expect(s.perArtery.LAD.agatston).toBeCloseTo(agA, 10);
    expect(s.perArtery.LAD.volumeMm3).toBeCloseTo(volA, 10);
    expect(s.perArtery.LAD.massMg).toBeCloseTo(massA, 6);
    expect(s.perArtery.LAD.lesionCount).toBe(1);
    expect(s.perArtery.LCX).toEqual({
      agatston: expect.closeTo(agD, 10),
      volumeMm3: expect.closeTo(volD, 10),
      massMg: expect.closeTo(massD, 10),
      lesionCount: 1,
    });
    expect(s.perArtery.RCA.agatston).toBeCloseTo(agB, 10);
    expect(s.perArtery.RCA.volumeMm3).toBeCloseTo(volB, 10);
    expect(s.perArtery.RCA.massMg).toBeCloseTo(massB, 6);
    expect(s.total.agatston).toBeCloseTo(agA + agB + agD, 10);
    expect(s.total.volumeMm3).toBeCloseTo(volA + volB + volD, 10);
    expect(s.total.lesionCount).toBe(3);
    // 3.33 + 1.04 + 1.67 = 6.04 -> category 1 (1-10).
    expect(s.riskCategory).toBe(1);
    expect(s.riskLabel).toBe('1-10 (minimal)');
  });

  it('reports lesions with peak, mean, centroid and the conventions used', () => {
    const { ct, labels, at } = build();
    const s = scoreScan(ct, labels);
    expect(s.lesions.map((l) => l.artery)).toEqual(['LAD', 'RCA', 'LCX']);
    const a = s.lesions[0]!;
    expect(a.voxels).toBe(6);
    expect(a.peakHU).toBe(420);
    expect(a.meanHU).toBeCloseTo(245, 10);
    expect([...a.voxelIndices]).toEqual(
      [at(1, 1, 0), at(2, 1, 0), at(1, 2, 0), at(2, 2, 0), at(1, 1, 1), at(2, 1, 1)].sort((x, y) => x - y),
    );
    // Mean index (1.5, 1.333, 0.333) times spacing.
    expect(a.centroidMm[0]).toBeCloseTo(0.75, 10);
    expect(a.centroidMm[1]).toBeCloseTo((4 / 3) * 0.5, 10);
    expect(a.centroidMm[2]).toBeCloseTo((1 / 3) * 2.5, 10);
    expect(s.conventions).toMatchObject({
      thresholdHU: 130,
      connectivity: 6,
      minLesionVolumeMm3: 1.5,
      massCalibration: 0.001,
      preset: 'orcascore',
    });
    expect(s.conventions.sliceThicknessNormalisation).toBe('area x weight x (dz / 3 mm), dz = 2.5 mm');
  });

  it('keeps the small lesion once the minimum volume is lowered, and scales mass with the calibration', () => {
    const { ct, labels } = build();
    const s = scoreScan(ct, labels, { minLesionVolumeMm3: 1.0, massCalibration: 0.002 });
    // C: 0.5 mm^2 at 500 HU -> weight 4.
    expect(s.perArtery.LCX.lesionCount).toBe(2);
    expect(s.perArtery.LCX.agatston).toBeCloseTo(agD + 0.5 * 4 * f, 10);
    expect(s.perArtery.LAD.massMg).toBeCloseTo(2 * massA, 6);
  });

  it('measures mass from the zero HU of a water-equivalent rod, not from 0 HU', () => {
    const { ct, labels } = build();
    // Two-point calibration: 0 mg HA/cm^3 reads 34 HU, c = 0.0007 mg/(mm^3 HU). Lesion A: 6 voxels of 0.625 mm^3.
    const s = scoreScan(ct, labels, { massCalibration: 0.0007, massZeroHU: 34 });
    expect(s.perArtery.LAD.massMg).toBeCloseTo(3.75 * ((150 + 180 + 250 + 160 + 420 + 310) / 6 - 34) * 0.0007, 10);
    expect(s.conventions.massZeroHU).toBe(34);
    expect(() => scoreScan(ct, labels, { massZeroHU: Number.NaN })).toThrow(/massZeroHU must be finite/);
  });

  it('moves lesions with the threshold', () => {
    const { ct, labels } = build();
    // At 200 HU only (5,5,3) = 300 HU remains of B: 0.625 mm^3, dropped.
    const s = scoreScan(ct, labels, { thresholdHU: 200 });
    expect(s.perArtery.RCA.lesionCount).toBe(0);
    // A keeps 250, 420, 310: (1,2,0) is not face-adjacent to (1,1,1)/(2,1,1) -> split, both too small.
    expect(s.perArtery.LAD.lesionCount).toBe(0);
    expect(s.perArtery.LCX.lesionCount).toBe(1);
  });
});

describe('6- versus 26-connectivity (1 mm isotropic, 3 mm slices)', () => {
  const build = () => {
    const s = makeScan([6, 6, 3], [1, 1, 3]);
    // P: 2x2 block at 150 HU; Q: 2x2 block at 450 HU touching P at one corner, same slice.
    for (const [i, j] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) s.put(i, j, 1, 150, 1);
    for (const [i, j] of [[2, 2], [3, 2], [2, 3], [3, 3]] as const) s.put(i, j, 1, 450, 1);
    return s;
  };

  it('counts two lesions under 6-connectivity, weighted separately', () => {
    const { ct, labels } = build();
    const s = scoreScan(ct, labels);
    expect(s.total.lesionCount).toBe(2);
    // 4 mm^2 x 1 + 4 mm^2 x 4, factor 3/3.
    expect(s.total.agatston).toBeCloseTo(20, 10);
    expect(s.total.volumeMm3).toBeCloseTo(24, 10);
  });

  it('counts one lesion under 26-connectivity, weighted by the joint peak', () => {
    const { ct, labels } = build();
    const s = scoreScan(ct, labels, { connectivity: 26 });
    expect(s.total.lesionCount).toBe(1);
    // 8 mm^2 x 4.
    expect(s.total.agatston).toBeCloseTo(32, 10);
    expect(s.total.volumeMm3).toBeCloseTo(24, 10);
  });

  it('applies presets, with explicit options winning', () => {
    const { ct, labels } = build();
    expect(scoreScan(ct, labels, { preset: 'siemens' }).total.lesionCount).toBe(1);
    expect(scoreScan(ct, labels, { preset: 'siemens', connectivity: 6 }).total.lesionCount).toBe(2);
    expect(scoreScan(ct, labels, { preset: 'orcascore' }).total.lesionCount).toBe(2);
    expect(() => scoreScan(ct, labels, { preset: 'acme' })).toThrow(/unknown scoring preset 'acme'/);
  });

  it('drops a lesion of exactly the minimum volume (strictly greater is kept)', () => {
    const s = makeScan([4, 4, 2], [0.5, 0.5, 3]); // 0.75 mm^3 voxels
    s.put(1, 1, 0, 300, 2);
    s.put(2, 1, 0, 300, 2); // 2 x 0.75 = 1.5 mm^3: dropped
    s.put(0, 3, 1, 300, 3);
    s.put(1, 3, 1, 300, 3);
    s.put(2, 3, 1, 300, 3); // 2.25 mm^3: kept
    const r = scoreScan(s.ct, s.labels);
    expect(r.total.lesionCount).toBe(1);
    expect(r.lesions[0]!.artery).toBe('RCA');
    expect(r.lesions[0]!.volumeMm3).toBeCloseTo(2.25, 10);
  });
});

describe('risk categories', () => {
  it('uses 0 | 1-10 | 11-100 | 101-400 | >400 by default and accepts other thresholds', () => {
    expect([0, 0.5, 10, 10.5, 100, 101, 400, 400.1, 2000].map((s) => riskCategory(s))).toEqual([
      0, 1, 1, 2, 2, 3, 3, 4, 4,
    ]);
    expect(riskLabel(4)).toBe('>400 (severe)');
    expect(riskLabel(0)).toBe('0 (none)');
    expect(riskCategory(150, [0, 100, 300])).toBe(2);
    expect(riskLabel(2, [0, 100, 300])).toBe('101-300');
    expect(() => riskCategory(5, [10, 5])).toThrow(InputError);
  });
});

describe('bad input', () => {
  it('rejects mismatched dims between CT and labels', () => {
    const { ct } = makeScan([4, 4, 2], [1, 1, 1]);
    const other = makeScan([4, 4, 3], [1, 1, 1]).labels;
    expect(() => scoreScan(ct, other)).toThrow(InputError);
    expect(() => scoreScan(ct, other)).toThrow(/dims \[4, 4, 3\] do not match CT dims \[4, 4, 2\]/);
  });

  it('rejects labels outside 0..3', () => {
    const { ct, labels, put } = makeScan([4, 4, 2], [1, 1, 1]);
    put(2, 3, 1, 300, 4);
    expect(() => scoreScan(ct, labels)).toThrow(InputError);
    expect(() => scoreScan(ct, labels)).toThrow(/labels outside 0\.\.3.*first: 4 at voxel \(2, 3, 1\)/);
  });

  it('rejects NaN in the CT', () => {
    const { ct, labels, put } = makeScan([4, 4, 2], [1, 1, 1]);
    put(1, 0, 1, Number.NaN, 0);
    expect(() => scoreScan(ct, labels)).toThrow(InputError);
    expect(() => scoreScan(ct, labels)).toThrow(/non-finite value \(NaN\) at voxel \(1, 0, 1\)/);
  });

  it('rejects data that does not fill the grid, and bad options', () => {
    const { ct, labels } = makeScan([4, 4, 2], [1, 1, 1]);
    expect(() => scoreScan({ ...ct, data: ct.data.subarray(1) }, labels)).toThrow(/has 31 values/);
    expect(() => scoreScan(ct, labels, { minLesionVolumeMm3: -1 })).toThrow(InputError);
    expect(() => scoreScan(ct, labels, { massCalibration: 0 })).toThrow(InputError);
  });
});
