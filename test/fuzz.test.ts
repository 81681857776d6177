/**
 * A fuzz suite over what users hand cacnet: a few hundred seeded mutations of
 * a NIfTI scan (header bytes, gzip stream, truncation), a DICOM series (header
 * bytes of a slice, a missing, doubled or truncated file), a weights file and
 * a checkpoint. Scans go through `cacnet score` in this process; model files
 * through the readers every command uses.
 *
 * Each case ends one of three ways, and the suite counts the bad ones, which
 * must all be zero: a crash (what would print a stack trace) or a refusal
 * that is not one line; a case that takes seconds (a hang, in the making); an
 * accepted input whose answer is wrong. "Wrong" is judged by an oracle that
 * knows what each mutated byte means:
 *  - NIfTI: an accepted file must give the original scores, or, when the
 *    mutation hit scl_slope/scl_inter, the scores of the original voxels
 *    rescaled as the mutated header says, with HU a CT can hold. Every other
 *    field either does not change the image or must be refused (the label map
 *    pins the grid, so spacing, origin and orientation cannot drift);
 *  - DICOM: the same, the value-bearing elements being RescaleSlope/Intercept,
 *    BitsStored, HighBit and PixelRepresentation of the slice hit;
 *  - weights and checkpoints: every mutation must be refused (the format's
 *    CRC-32 covers the whole file).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dicomParser from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../src/base/random.js';
import { InputError } from '../src/base/errors.js';
import { score } from '../src/cli/score.js';
import { gzip } from '../src/io/nifti.js';
import { HU_RANGE } from '../src/io/scan-plausibility.js';
import { decodeDicomSeries } from '../src/io/dicom.js';
import { CacNet } from '../src/net/cacnet.js';
import { TINY_CONFIG } from '../src/net/config.js';
import { CHECKPOINT_FILE, readCheckpoint, saveCheckpoint } from '../src/net/checkpoint.js';
import { encodeModel, readModelBundle } from '../src/net/model-bundle.js';
import { makeOptimizer } from '../src/net/train.js';
import { scoreScan } from '../src/scoring/score.js';
import { gpu } from './helpers/gpu.js';
import { NIFTI, runInProcess, writeFixture, type CliResult, type Fixture } from './helpers/hostile.js';

let root: string;
let fx: Fixture;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cacnet-fuzz-'));
  fx = await writeFixture(join(root, 'fixture'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Tally {
  cases: number;
  refused: number;
  accepted: number;
  /** Escaped as a crash, or refused in more than one line, or with exit 0 and an error. */
  badFailures: string[];
  slow: string[];
  wrong: string[];
}

const tally = (): Tally => ({ cases: 0, refused: 0, accepted: 0, badFailures: [], slow: [], wrong: [] });

/** The time a case may take (a hang shows as far more). */
const CASE_SECONDS = 5;

/** Records one command run; returns its printed total Agatston and volume when it was accepted. */
function record(t: Tally, name: string, r: CliResult, seconds: number): { agatston: number; volume: number } | undefined {
  t.cases++;
  if (seconds > CASE_SECONDS) t.slow.push(`${name}: ${seconds.toFixed(1)} s`);
  if (r.crash) {
    t.badFailures.push(`${name}: crashed: ${(r.crash as Error).stack?.split('\n')[0]}`);
    return undefined;
  }
  if (r.code !== 0) {
    t.refused++;
    const errors = r.stderr.filter((l) => /error/i.test(l));
    if (errors.length !== 1 || !/^cacnet score: error: .+/.test(errors[0]!) || errors[0] !== r.stderr[r.stderr.length - 1]) t.badFailures.push(`${name}: ${JSON.stringify(r.stderr)}`);
    return undefined;
  }
  t.accepted++;
  const total = r.stdout.find((l) => l.startsWith('total'));
  if (!total || r.stderr.length) {
    t.badFailures.push(`${name}: exit 0 without a score table, or with messages: ${JSON.stringify(r.stderr)}`);
    return undefined;
  }
  const [agatston, volume] = total.trim().split(/\s+/).slice(1, 3).map(Number) as [number, number];
  return { agatston, volume };
}

/** The printed score (one decimal) against an expected one. */
const same = (got: { agatston: number; volume: number }, want: { agatston: number; volume: number }) =>
  Math.abs(got.agatston - want.agatston) <= 0.051 + 1e-3 * want.agatston && Math.abs(got.volume - want.volume) <= 0.051 + 1e-3 * want.volume;

function expectClean(t: Tally, what: string): void {
  console.log(`fuzz ${what}: ${t.cases} cases, ${t.refused} refused, ${t.accepted} accepted; ${t.badFailures.length} bad failures, ${t.slow.length} slow, ${t.wrong.length} wrong answers`);
  expect(t.badFailures).toEqual([]);
  expect(t.slow).toEqual([]);
  expect(t.wrong).toEqual([]);
}

let n = 0;
async function caseFile(name: string, bytes: Uint8Array): Promise<string> {
  const dir = join(root, `case-${n++}`);
  await mkdir(dir);
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, (performance.now() - t0) / 1000];
}

/** The score of the fixture's voxels rescaled by (slope, inter), NIfTI's rule (slope 0 or not finite: unscaled); undefined when no CT holds such HU. */
function rescaledScore(slope: number, inter: number): { agatston: number; volume: number } | undefined {
  const scaled = Number.isFinite(slope) && slope !== 0;
  const [a, b] = scaled ? [slope, Number.isFinite(inter) ? inter : 0] : [1, 0];
  const data = Float32Array.from(fx.ct.data, (v) => v * a + b);
  if (data.some((v) => !(v >= HU_RANGE.min && v <= HU_RANGE.max))) return undefined;
  const s = scoreScan({ ...fx.ct, data }, fx.labels).total;
  return { agatston: s.agatston, volume: s.volumeMm3 };
}

describe('fuzz: NIfTI scans through cacnet score', () => {
  it('header bytes, gzip bytes and truncations: no crash, no hang, no wrong answer', { timeout: 300_000 }, async () => {
    const t = tally();
    const random = mulberry32(20260318);
    const original = { agatston: fx.score.total.agatston, volume: fx.score.total.volumeMm3 };
    const gz = await gzip(fx.niiBytes);
    const check = async (name: string, bytes: Uint8Array, fileName: string, expected: () => { agatston: number; volume: number } | undefined) => {
      const path = await caseFile(fileName, bytes);
      const [r, seconds] = await timed(() => runInProcess(score, [path, fx.labelsPath]));
      const got = record(t, name, r, seconds);
      if (!got) return;
      const want = expected();
      if (!want || !same(got, want)) t.wrong.push(`${name}: exit 0 with Agatston ${got.agatston}, volume ${got.volume}; expected ${want ? `${want.agatston.toFixed(1)}, ${want.volume.toFixed(1)}` : 'a refusal'}`);
    };
    // 200 single-byte changes anywhere in the 352 header bytes.
    for (let k = 0; k < 200; k++) {
      const at = Math.floor(random() * 352);
      const bytes = fx.niiBytes.slice();
      bytes[at] = (bytes[at]! + 1 + Math.floor(random() * 255)) & 0xff;
      const view = new DataView(bytes.buffer);
      const hitsScaling = at >= NIFTI.sclSlope && at < NIFTI.sclInter + 4;
      await check(`nii byte ${at}`, bytes, 'ct.nii', () => (hitsScaling ? rescaledScore(view.getFloat32(NIFTI.sclSlope, true), view.getFloat32(NIFTI.sclInter, true)) : original));
    }
    // 40 single-byte changes in the gzip stream: its CRC refuses changed data; its own header fields change nothing.
    for (let k = 0; k < 40; k++) {
      const at = Math.floor(random() * gz.length);
      const bytes = gz.slice();
      bytes[at] = (bytes[at]! + 1 + Math.floor(random() * 255)) & 0xff;
      await check(`gz byte ${at}/${gz.length}`, bytes, 'ct.nii.gz', () => original);
    }
    // 30 truncations of either form.
    for (let k = 0; k < 30; k++) {
      const [bytes, name] = k % 2 ? [gz, 'ct.nii.gz'] : [fx.niiBytes, 'ct.nii'];
      const length = Math.floor(random() * bytes.length);
      await check(`${name} cut at ${length}`, bytes.subarray(0, length), name, () => undefined);
    }
    expectClean(t, 'NIfTI');
  });
});

/** The element (tag) each byte of a DICOM file belongs to, by dicom-parser's own reading of the original. */
function elementAt(bytes: Uint8Array): (offset: number) => string {
  const ds = dicomParser.parseDicom(bytes);
  const ranges = Object.values(ds.elements).map((e) => ({ tag: e.tag, from: e.dataOffset - 12, to: e.dataOffset + e.length }));
  return (offset) => ranges.filter((r) => offset >= r.from && offset < r.to).sort((a, b) => a.to - a.from - (b.to - b.from))[0]?.tag ?? 'none';
}

/** Elements that carry the values (not the grid): a change there may give another, still valid, image. */
const VALUE_TAGS = new Set(['x00281052', 'x00281053', 'x00280101', 'x00280102', 'x00280103']);

describe('fuzz: DICOM series through cacnet score', () => {
  it('header bytes of a slice, missing, doubled and truncated files: no crash, no hang, no wrong answer', { timeout: 300_000 }, async () => {
    const t = tally();
    const random = mulberry32(20260319);
    const original = { agatston: fx.score.total.agatston, volume: fx.score.total.volumeMm3 };
    const pixelStart = (bytes: Uint8Array) => dicomParser.parseDicom(bytes).elements.x7fe00010!.dataOffset;
    const run = async (name: string, files: Array<[string, Uint8Array]>, valueChange: boolean) => {
      const dir = join(root, `dicom-${n++}`);
      await mkdir(dir);
      for (const [f, bytes] of files) await writeFile(join(dir, f), bytes);
      const [r, seconds] = await timed(() => runInProcess(score, [dir, fx.dicomLabelsPath]));
      const got = record(t, name, r, seconds);
      if (!got) return;
      if (!valueChange) {
        if (!same(got, original)) t.wrong.push(`${name}: exit 0 with Agatston ${got.agatston}, expected ${original.agatston.toFixed(1)}`);
        return;
      }
      // The slice's values changed as its header says: the scan must still hold CT values, and be scored as read.
      const volume = decodeDicomSeries(files.map(([f, bytes]) => ({ name: f, bytes })), dir);
      const plausible = volume.data.every((v) => v >= HU_RANGE.min && v <= HU_RANGE.max);
      const s = scoreScan(volume, { ...fx.labels, spacing: volume.spacing, affine: volume.affine }).total;
      if (!plausible || !same(got, { agatston: s.agatston, volume: s.volumeMm3 })) t.wrong.push(`${name}: exit 0 with Agatston ${got.agatston}; the series reads as ${s.agatston.toFixed(1)}${plausible ? '' : ' with HU no CT holds'}`);
    };
    const tags = fx.dicomFiles.map(([, bytes]) => elementAt(bytes));
    for (let k = 0; k < 120; k++) {
      const f = Math.floor(random() * fx.dicomFiles.length);
      const bytes = fx.dicomFiles[f]![1].slice();
      const at = Math.floor(random() * pixelStart(bytes));
      bytes[at] = (bytes[at]! + 1 + Math.floor(random() * 255)) & 0xff;
      const files = fx.dicomFiles.map(([name, b], i): [string, Uint8Array] => [name, i === f ? bytes : b]);
      await run(`file ${f} byte ${at} (${tags[f]!(at)})`, files, VALUE_TAGS.has(tags[f]!(at)));
    }
    for (let k = 0; k < 10; k++) {
      const f = 1 + Math.floor(random() * (fx.dicomFiles.length - 2));
      await run(`without file ${f}`, fx.dicomFiles.filter((_, i) => i !== f), false);
      await run(`file ${f} twice`, [...fx.dicomFiles, [`copy-${f}`, fx.dicomFiles[f]![1]]], false);
      const [name, bytes] = fx.dicomFiles[f]!;
      const files = fx.dicomFiles.map(([nm, b]): [string, Uint8Array] => [nm, nm === name ? bytes.subarray(0, Math.floor(random() * bytes.length)) : b]);
      await run(`file ${f} truncated`, files, false);
    }
    expectClean(t, 'DICOM');
  });
});

describe('fuzz: weights and checkpoints', () => {
  it('every changed byte or truncation of a model file or a checkpoint is refused, in one line', { timeout: 300_000 }, async () => {
    const rt = await gpu();
    const model = new CacNet(rt, TINY_CONFIG);
    const weights = await encodeModel(model);
    const dir = join(root, 'checkpoint');
    await mkdir(dir);
    const opt = makeOptimizer(model, 1e-3);
    await saveCheckpoint(dir, model, opt, { step: 0, options: {}, history: [] });
    opt.dispose();
    model.dispose();
    const checkpoint = new Uint8Array(await readFile(join(dir, CHECKPOINT_FILE)));
    const random = mulberry32(20260320);
    const results = { cases: 0, refused: 0, accepted: [] as string[], bad: [] as string[] };
    const expectRefusal = async (name: string, attempt: () => Promise<unknown>) => {
      results.cases++;
      const [error, seconds] = await timed(() => attempt().then(() => undefined, (e: unknown) => e));
      if (seconds > CASE_SECONDS) results.bad.push(`${name}: ${seconds.toFixed(1)} s`);
      if (error === undefined) return void results.accepted.push(name);
      const message = (error as Error).message ?? '';
      if (!(error instanceof InputError) || message.includes('\n')) results.bad.push(`${name}: ${(error as Error).stack?.split('\n')[0]}`);
      else results.refused++;
    };
    const mutations = (bytes: Uint8Array, count: number) =>
      Array.from({ length: count }, (_, k) => {
        const copy = bytes.slice();
        if (k % 8 === 7) return { name: `cut at`, bytes: copy.subarray(0, Math.floor(random() * bytes.length)) };
        const at = Math.floor(random() * bytes.length);
        copy[at] = (copy[at]! + 1 + Math.floor(random() * 255)) & 0xff;
        return { name: `byte ${at}`, bytes: copy };
      });
    for (const m of mutations(weights, 120)) await expectRefusal(`weights ${m.name}`, async () => readModelBundle(m.bytes, 'w.safetensors'));
    for (const m of mutations(checkpoint, 80)) {
      await writeFile(join(dir, CHECKPOINT_FILE), m.bytes);
      await expectRefusal(`checkpoint ${m.name}`, () => readCheckpoint(dir));
    }
    console.log(`fuzz model files: ${results.cases} cases, ${results.refused} refused; ${results.accepted.length} accepted, ${results.bad.length} bad failures`);
    expect(results.bad).toEqual([]);
    expect(results.accepted).toEqual([]);
  });
});
