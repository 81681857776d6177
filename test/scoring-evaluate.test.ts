import { describe, expect, it } from 'vitest';
import { InputError } from '../src/base/errors.js';
import { scalingAffine, type LabelMap, type Volume } from '../src/io/volume.js';
import { summariseCohort, type CohortCase } from '../src/scoring/cohort.js';
import { evaluateScan } from '../src/scoring/evaluate.js';
import { riskStratifiedFolds, stratifiedFolds } from '../src/scoring/folds.js';
import type { ArteryScore, ScanScore } from '../src/scoring/score.js';
import { iccAgreement, weightedKappa } from '../src/scoring/stats.js';

/** A 10 x 10 x 3 scan of 1 mm voxels (1 mm^3: lesions need 2+ voxels), with reference and predicted maps. */
function makeCase() {
  const dims: [number, number, number] = [10, 10, 3];
  const spacing: [number, number, number] = [1, 1, 1];
  const n = 300;
  const data = new Float32Array(n).map((_, i) => 30 + (i % 5));
  const ct: Volume = { data, dims, spacing, affine: scalingAffine(spacing), source: 'evaluate' };
  const map = (): LabelMap => ({ data: new Uint8Array(n), dims, spacing, affine: scalingAffine(spacing) });
  const reference = map();
  const predicted = map();
  const at = (i: number, j: number, k: number) => i + 10 * (j + 10 * k);
  const put = (m: LabelMap, hu: number, label: number, voxels: Array<[number, number, number]>) => {
    for (const [i, j, k] of voxels) {
      ct.data[at(i, j, k)] = hu;
      m.data[at(i, j, k)] = label;
    }
  };
  // R1, LAD, 3 mm^3; P1 (LAD, 3 mm^3) overlaps it on two voxels and runs one voxel further.
  put(reference, 300, 1, [[1, 1, 0], [2, 1, 0], [3, 1, 0]]);
  put(predicted, 300, 1, [[2, 1, 0], [3, 1, 0], [4, 1, 0]]);
  // R2, LAD, 4 mm^3: missed.
  put(reference, 250, 1, [[1, 5, 0], [2, 5, 0], [1, 6, 0], [2, 6, 0]]);
  // R3, RCA, 2 mm^3; predicted as LCX (P2): right place, wrong artery.
  put(reference, 400, 3, [[7, 7, 1], [8, 7, 1]]);
  put(predicted, 400, 2, [[7, 7, 1], [8, 7, 1]]);
  // P3, RCA, 2 mm^3: no reference calcium there.
  put(predicted, 200, 3, [[5, 8, 2], [6, 8, 2]]);
  return { ct, reference, predicted };
}

const f1 = (a: number, b: number) => (2 * a * b) / (a + b);

describe('per-lesion evaluation', () => {
  it('counts TP, FN and FP artery-specifically (wrong artery = FN + FP)', () => {
    const { ct, reference, predicted } = makeCase();
    const e = evaluateScan(ct, predicted, reference);
    expect(e.counts).toEqual({
      tp: 1, tpVolumeMm3: 3, fn: 2, fnVolumeMm3: 6,
      tpPredicted: 1, tpPredictedVolumeMm3: 3, fp: 2, fpVolumeMm3: 4,
    });
    expect(e.metrics.sensitivity).toBeCloseTo(1 / 3, 12);
    expect(e.metrics.ppv).toBeCloseTo(1 / 3, 12);
    expect(e.metrics.f1).toBeCloseTo(1 / 3, 12);
    expect(e.metrics.sensitivityVolume).toBeCloseTo(3 / 9, 12);
    expect(e.metrics.ppvVolume).toBeCloseTo(3 / 7, 12);
    expect(e.metrics.f1Volume).toBeCloseTo(f1(3 / 9, 3 / 7), 12);
    expect(e.perArtery.LAD.counts).toMatchObject({ tp: 1, fn: 1, tpPredicted: 1, fp: 0 });
    expect(e.perArtery.LCX.counts).toMatchObject({ tp: 0, fn: 0, tpPredicted: 0, fp: 1 });
    expect(e.perArtery.RCA.counts).toMatchObject({ tp: 0, fn: 1, tpPredicted: 0, fp: 1 });
    expect(Number.isNaN(e.perArtery.LCX.metrics.sensitivity)).toBe(true); // no LCX reference calcium
    expect(e.referenceLesions.map((l) => l.matches)).toEqual([[1], [], []]);
  });

  it('matches across arteries when asked to be artery-agnostic', () => {
    const { ct, reference, predicted } = makeCase();
    const e = evaluateScan(ct, predicted, reference, { arteryAgnostic: true });
    expect(e.counts).toMatchObject({ tp: 2, fn: 1, tpPredicted: 2, fp: 1 });
    expect(e.metrics.sensitivity).toBeCloseTo(2 / 3, 12);
    expect(e.metrics.sensitivityVolume).toBeCloseTo(5 / 9, 12);
    expect(e.metrics.ppvVolume).toBeCloseTo(5 / 7, 12);
  });

  it('makes both reference lesions TP when one predicted lesion bridges them', () => {
    const { ct, reference, predicted } = makeCase();
    // Bridge R1 and R2 with a predicted LAD column at x = 1, y = 1..6.
    for (let j = 1; j <= 6; j++) {
      ct.data[1 + 10 * j] = Math.max(ct.data[1 + 10 * j]!, 300);
      predicted.data[1 + 10 * j] = 1;
    }
    const e = evaluateScan(ct, predicted, reference);
    expect(e.perArtery.LAD.counts).toMatchObject({ tp: 2, fn: 0, tpPredicted: 1, fp: 0 });
  });

  it('names the bad map', () => {
    const { ct, reference } = makeCase();
    const wrong: LabelMap = { ...reference, dims: [10, 10, 2], data: new Uint8Array(200) };
    expect(() => evaluateScan(ct, wrong, reference)).toThrow(InputError);
    expect(() => evaluateScan(ct, wrong, reference)).toThrow(/predicted label map dims/);
  });
});

/** A score with given per-artery Agatston (volume = 0.8 x Agatston, for variety) and risk category. */
function fakeScore(lad: number, lcx: number, rca: number): ScanScore {
  const a = (ag: number): ArteryScore => ({ agatston: ag, volumeMm3: 0.8 * ag + 1, massMg: 0.2 * ag, lesionCount: ag > 0 ? 1 : 0 });
  const total = lad + lcx + rca;
  const riskCategory = [0, 10, 100, 400].filter((t) => total > t).length;
  return {
    perArtery: { LAD: a(lad), LCX: a(lcx), RCA: a(rca) },
    total: { ...a(total), lesionCount: 3 },
    riskCategory,
    riskLabel: String(riskCategory),
    lesions: [],
    conventions: {
      thresholdHU: 130, connectivity: 6, minLesionVolumeMm3: 1.5, sliceThicknessNormalisation: 'x',
      massCalibration: 0.001, massZeroHU: 0, riskThresholds: [0, 10, 100, 400], preset: 'orcascore',
    },
  };
}

describe('cohort summary', () => {
  it('reports ICC(A,1) per artery and per patient, Bland-Altman and risk kappa', () => {
    const ref = [[0, 0, 0], [5, 2, 1], [40, 10, 20], [150, 30, 90], [500, 80, 200], [20, 0, 4]];
    const pred = [[0, 0, 2], [6, 1, 1], [35, 14, 18], [160, 20, 100], [480, 90, 190], [25, 0, 0]];
    const cases: CohortCase[] = ref.map((r, i) => ({
      id: `s${i}`,
      reference: fakeScore(r[0]!, r[1]!, r[2]!),
      predicted: fakeScore(pred[i]![0]!, pred[i]![1]!, pred[i]![2]!),
    }));
    const s = summariseCohort(cases);
    expect(s.n).toBe(6);
    expect(s.agatston.LAD.icc.value).toBeCloseTo(iccAgreement(pred.map((p) => p[0]!), ref.map((r) => r[0]!)).value, 12);
    const totals = (m: number[][]) => m.map((r) => r[0]! + r[1]! + r[2]!);
    expect(s.agatston.total.icc.value).toBeCloseTo(iccAgreement(totals(pred), totals(ref)).value, 12);
    expect(s.agatston.total.icc.value).toBeGreaterThan(0.99);
    expect(s.volume.RCA.blandAltman.bias).toBeCloseTo(0.8 * ((2 + 0 - 2 + 10 - 10 - 4) / 6), 12);
    const refCat = cases.map((c) => c.reference.riskCategory);
    const predCat = cases.map((c) => c.predicted.riskCategory);
    expect(s.risk.kappa).toBeCloseTo(weightedKappa(refCat, predCat, 5), 12);
    expect(s.risk.agreement).toBeCloseTo(refCat.filter((c, i) => c === predCat[i]).length / 6, 12);
    expect(() => summariseCohort(cases.slice(0, 1))).toThrow(InputError);
  });

  it('pools lesion counts over scans', () => {
    const { ct, reference, predicted } = makeCase();
    const e = evaluateScan(ct, predicted, reference);
    const cases = [0, 1].map((i) => ({ id: `c${i}`, predicted: e.predicted, reference: e.reference }));
    const s = summariseCohort(cases, [e, e]);
    expect(s.detection!.counts.tp).toBe(2);
    expect(s.detection!.counts.fnVolumeMm3).toBe(12);
    expect(s.detection!.metrics.sensitivity).toBeCloseTo(1 / 3, 12);
    expect(s.detection!.perArtery.LAD.counts.fn).toBe(2);
  });
});

describe('stratified folds', () => {
  // 39 scans over 5 risk categories, each with at least 5 scans.
  const sizes = [7, 12, 9, 6, 5];
  const items = sizes.flatMap((m, cat) => Array.from({ length: m }, (_, i) => ({ id: `cat${cat}-${i}`, stratum: cat })));
  const stratumOf = new Map(items.map((it) => [it.id, it.stratum]));

  it('covers every category in every fold, with balanced sizes and no overlap', () => {
    const folds = stratifiedFolds(items, 5, 42);
    expect(folds).toHaveLength(5);
    for (const f of folds) expect(new Set(f.map((id) => stratumOf.get(id))).size).toBe(5);
    const lengths = folds.map((f) => f.length);
    expect(Math.max(...lengths) - Math.min(...lengths)).toBeLessThanOrEqual(1);
    const all = folds.flat();
    expect(all).toHaveLength(39);
    expect(new Set(all).size).toBe(39);
  });

  it('is deterministic for a seed and independent of input order', () => {
    const a = stratifiedFolds(items, 5, 7);
    expect(stratifiedFolds(items, 5, 7)).toEqual(a);
    expect(stratifiedFolds([...items].reverse(), 5, 7)).toEqual(a);
    expect(stratifiedFolds(items, 5, 8)).not.toEqual(a);
  });

  it('splits by the risk category of scores, and rejects impossible splits', () => {
    const scans = [0, 3, 30, 300, 3000, 0, 5, 50, 250, 800].map((ag, i) => ({ id: `p${i}`, score: fakeScore(ag, 0, 0) }));
    const folds = riskStratifiedFolds(scans, 2, 1);
    for (const f of folds) expect(new Set(f.map((id) => scans.find((s) => s.id === id)!.score.riskCategory)).size).toBe(5);
    expect(() => stratifiedFolds(items.slice(0, 3), 5)).toThrow(/cannot fill 5 folds/);
    expect(() => stratifiedFolds([items[0]!, items[0]!], 2)).toThrow(/appears twice/);
  });
});
