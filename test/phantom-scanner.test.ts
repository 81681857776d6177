import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/base/errors.js';
import { phantoms } from '../src/cli/phantoms.js';
import { runCommand } from '../src/cli/run-command.js';
import { readNifti } from '../src/io/nifti-file.js';
import type { CohortManifest } from '../src/phantom/cohort-files.js';
import { Rng } from '../src/base/rng.js';
import { CALCIUM_KIND_CODES } from '../src/phantom/noncoronary-calcium.js';
import { generatePhantom, type Phantom } from '../src/phantom/phantom.js';
import { scannerPatient } from '../src/phantom/scanner.js';
import { SCANNER_RANGES, type PhantomSplit } from '../src/phantom/scanner-ranges.js';
import { isBoneTissue } from '../src/phantom/tissue.js';
import { connectedComponents } from '../src/scoring/lesions.js';
import { scoreScan } from '../src/scoring/score.js';

/**
 * Full phantoms are cached: most use seeds whose grid is 256 x 256 (a quarter
 * of the work), found once with scannerPatient; seed 11 (train) is 512 x 512 x 80.
 */
const cache = new Map<string, Phantom>();
function phantom(seed: number, riskTarget: number, split: PhantomSplit = 'train'): Phantom {
  const key = `${split}/${seed}/${riskTarget}`;
  let p = cache.get(key);
  if (!p) {
    p = generatePhantom({ seed, preset: 'scanner', split, riskTarget });
    cache.set(key, p);
  }
  return p;
}
/** Train seeds with a 256 x 256 grid, one per risk category 0..4; held-out likewise. */
const TRAIN_SMALL = [36, 37, 39, 0, 1];
const HELDOUT_SMALL = [11, 14, 28];

function bytes(a: Float32Array | Uint8Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** The patients and grids of many seeds (no image: milliseconds each). */
function layouts(split: PhantomSplit, count: number) {
  return Array.from({ length: count }, (_, seed) => scannerPatient(new Rng(seed).fork(`scanner-${split}`), split));
}

const NAMES = Object.keys(SCANNER_RANGES) as Array<keyof typeof SCANNER_RANGES>;

describe('scanner preset: parameter ranges', () => {
  const train = layouts('train', 150);
  const heldout = layouts('heldout', 150);

  it('keeps every drawn parameter inside its training range in the train split', () => {
    let checked = 0;
    for (const l of train)
      for (const name of NAMES) {
        const v = l.draws.values[name];
        if (v === undefined) continue;
        const [lo, hi] = SCANNER_RANGES[name].train;
        expect(v, `${name} = ${v}`).toBeGreaterThanOrEqual(lo - 1e-9);
        expect(v, `${name} = ${v}`).toBeLessThanOrEqual(hi + 1e-9);
        checked++;
      }
    // Most parameters are drawn for every phantom (arms, coarse pixels only for some).
    expect(checked).toBeGreaterThan(150 * (NAMES.length - 4));
  });

  it('reaches outside the training ranges in the held-out split, and stays inside the full ones', () => {
    const outside = new Set<string>();
    for (const l of heldout)
      for (const name of NAMES) {
        const v = l.draws.values[name];
        if (v === undefined) continue;
        const { full, train: t } = SCANNER_RANGES[name];
        expect(v, `${name} = ${v}`).toBeGreaterThanOrEqual(full[0] - 1e-9);
        expect(v, `${name} = ${v}`).toBeLessThanOrEqual(full[1] + 1e-9);
        if (v < t[0] - 1e-9 || v > t[1] + 1e-9) outside.add(name);
      }
    // The bins an evaluation reports by, and the patient.
    for (const name of ['pixelMm', 'fovMm', 'noiseHU', 'heartAzimuthDeg', 'heartElevationDeg', 'heartRollDeg', 'subcutaneousFatMm', 'boneDensity']) {
      expect(outside.has(name), name).toBe(true);
    }
    const pixels = heldout.map((l) => l.setup.pixelMm);
    expect(pixels.some((p) => p < 0.35)).toBe(true);
    expect(pixels.some((p) => p > 0.8)).toBe(true);
    expect(heldout.some((l) => l.setup.fovMm > 330)).toBe(true);
    expect(heldout.some((l) => l.setup.noiseHU > 30)).toBe(true);
  });

  it('draws grids within the declared geometry: 512 or 256 pixels, 40-80 slices, heart-centred or whole-chest', () => {
    for (const [split, ls] of [['train', train], ['heldout', heldout]] as const) {
      const pixel = split === 'train' ? SCANNER_RANGES.pixelMm.train : SCANNER_RANGES.pixelMm.full;
      const fov = split === 'train' ? SCANNER_RANGES.fovMm.train : SCANNER_RANGES.fovMm.full;
      for (const { g, setup, anat } of ls) {
        expect([256, 512]).toContain(g.nx);
        expect(g.ny).toBe(g.nx);
        expect(g.nz).toBeGreaterThanOrEqual(40);
        expect(g.nz).toBeLessThanOrEqual(80);
        expect(g.dx).toBe(g.dy);
        expect(g.dx).toBeGreaterThanOrEqual(pixel[0] - 1e-4);
        expect(g.dx).toBeLessThanOrEqual(pixel[1] + 1e-4);
        expect(g.dz).toBeGreaterThanOrEqual(2.5 - 1e-4);
        expect(g.dz).toBeLessThanOrEqual(3 + 1e-4);
        expect(g.nx * g.dx).toBeCloseTo(setup.fovMm, 3);
        expect(setup.fovMm).toBeGreaterThanOrEqual(fov[0] - 0.01);
        expect(setup.fovMm).toBeLessThanOrEqual(fov[1] + 0.01);
        // Framing: heart-centred up to 250 mm (the heart's centre well inside), whole chest from 290 mm.
        const centre = [g.ox - ((g.nx - 1) / 2) * g.dx, g.oy - ((g.ny - 1) / 2) * g.dy];
        if (setup.framing === 'heart') {
          expect(setup.fovMm).toBeLessThanOrEqual(250.01);
          expect(Math.hypot(centre[0]! - anat.heart.c[0], centre[1]! - anat.heart.c[1])).toBeLessThan(60);
        } else {
          expect(setup.fovMm).toBeGreaterThanOrEqual(290);
          expect(g.nx).toBe(512);
          expect(Math.abs(centre[0]!)).toBeLessThanOrEqual(5);
          expect(Math.abs(centre[1]! - anat.body.bodyCy)).toBeLessThanOrEqual(5);
        }
        // The scan covers the heart from above the left main to below the apex.
        const h = anat.heart;
        expect(g.oz).toBeLessThan(h.c[2] - h.halfExtent(2) + 1e-6);
        expect(g.oz + (g.nz - 1) * g.dz).toBeGreaterThan(h.c[2] + h.halfExtent(2) - 10 - 1e-6);
      }
    }
    const kinds = (ls: typeof train) => new Set(ls.map((l) => `${l.setup.framing}/${l.g.nx}`));
    expect([...kinds(train)].sort()).toEqual(['chest/512', 'heart/256', 'heart/512']);
    expect(new Set(train.map((l) => l.anat.coronary.course.dominance)).size).toBe(3);
    expect(train.some((l) => l.anat.arms !== null)).toBe(true);
    expect(train.some((l) => l.setup.noiseTexture === 'psf') && train.some((l) => l.setup.noiseTexture === 'white')).toBe(true);
  });

  it('gives different patients for one seed in the two splits', () => {
    expect(train[3]!.anat.heart.c).not.toEqual(heldout[3]!.anat.heart.c);
  });
});

describe('scanner preset: phantoms', () => {
  it('lands every risk category by construction, rescored at scanner resolution', () => {
    TRAIN_SMALL.forEach((seed, target) => {
      const p = phantom(seed, target);
      expect(p.ct.dims[0]).toBe(256);
      const s = scoreScan(p.ct, p.labels);
      expect(p.meta.riskMatched).toBe(true);
      expect(s.riskCategory).toBe(target);
      expect(p.meta.score.total.agatston).toBeCloseTo(s.total.agatston, 9);
      if (target === 0) expect(p.labels.data.some((l) => l !== 0)).toBe(false);
    });
    const h = phantom(HELDOUT_SMALL[0]!, 3, 'heldout');
    expect(h.meta.scanner!.split).toBe('heldout');
    expect(scoreScan(h.ct, h.labels).riskCategory).toBe(3);
  }, 240_000);

  it('labels only coronary calcium >= 130 HU, never bone, never the non-coronary calcium', () => {
    let nonCoronaryVoxels = 0;
    const kindsSeen = new Set<number>();
    const all = [...TRAIN_SMALL.map((s, t) => phantom(s, t)), ...HELDOUT_SMALL.map((s) => phantom(s, 3, 'heldout'))];
    for (const p of all) {
      const declared = new Set(p.meta.scanner!.nonCoronaryCalcium.map((c) => CALCIUM_KIND_CODES[c.kind]));
      for (let v = 0; v < p.ct.data.length; v++) {
        const l = p.labels.data[v]!;
        const n = p.nonCoronary[v]!;
        if (l) {
          expect(p.ct.data[v]!).toBeGreaterThanOrEqual(130);
          expect(isBoneTissue(p.tissue[v]!)).toBe(false);
          expect(n).toBe(0);
        }
        if (n) {
          nonCoronaryVoxels++;
          kindsSeen.add(n);
          expect(p.ct.data[v]!).toBeGreaterThanOrEqual(130);
          expect(declared.has(n)).toBe(true);
        }
      }
    }
    expect(nonCoronaryVoxels).toBeGreaterThan(100);
    expect(kindsSeen.size).toBeGreaterThanOrEqual(2);
  }, 240_000);

  it('puts non-coronary calcium, sized and dense like real, also in scans without coronary calcium', () => {
    const zero = phantom(TRAIN_SMALL[0]!, 0);
    const calcium = zero.meta.scanner!.nonCoronaryCalcium;
    expect(calcium.length).toBeGreaterThan(0);
    expect(zero.nonCoronary.some((k) => k !== 0)).toBe(true);
    expect(zero.meta.score.total.agatston).toBe(0);
    for (const c of calcium) {
      expect(Object.keys(CALCIUM_KIND_CODES)).toContain(c.kind);
      expect(c.densityHU).toBeGreaterThanOrEqual(200);
      expect(c.densityHU).toBeLessThanOrEqual(1500);
      expect(Math.max(...c.sizeMm)).toBeGreaterThan(1);
      expect(Math.max(...c.sizeMm)).toBeLessThan(80);
    }
  }, 240_000);

  it('makes lesions from below the 1.5 mm^3 rule up to long dense plaques', () => {
    const plaques = [phantom(TRAIN_SMALL[3]!, 3), phantom(TRAIN_SMALL[4]!, 4), phantom(HELDOUT_SMALL[0]!, 3, 'heldout')].flatMap((p) => p.meta.plaques);
    const volumes = plaques.map((q) => q.volumeMm3);
    expect(Math.min(...volumes)).toBeLessThanOrEqual(1.5);
    expect(Math.max(...volumes)).toBeGreaterThan(100);
    expect(Math.max(...plaques.map((q) => 2 * q.semiAxesMm[0]))).toBeGreaterThan(20);
    expect(plaques.some((q) => q.densityHU > 1000 && q.volumeMm3 > 20)).toBe(true);
    // Labelled lesions (6-connected) span the same: sub-threshold specks stay in the ground truth.
    const p = phantom(TRAIN_SMALL[4]!, 4);
    const labelled = new Uint8Array(p.labels.data.length);
    p.labels.data.forEach((l, i) => (labelled[i] = l ? 1 : 0));
    const voxel = p.ct.spacing[0] * p.ct.spacing[1] * p.ct.spacing[2];
    const sizes = connectedComponents(labelled, p.ct.dims, 6).voxels.map((c) => c.length * voxel);
    expect(Math.max(...sizes)).toBeGreaterThan(50);
  }, 240_000);

  it('is byte-identical for one seed and options', () => {
    const a = phantom(TRAIN_SMALL[2]!, 2);
    const b = generatePhantom({ seed: TRAIN_SMALL[2]!, preset: 'scanner', riskTarget: 2 });
    expect(bytes(a.ct.data).equals(bytes(b.ct.data))).toBe(true);
    expect(bytes(a.labels.data).equals(bytes(b.labels.data))).toBe(true);
    expect(bytes(a.tissue).equals(bytes(b.tissue))).toBe(true);
    expect(bytes(a.nonCoronary).equals(bytes(b.nonCoronary))).toBe(true);
    expect(JSON.stringify(b.meta)).toBe(JSON.stringify(a.meta));
    expect(b.ct.affine).toEqual(a.ct.affine);
  }, 120_000);

  it('records framing, field of view, heart centre and box, and every drawn parameter in meta', () => {
    const p = phantom(TRAIN_SMALL[1]!, 1);
    const s = p.meta.scanner!;
    const [dx, dy, dz] = p.ct.spacing;
    expect(p.ct.affine.slice(0, 12)).toEqual([-dx, 0, 0, p.ct.affine[3], 0, -dy, 0, p.ct.affine[7], 0, 0, dz, p.ct.affine[11]]);
    expect(s.pixelMm).toBe(dx);
    expect(s.sliceMm).toBe(dz);
    expect(s.fovMm).toBeCloseTo(p.ct.dims[0] * dx, 2);
    for (let a = 0; a < 3; a++) {
      expect(s.heartBoxMm.min[a]!).toBeLessThan(s.heartCenterMm[a]!);
      expect(s.heartBoxMm.max[a]!).toBeGreaterThan(s.heartCenterMm[a]!);
    }
    // The heart's centre lies in the scan.
    const [i, j, k] = [0, 1, 2].map((r) => (s.heartCenterMm[r]! - p.ct.affine[4 * r + 3]!) / p.ct.affine[5 * r]!);
    for (const [f, n] of [[i, p.ct.dims[0]], [j, p.ct.dims[1]], [k, p.ct.dims[2]]] as const) {
      expect(f).toBeGreaterThan(0);
      expect(f).toBeLessThan(n - 1);
    }
    for (const name of ['fovMm', 'pixelMm', 'noiseHU', 'blurMm', 'heartAzimuthDeg', 'tortuosityMm', 'boneDensity', 'subcutaneousFatMm', 'dominance']) {
      expect(s.parameters[name], name).toBeDefined();
    }
    expect(s.parameters.noiseHU).toBeCloseTo(p.meta.noiseHU, 5);
  }, 120_000);

  it('builds a 512 x 512 x 80 scan in seconds of CPU', () => {
    const cpu = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    };
    const c0 = cpu();
    const p = generatePhantom({ seed: 11, preset: 'scanner', riskTarget: 2 });
    const seconds = cpu() - c0;
    expect(p.ct.dims).toEqual([512, 512, 80]);
    expect(p.meta.riskMatched).toBe(true);
    // CPU time, not wall time: other jobs on a shared machine stretch the latter. 4-7 s measured under load.
    expect(seconds).toBeLessThan(20);
  }, 300_000);

  it('rejects options that do not fit the preset, in one line', () => {
    expect(() => generatePhantom({ seed: 1, preset: 'scanner', split: 'test' as PhantomSplit })).toThrow(InputError);
    expect(() => generatePhantom({ seed: 1, preset: 'small', split: 'train' })).toThrow(/scanner preset only/);
    expect(() => generatePhantom({ seed: 1, preset: 'scanner', dims: [64, 64, 16] })).toThrow(/do not apply/);
  });
});

describe('scanner preset: cohorts on disk', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('cacnet phantoms --preset scanner --split heldout writes CT, labels, the non-coronary volume and meta.scanner', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cacnet-scanner-'));
    // Cohort seed 8: its first (risk 0) case has a 256 x 256 grid.
    const code = await runCommand(phantoms, ['--out', dir, '--preset', 'scanner', '--split', 'heldout', '--count', '1', '--seed', '8']);
    expect(code).toBe(0);
    const manifest: CohortManifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    const c = manifest.cases[0]!;
    expect(manifest.cohort).toEqual({ seed: 8, count: 1, preset: 'scanner', split: 'heldout' });
    expect(c.files.nonCoronary).toBe(`${c.id}_noncoronary.nii.gz`);
    expect(c.scanner!.split).toBe('heldout');
    const again = generatePhantom({ seed: c.seed, preset: 'scanner', split: 'heldout', riskTarget: c.riskTarget });
    expect(c.scanner).toEqual(JSON.parse(JSON.stringify(again.meta.scanner)));
    const nc = await readNifti(join(dir, c.files.nonCoronary!));
    expect(nc.dims).toEqual(again.ct.dims);
    expect(bytes(Uint8Array.from(nc.data)).equals(bytes(again.nonCoronary))).toBe(true);
    const ct = await readNifti(join(dir, c.files.ct));
    expect(bytes(Float32Array.from(ct.data)).equals(bytes(again.ct.data))).toBe(true);
  }, 120_000);

  it('refuses a split without the scanner preset and an unknown split', async () => {
    await expect(runCommand(phantoms, ['--out', '/tmp/x', '--split', 'heldout'])).resolves.not.toBe(0);
    await expect(runCommand(phantoms, ['--out', '/tmp/x', '--preset', 'scanner', '--split', 'test'])).resolves.not.toBe(0);
  });
});
