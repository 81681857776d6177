import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/base/errors.js';
import { readNifti } from '../src/io/nifti-file.js';
import { Rng } from '../src/base/rng.js';
import { generateCohort, planCohort } from '../src/phantom/cohort.js';
import { writeGeneratedCohort, type CohortManifest } from '../src/phantom/cohort-files.js';
import { generatePhantom, type Phantom } from '../src/phantom/phantom.js';
import { PHANTOM_PRESETS } from '../src/phantom/presets.js';
import { TISSUE, isBoneTissue } from '../src/phantom/tissue.js';
import { ARTERIES, type LabelMap, type Volume } from '../src/io/volume.js';
import { scoreScan, type ArteryScore } from '../src/scoring/score.js';

/** Phantoms are cached per (seed, target): several tests look at the same ones. */
const cache = new Map<string, Phantom>();
function phantom(seed: number, riskTarget: number): Phantom {
  const key = `${seed}/${riskTarget}`;
  let p = cache.get(key);
  if (!p) {
    p = generatePhantom({ seed, riskTarget });
    cache.set(key, p);
  }
  return p;
}

const SEEDS = [11, 12, 13, 14, 15, 16];
const TARGETS = [0, 1, 2, 3, 4];
const RANGES = ['0', '1-10', '11-100', '101-400', '>400'];

function bytes(a: Float32Array | Uint8Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Byte equality without vitest's element-by-element diffing (slow on 10^5+ elements). */
function sameBytes(a: Float32Array | Uint8Array, b: Float32Array | Uint8Array): boolean {
  return bytes(a).equals(bytes(b));
}

function expectSameScore(a: ArteryScore, b: ArteryScore): void {
  expect(a.lesionCount).toBe(b.lesionCount);
  expect(a.agatston).toBeCloseTo(b.agatston, 9);
  expect(a.volumeMm3).toBeCloseTo(b.volumeMm3, 9);
  expect(a.massMg).toBeCloseTo(b.massMg, 9);
}

describe('rng', () => {
  it('repeats a stream for a seed, differs across seeds, and forks independently of position', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    expect(new Rng(43).nextUint32()).not.toBe(xs[0]);
    // A fork depends on the seed and tag only, not on how much the parent has drawn.
    const fresh = new Rng(42).fork('noise').nextUint32();
    expect(a.fork('noise').nextUint32()).toBe(fresh);
    expect(new Rng(42).fork('anatomy').nextUint32()).not.toBe(fresh);
    // Large seeds use all their bits.
    expect(new Rng(2 ** 40).nextUint32()).not.toBe(new Rng(0).nextUint32());
  });

  it('draws standard normals (mean 0, sd 1, symmetric tails)', () => {
    const r = new Rng(7);
    const n = 100_000;
    const x = new Float32Array(n);
    r.fillGaussian(x, 0, 1);
    let m = 0;
    let v = 0;
    let tail = 0;
    for (const t of x) m += t;
    m /= n;
    for (const t of x) {
      v += (t - m) ** 2;
      if (Math.abs(t) > 1.96) tail++;
    }
    expect(Math.abs(m)).toBeLessThan(0.015);
    expect(Math.sqrt(v / (n - 1))).toBeCloseTo(1, 1);
    expect(tail / n).toBeGreaterThan(0.045);
    expect(tail / n).toBeLessThan(0.055);
  });

  it('rejects seeds that are not safe integers', () => {
    expect(() => new Rng(1.5)).toThrow(InputError);
    expect(() => generatePhantom({ seed: Number.NaN })).toThrow(InputError);
  });
});

describe('phantom generation', () => {
  it('is byte-identical for one seed and options, and differs for another seed', () => {
    const a = generatePhantom({ seed: 7, riskTarget: 3 });
    const b = generatePhantom({ seed: 7, riskTarget: 3 });
    expect(sameBytes(a.ct.data, b.ct.data)).toBe(true);
    expect(sameBytes(a.labels.data, b.labels.data)).toBe(true);
    expect(sameBytes(a.tissue, b.tissue)).toBe(true);
    expect(JSON.stringify(a.meta)).toBe(JSON.stringify(b.meta));
    expect(a.ct.affine).toEqual(b.ct.affine);

    const c = generatePhantom({ seed: 8, riskTarget: 3 });
    expect(sameBytes(c.ct.data, a.ct.data)).toBe(false);
    expect(c.meta.spacing).not.toEqual(a.meta.spacing);
  });

  it('keeps the patient when only the risk target changes (separate random streams)', () => {
    const a = phantom(11, 0);
    const b = phantom(11, 4);
    expect(sameBytes(b.tissue, a.tissue)).toBe(true);
    expect(b.meta.anatomy).toEqual(a.meta.anatomy);
    expect(sameBytes(b.ct.data, a.ct.data)).toBe(false);
  });

  it('builds the small preset on its documented grid with integer HU and plausible tissue values', () => {
    const p = phantom(12, 2);
    const spec = PHANTOM_PRESETS.small;
    expect(p.ct.dims).toEqual(spec.dims);
    expect(p.labels.dims).toEqual(spec.dims);
    const [dx, dy, dz] = p.ct.spacing;
    expect(dx).toBe(dy);
    expect(dx).toBeGreaterThanOrEqual(spec.inPlaneMm[0]);
    expect(dx).toBeLessThanOrEqual(spec.inPlaneMm[1]);
    expect(dz).toBeGreaterThanOrEqual(spec.sliceMm[0]);
    expect(dz).toBeLessThanOrEqual(spec.sliceMm[1]);
    expect(p.labels.spacing).toEqual(p.ct.spacing);
    expect(p.ct.affine.slice(0, 12)).toEqual([-dx, 0, 0, p.ct.affine[3], 0, -dy, 0, p.ct.affine[7], 0, 0, dz, p.ct.affine[11]]);

    let min = Infinity;
    let max = -Infinity;
    let fractional = 0;
    for (const v of p.ct.data) {
      if (!Number.isInteger(v)) fractional++;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(fractional).toBe(0);
    expect(min).toBeLessThan(-700); // lung
    expect(max).toBeGreaterThan(400); // cortical bone

    // Mean HU per tissue (central samples, noise averages out).
    const sum = new Float64Array(32);
    const cnt = new Float64Array(32);
    p.tissue.forEach((t, i) => {
      sum[t]! += p.ct.data[i]!;
      cnt[t]!++;
    });
    const mean = (t: number) => sum[t]! / cnt[t]!;
    for (const t of [TISSUE.lung, TISSUE.fat, TISSUE.myocardium, TISSUE.blood, TISSUE.coronary, TISSUE.corticalBone, TISSUE.marrow]) {
      expect(cnt[t]).toBeGreaterThan(0);
    }
    expect(mean(TISSUE.lung)).toBeLessThan(-700);
    expect(mean(TISSUE.fat)).toBeGreaterThan(-130);
    expect(mean(TISSUE.fat)).toBeLessThan(-40);
    expect(Math.abs(mean(TISSUE.myocardium) - 40)).toBeLessThan(20);
    expect(Math.abs(mean(TISSUE.blood) - 40)).toBeLessThan(20);
    expect(mean(TISSUE.marrow)).toBeGreaterThan(130);
  });

  it('puts bone above 130 HU in every phantom, never labelled', () => {
    for (const seed of SEEDS.slice(0, 3))
      for (const target of TARGETS) {
        const p = phantom(seed, target);
        let boneAbove = 0;
        let boneLabelled = 0;
        p.tissue.forEach((t, i) => {
          if (!isBoneTissue(t)) return;
          if (p.labels.data[i] !== 0) boneLabelled++;
          if (p.ct.data[i]! >= 130) boneAbove++;
        });
        expect(boneLabelled).toBe(0);
        // The spine at least (tens of voxels even at 2 mm): the classic false positive.
        expect(boneAbove).toBeGreaterThan(40);
      }
  });

  it('labels only voxels >= 130 HU, with artery labels 1..3, and every non-zero target has labels', () => {
    for (const seed of SEEDS.slice(0, 3))
      for (const target of TARGETS) {
        const p = phantom(seed, target);
        let labelled = 0;
        let bad = 0;
        p.labels.data.forEach((l, i) => {
          if (l === 0) return;
          labelled++;
          if (l > 3 || p.ct.data[i]! < 130) bad++;
        });
        expect(bad).toBe(0);
        if (target > 0) expect(labelled).toBeGreaterThan(0);
      }
  });

  it('makes zero-risk phantoms without plaques or labels (but with bright bone)', () => {
    for (const seed of SEEDS) {
      const p = phantom(seed, 0);
      expect(p.meta.plaques).toEqual([]);
      expect(p.labels.data.some((l) => l !== 0)).toBe(false);
      expect(p.meta.score.total.agatston).toBe(0);
      expect(p.ct.data.some((v) => v >= 400)).toBe(true);
    }
    // Calcium outside the coronaries (aortic wall) is not coronary ground truth either.
    const aortic = generatePhantom({ seed: 17, riskTarget: 0, aorticCalcification: true });
    expect(aortic.meta.aorticCalcifications.length).toBeGreaterThan(0);
    expect(aortic.labels.data.some((l) => l !== 0)).toBe(false);
  });

  it('generates a small phantom well under a second', () => {
    generatePhantom({ seed: 30, riskTarget: 4 }); // warm-up (JIT)
    const t0 = performance.now();
    generatePhantom({ seed: 31, riskTarget: 4 });
    // Typically ~0.1 s; the bound leaves room for a busy shared machine.
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('lands every risk target in its Agatston category, checked by rescoring', () => {
    for (const seed of SEEDS)
      for (const target of TARGETS) {
        const p = phantom(seed, target);
        const s = scoreScan(p.ct, p.labels);
        expect(p.meta.riskMatched).toBe(true);
        expect(s.riskCategory).toBe(target);
        expect(s.riskLabel.startsWith(RANGES[target]!)).toBe(true);
        expect(p.meta.riskCategory).toBe(target);
        expectSameScore(p.meta.score.total, s.total);
        if (target > 0) expect(p.meta.plaques.length).toBeGreaterThan(0);
      }
  });

  it('places plaques on the arteries it labels, with varied size and density', () => {
    const sizes: number[] = [];
    const densities: number[] = [];
    for (const seed of SEEDS) {
      const p = phantom(seed, 4);
      const s = scoreScan(p.ct, p.labels);
      const arteriesWithPlaques = new Set(p.meta.plaques.map((q) => q.artery));
      for (const a of ARTERIES) if (s.perArtery[a].lesionCount > 0) expect(arteriesWithPlaques.has(a)).toBe(true);
      for (const q of p.meta.plaques) {
        sizes.push(Math.max(...q.semiAxesMm) * 2);
        densities.push(q.densityHU);
        expect(['LM', 'LAD', 'D1', 'LCX', 'OM1', 'RCA']).toContain(q.vessel);
      }
    }
    // Sub-millimetre specks up to lesions several millimetres long; 130-1000+ HU.
    expect(Math.min(...sizes)).toBeLessThan(1.5);
    expect(Math.max(...sizes)).toBeGreaterThan(5);
    expect(Math.min(...densities)).toBeLessThan(400);
    expect(Math.max(...densities)).toBeGreaterThan(900);
  });

  it('applies options: noise level, explicit grid, validation', () => {
    const quiet = generatePhantom({ seed: 21, riskTarget: 0, noiseHU: 0 });
    const noisy = generatePhantom({ seed: 21, riskTarget: 0, noiseHU: 25 });
    const sd = (p: Phantom) => {
      // Spread of HU inside the heart muscle, away from its edges: noise alone.
      const [nx, ny] = p.ct.dims;
      const v: number[] = [];
      const my = (i: number) => p.tissue[i] === TISSUE.myocardium;
      p.tissue.forEach((_, i) => {
        if (my(i) && my(i - 1) && my(i + 1) && my(i - nx) && my(i + nx) && my(i - nx * ny) && my(i + nx * ny)) v.push(p.ct.data[i]!);
      });
      expect(v.length).toBeGreaterThan(100);
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
    };
    expect(sd(quiet)).toBeLessThan(5);
    expect(Math.abs(sd(noisy) - 25)).toBeLessThan(4);

    const g = generatePhantom({ seed: 21, riskTarget: 2, dims: [32, 40, 12], spacing: [3, 3, 6] });
    expect(g.ct.dims).toEqual([32, 40, 12]);
    expect(g.ct.spacing).toEqual([3, 3, 6]);
    expect(g.ct.data.length).toBe(32 * 40 * 12);

    expect(() => generatePhantom({ seed: 1, riskTarget: 5 })).toThrow(InputError);
    expect(() => generatePhantom({ seed: 1, dims: [64, 0, 16] })).toThrow(InputError);
    expect(() => generatePhantom({ seed: 1, noiseHU: -1 })).toThrow(InputError);
    expect(() => generatePhantom({ seed: 1, preset: 'huge' as 'small' })).toThrow(InputError);
  });

  it('builds the realistic preset: 512 x 512 x 40 at 0.3-0.7 mm x 2.5-3 mm, in a few seconds', () => {
    const t0 = performance.now();
    const p = generatePhantom({ seed: 3, preset: 'realistic', riskTarget: 2 });
    const seconds = (performance.now() - t0) / 1000;
    expect(p.ct.dims).toEqual([512, 512, 40]);
    const [dx, , dz] = p.ct.spacing;
    expect(dx).toBeGreaterThanOrEqual(0.3);
    expect(dx).toBeLessThanOrEqual(0.7);
    expect(dz).toBeGreaterThanOrEqual(2.5);
    expect(dz).toBeLessThanOrEqual(3);
    expect(scoreScan(p.ct, p.labels).riskCategory).toBe(2);
    let boneAbove = 0;
    let bad = 0;
    p.tissue.forEach((t, i) => {
      if (isBoneTissue(t) && p.ct.data[i]! >= 130) boneAbove++;
      if (p.labels.data[i] && (isBoneTissue(t) || p.ct.data[i]! < 130)) bad++;
    });
    expect(bad).toBe(0);
    expect(boneAbove).toBeGreaterThan(1000);
    // Generous: the reference machine is shared; typically about 3 s.
    expect(seconds).toBeLessThan(30);
  }, 60_000);
});

describe('cohorts', () => {
  it('cycles risk targets so any five consecutive cases cover every category', () => {
    const plan = planCohort({ seed: 5, count: 12 });
    expect(plan.map((e) => e.riskTarget)).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]);
    expect(plan.map((e) => e.id).slice(0, 2)).toEqual(['phantom-000', 'phantom-001']);
    expect(new Set(plan.map((e) => e.seed)).size).toBe(12);
    expect(planCohort({ seed: 5, count: 12 })).toEqual(plan);
    expect(planCohort({ seed: 6, count: 1 })[0]!.seed).not.toBe(plan[0]!.seed);

    const categories = new Set<number>();
    for (const c of generateCohort({ seed: 5, count: 5 })) categories.add(scoreScan(c.phantom.ct, c.phantom.labels).riskCategory);
    expect([...categories].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  describe('written to disk', () => {
    let dir = '';
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('writes scan and label NIfTI pairs whose scores are the manifest scores', async () => {
      dir = await mkdtemp(join(tmpdir(), 'cacnet-phantoms-'));
      const manifest = await writeGeneratedCohort(dir, { seed: 99, count: 5 });
      const onDisk: CohortManifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
      expect(onDisk).toEqual(manifest);
      expect(manifest.cohort).toEqual({ seed: 99, count: 5 });
      expect(manifest.conventions?.thresholdHU).toBe(130);
      expect(manifest.cases.map((c) => c.scores.riskCategory)).toEqual([0, 1, 2, 3, 4]);

      for (const c of manifest.cases) {
        expect(c.files).toEqual({ ct: `${c.id}_ct.nii.gz`, labels: `${c.id}_label.nii.gz` });
        const ctFile = await readNifti(join(dir, c.files.ct));
        const labFile = await readNifti(join(dir, c.files.labels));
        const ct: Volume = { data: Float32Array.from(ctFile.data), dims: ctFile.dims, spacing: ctFile.spacing, affine: ctFile.affine, source: c.files.ct };
        const labels: LabelMap = { data: Uint8Array.from(labFile.data), dims: labFile.dims, spacing: labFile.spacing, affine: labFile.affine };
        expect(ct.dims).toEqual(c.dims);
        for (let i = 0; i < 3; i++) expect(ct.spacing[i]).toBeCloseTo(c.spacing[i]!, 4);

        // Scoring the written ground truth reproduces the manifest.
        const s = scoreScan(ct, labels);
        expect(s.riskCategory).toBe(c.scores.riskCategory);
        expect(s.riskCategory).toBe(c.riskTarget);
        expectSameScore(s.total, c.scores.total);
        for (const a of ARTERIES) expectSameScore(s.perArtery[a], c.scores.perArtery[a]);

        // And the files hold exactly the generated phantom.
        const again = generatePhantom({ seed: c.seed, riskTarget: c.riskTarget });
        expect(sameBytes(again.labels.data, labels.data)).toBe(true);
        expect(sameBytes(again.ct.data, ct.data)).toBe(true);
      }
    }, 60_000);
  });
});
