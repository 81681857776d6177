/**
 * End to end: the browser app in headless Chromium (Debian's `chromium`,
 * driven by playwright-core) scores a phantom scan on WebGPU and gets the
 * numbers `cacnet infer` gets in Node for the same file and weights.
 *
 * Chromium flags, as found on a GPU-less Linux machine (Chromium 156):
 *  - `--enable-unsafe-webgpu` is what gives navigator.gpu an adapter there;
 *    without it requestAdapter() resolves to null. The adapter is SwiftShader
 *    (vendor 'google', architecture 'swiftshader', isFallbackAdapter true).
 *  - `--use-webgpu-adapter=swiftshader` pins that adapter, so a machine with a
 *    GPU gives the same numbers as CI; `--enable-features=Vulkan` and
 *    `--use-vulkan=swiftshader` change nothing here and are not needed.
 *  - `--no-sandbox` because CI runs as root.
 * The page is served on http://127.0.0.1 (a secure context, which WebGPU needs).
 *
 * Set CACNET_UPDATE_SCREENSHOT=1 to refresh docs/web-screenshot.png (the README's).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpuLimitError, GpuUnavailableError, InputError } from '../src/base/errors.js';
import { decodeNifti, encodeNifti, gzip, niftiHeaderForGrid } from '../src/io/nifti.js';
import { writeNifti } from '../src/io/nifti-file.js';
import { generatePhantom } from '../src/phantom/phantom.js';
import { phantomKind } from '../src/phantom/for-network.js';
import { ARTERIES } from '../src/io/volume.js';
import { gaussian, mulberry32 } from '../src/base/random.js';
import { encodeWithInferenceSettings, readModelBundle } from '../src/net/model-bundle.js';
import { buildWeb } from '../web/build.js';
import { describeProblem } from '../web/problems.js';
import { encodeCtSlice } from './helpers/dicom-writer.js';
import { cliCommand, REPO } from './helpers/cli.js';
import { startWebServer, type WebServer } from '../web/serve.js';

const run = promisify(execFile);
const CHROMIUM = process.env.CACNET_CHROMIUM ?? '/usr/bin/chromium';
/** The shipped weights; CACNET_E2E_WEIGHTS may point elsewhere while developing. */
const WEIGHTS = process.env.CACNET_E2E_WEIGHTS ?? join(REPO, 'weights', 'cacnet-demo.safetensors');
const OUT = join(REPO, 'out', 'web-e2e');
const SCREENSHOT = join(REPO, 'docs', 'web-screenshot.png');
const PHANTOM = { seed: 7, riskTarget: 3 } as const;
/** The first test's scan: with the scanner preset's held-out ranges, 512×512×64 at 0.34×0.34×2.8 mm. */
const SCANNER_PHANTOM = { seed: 1, riskTarget: 3 } as const;

const BASE_ARGS = [
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-domain-reliability',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-quic',
];
const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];

type Scores = Record<string, { agatston: number; volumeMm3: number; massMg: number; lesionCount: number }>;

let web: WebServer;
let browser: Browser;
let work: string;
/** Every request any page made, with the URL of the page that made it. */
const requests: string[] = [];

function launch(args: string[]): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args, timeout: 60_000 });
}

async function newPage(b: Browser): Promise<Page> {
  const context = await b.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, acceptDownloads: true });
  context.on('request', (r) => requests.push(r.url()));
  context.on('weberror', (e) => console.error(`page error: ${e.error().message}`));
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) console.error(`console: ${m.text()}`);
  });
  return page;
}

/** Waits until the page has finished what it was doing (state is not starting/loading/running). */
async function settled(page: Page, timeout: number): Promise<string> {
  await page.waitForFunction(() => !['starting', 'loading', 'running'].includes(document.body.dataset.state ?? 'starting'), null, { timeout, polling: 250 });
  return page.evaluate(() => document.body.dataset.state!);
}

/** Does `action` (which opens a scan), then waits for the page to finish with it. */
async function act(page: Page, action: () => Promise<unknown>, timeout: number): Promise<string> {
  const before = await page.evaluate(() => Number(document.body.dataset.opens ?? 0));
  await action();
  await page.waitForFunction((n) => Number(document.body.dataset.opens ?? 0) > n, before, { timeout: 30_000 });
  return settled(page, timeout);
}

async function pageProblem(page: Page): Promise<{ kind?: string; text: string }> {
  return page.evaluate(() => ({ kind: document.body.dataset.problem, text: document.getElementById('banner')!.innerText }));
}

async function pageScores(page: Page): Promise<{ scores: Scores; risk: number }> {
  return page.evaluate(() => {
    const scores: Record<string, Record<string, number>> = {};
    for (const tr of document.querySelectorAll<HTMLTableRowElement>('#results tr[data-artery]')) {
      const row: Record<string, number> = {};
      for (const td of tr.querySelectorAll<HTMLTableCellElement>('td[data-field]')) row[td.dataset.field!] = Number(td.dataset.value);
      scores[tr.dataset.artery!] = row;
    }
    return { scores: scores as Scores, risk: Number(document.getElementById('risk')!.dataset.value) };
  });
}

function expectScoresClose(actual: Scores, expected: Scores, what: string): void {
  for (const a of [...ARTERIES, 'total']) {
    const x = actual[a]!;
    const y = expected[a]!;
    expect(x.lesionCount, `${what}: ${a} lesion count`).toBe(y.lesionCount);
    for (const k of ['agatston', 'volumeMm3', 'massMg'] as const) {
      // f32 GPU arithmetic on both sides; the scores are float64 sums over the same voxels.
      expect(Math.abs(x[k] - y[k]), `${what}: ${a} ${k} ${x[k]} vs ${y[k]}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(y[k])));
    }
  }
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: the browser test needs Debian's chromium (run ./setup.sh, or apt-get install chromium), or set CACNET_CHROMIUM`);
  }
  await buildWeb();
  web = await startWebServer({ weights: WEIGHTS });
  browser = await launch([...BASE_ARGS, ...WEBGPU_ARGS]);
  work = join(tmpdir(), `cacnet-web-e2e-${process.pid}`);
  await mkdir(work, { recursive: true });
  await mkdir(OUT, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await web?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('browser app', () => {
  it('scores a phantom on WebGPU with the numbers the Node CLI gives, refuses a scan too large, and talks to no other origin', async () => {
    if (!existsSync(WEIGHTS)) {
      throw new Error(`the shipped weights ${WEIGHTS} are missing: this test scores with them (train them with 'cacnet train', see README)`);
    }
    // The scan: a phantom of the kind the shipped network is made for (small for the demo network; for a
    // working-grid network a 512×512×64 scan at 0.34 mm, as a scanner writes it), written as NIfTI: the
    // file both sides read.
    const kind = phantomKind(readModelBundle(new Uint8Array(await readFile(WEIGHTS)), WEIGHTS).config, 'evaluate');
    const which = kind.preset === 'scanner' ? SCANNER_PHANTOM : PHANTOM;
    const phantom = generatePhantom({ seed: which.seed, ...kind, riskTarget: which.riskTarget });
    if (kind.preset === 'scanner') expect(phantom.ct.dims).toEqual([512, 512, 64]);
    const scanPath = join(work, 'phantom.nii.gz');
    await writeNifti(scanPath, phantom.ct);

    // Node: the CLI on the same file and weights.
    const t0 = performance.now();
    await run(process.execPath, [...cliCommand(), 'infer', scanPath, '--out', work, '--weights', WEIGHTS], { cwd: REPO, timeout: 300_000 });
    const cliSeconds = (performance.now() - t0) / 1000;
    const report = JSON.parse(await readFile(join(work, 'phantom.json'), 'utf8')) as { perArtery: Scores; total: Scores[string]; riskCategory: number };
    const cliScores: Scores = { ...report.perArtery, total: report.total };
    const cliLabels = await decodeNifti(await readFile(join(work, 'phantom_labels.nii.gz')), 'CLI labels');

    // Browser: open the page, load the same file, let it score.
    const page = await newPage(browser);
    await page.goto(web.url);
    expect(await settled(page, 120_000), JSON.stringify(await pageProblem(page))).toBe('ready');
    const t1 = performance.now();
    const state = await act(page, () => page.setInputFiles('#file-nifti', scanPath), 300_000);
    const browserSeconds = (performance.now() - t1) / 1000;
    expect(state, JSON.stringify(await pageProblem(page))).toBe('done');
    console.log(`web e2e: CLI ${cliSeconds.toFixed(1)} s, browser ${browserSeconds.toFixed(1)} s (load + inference + scoring)`);

    const { scores, risk } = await pageScores(page);
    expectScoresClose(scores, cliScores, 'browser vs CLI');
    expect(risk).toBe(report.riskCategory);

    // The label map download holds the CLI's labels, voxel for voxel.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dl-labels')]);
    expect(download.suggestedFilename()).toBe('phantom_labels.nii.gz');
    const labelsPath = join(work, 'browser_labels.nii.gz');
    await download.saveAs(labelsPath);
    const browserLabels = await decodeNifti(await readFile(labelsPath), 'browser labels');
    expect(browserLabels.dims).toEqual(cliLabels.dims);
    let differ = 0;
    for (let i = 0; i < cliLabels.data.length; i++) if (browserLabels.data[i] !== cliLabels.data[i]) differ++;
    expect(differ, 'voxels labelled differently by the browser and the CLI').toBe(0);

    // The JSON report download carries the same scores.
    const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.click('#dl-report')]);
    const browserReport = JSON.parse(await readFile((await jsonDownload.path())!, 'utf8')) as typeof report;
    expectScoresClose({ ...browserReport.perArtery, total: browserReport.total }, cliScores, 'browser report vs CLI');

    // The viewer paints calcium in artery colours when there is any.
    const colouredPixels = () =>
      page.evaluate(() => {
        const c = document.getElementById('view') as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let coloured = 0;
        for (let i = 0; i < d.length; i += 4) if (Math.max(d[i]!, d[i + 1]!, d[i + 2]!) - Math.min(d[i]!, d[i + 1]!, d[i + 2]!) > 80) coloured++;
        return coloured;
      });
    if (cliScores.total!.lesionCount > 0) expect(await colouredPixels()).toBeGreaterThan(0);

    // The phantom button makes the same scan in the tab (same generator, same seed): same scores again.
    await page.fill('#phantom-seed', String(which.seed));
    await page.selectOption('#phantom-risk', String(which.riskTarget));
    expect(await act(page, () => page.click('#phantom'), 300_000), JSON.stringify(await pageProblem(page))).toBe('done');
    expectScoresClose((await pageScores(page)).scores, cliScores, 'phantom button vs CLI on the written phantom');
    expect(await page.evaluate(() => document.getElementById('truth')!.innerText)).toMatch(/Phantom ground truth: Agatston [\d,.]+/);
    // Its ground truth can be painted instead of the network's labels.
    await page.selectOption('#overlay-source', 'truth');
    expect(await colouredPixels()).toBeGreaterThan(0);
    // Back to the network's labels for the screenshot.
    await page.selectOption('#overlay-source', 'prediction');

    // Screenshot (full page), checked to be a real picture.
    const shot = join(OUT, 'web-screenshot.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = PNG.sync.read(await readFile(shot));
    expect(png.width).toBe(1280);
    expect(png.height).toBeGreaterThan(600);
    if (process.env.CACNET_UPDATE_SCREENSHOT === '1') {
      await mkdir(join(REPO, 'docs'), { recursive: true });
      await copyFile(shot, SCREENSHOT);
    }

    // A scan too large for the device (512×512×300: the inference buffers would not fit the tab) is refused clearly.
    const big = join(work, 'big.nii.gz');
    const bigDims: [number, number, number] = [512, 512, 300];
    const air = new Int16Array(bigDims[0] * bigDims[1] * bigDims[2]).fill(-1000);
    air[12345] = 400;
    await writeFile(big, await gzip(encodeNifti(niftiHeaderForGrid(bigDims, [0.4, 0.4, 0.5], [0.4, 0, 0, 0, 0, 0.4, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 1]), air)));
    expect(await act(page, () => page.setInputFiles('#file-nifti', big), 120_000)).toBe('error');
    const tooLarge = await pageProblem(page);
    expect(tooLarge.kind).toBe('too-large');
    expect(tooLarge.text).toMatch(/This scan does not fit this device/);
    expect(tooLarge.text).toMatch(/512×512×300 voxels/);

    // No request went anywhere but the page's own origin (blob: downloads are made in the tab).
    const origin = new URL(web.url).origin;
    const foreign = requests.filter((u) => {
      if (u.startsWith('data:')) return false;
      if (u.startsWith('blob:')) return new URL(u.slice('blob:'.length)).origin !== origin;
      return new URL(u).origin !== origin;
    });
    expect(requests.length).toBeGreaterThan(0);
    expect(foreign, 'requests to other origins').toEqual([]);
    await page.context().close();
  }, 600_000);

  it('agrees with the CLI voxel for voxel where the network does label calcium', async () => {
    // The shipped demo weights may find little or no calcium, which would make the comparison
    // above hold trivially. Here the shipped network gets a random 3D head (seeded, no bias), so
    // that it labels most calcium-candidate voxels with some artery; page and CLI must still agree.
    const shipped = readModelBundle(new Uint8Array(await readFile(WEIGHTS)), WEIGHTS);
    const normal = gaussian(mulberry32(20181116));
    for (const [name, t] of shipped.tensors) {
      if (name === 'unet3d.head.weight') t.data = Float32Array.from(t.data, () => 0.5 * normal());
      if (name === 'unet3d.head.bias') t.data = new Float32Array(t.data.length);
    }
    const weights = join(work, 'random-head.safetensors');
    // Through the bundle's encoder, which gives the edited file its own checksum.
    await writeFile(weights, encodeWithInferenceSettings(shipped, shipped.inference));
    const phantom = generatePhantom({ seed: PHANTOM.seed, preset: 'small', riskTarget: PHANTOM.riskTarget });
    const scanPath = join(work, 'phantom2.nii.gz');
    await writeNifti(scanPath, phantom.ct);
    const out = join(work, 'random-head');
    await run(process.execPath, [...cliCommand(), 'infer', scanPath, '--out', out, '--weights', weights], { cwd: REPO, timeout: 300_000 });
    const report = JSON.parse(await readFile(join(out, 'phantom2.json'), 'utf8')) as { perArtery: Scores; total: Scores[string] };
    const cliScores: Scores = { ...report.perArtery, total: report.total };
    expect(cliScores.total!.lesionCount, 'the random head should label some calcium').toBeGreaterThan(0);

    const server = await startWebServer({ weights });
    try {
      const page = await newPage(browser);
      await page.goto(server.url);
      expect(await settled(page, 120_000), JSON.stringify(await pageProblem(page))).toBe('ready');
      expect(await act(page, () => page.setInputFiles('#file-nifti', scanPath), 300_000), JSON.stringify(await pageProblem(page))).toBe('done');
      expectScoresClose((await pageScores(page)).scores, cliScores, 'browser vs CLI (random head)');
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dl-labels')]);
      const browserLabels = await decodeNifti(await readFile((await download.path())!), 'browser labels');
      const cliLabels = await decodeNifti(await readFile(join(out, 'phantom2_labels.nii.gz')), 'CLI labels');
      let differ = 0;
      let labelled = 0;
      for (let i = 0; i < cliLabels.data.length; i++) {
        if (browserLabels.data[i] !== cliLabels.data[i]) differ++;
        if (cliLabels.data[i] !== 0) labelled++;
      }
      expect(labelled).toBeGreaterThan(0);
      console.log(`web e2e (random head): ${labelled} voxels in ${cliScores.total!.lesionCount} lesions labelled, ${differ} differ`);
      expect(differ, `voxels labelled differently by the browser and the CLI (of ${labelled} labelled)`).toBe(0);
      await page.context().close();
    } finally {
      await server.close();
    }
    const origin = (u: string) => new URL(u.startsWith('blob:') ? u.slice(5) : u).origin;
    expect(requests.filter((u) => !u.startsWith('data:') && origin(u) !== new URL(web.url).origin && origin(u) !== new URL(server.url).origin)).toEqual([]);
  }, 600_000);

  it('says when a file is not a CT volume', async () => {
    const page = await newPage(browser);
    await page.goto(web.url);
    await settled(page, 120_000);
    // A single 2D slice.
    const flat = join(work, 'slice.nii');
    await writeFile(flat, encodeNifti(niftiHeaderForGrid([8, 8, 1], [1, 1, 1], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]), new Float32Array(64).fill(-1000)));
    expect(await act(page, () => page.setInputFiles('#file-nifti', flat), 60_000)).toBe('error');
    let p = await pageProblem(page);
    expect(p.kind).toBe('not-ct');
    expect(p.text).toMatch(/not a CT volume/);
    expect(p.text).toMatch(/8×8×1 image is not a 3D volume/);
    // Not NIfTI at all.
    const text = join(work, 'notes.nii');
    await writeFile(text, 'these are my notes, not a scan\n'.repeat(20));
    expect(await act(page, () => page.setInputFiles('#file-nifti', text), 60_000)).toBe('error');
    p = await pageProblem(page);
    expect(p.kind).toBe('not-ct');
    expect(p.text).toMatch(/notes\.nii: not a NIfTI-1 file/);
    // A volume that is not in Hounsfield units (a label map).
    const labelsLike = join(work, 'labels.nii');
    await writeFile(labelsLike, encodeNifti(niftiHeaderForGrid([8, 8, 4], [1, 1, 1], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], 'uint8'), new Uint8Array(256).fill(2)));
    expect(await act(page, () => page.setInputFiles('#file-nifti', labelsLike), 60_000)).toBe('error');
    expect((await pageProblem(page)).text).toMatch(/not a CT in Hounsfield units/);
    await page.context().close();
  }, 180_000);

  it('says when WebGPU is unavailable, and still shows a scan', async () => {
    const noGpu = await launch(BASE_ARGS); // no --enable-unsafe-webgpu: no adapter on a GPU-less Linux machine
    try {
      const page = await newPage(noGpu);
      await page.goto(web.url);
      expect(await settled(page, 60_000)).toBe('error');
      const p = await pageProblem(page);
      expect(p.kind).toBe('no-webgpu');
      expect(p.text).toMatch(/WebGPU is not available in this browser/);
      // The phantom button still opens a scan for viewing; scoring then says the same.
      expect(await act(page, () => page.click('#phantom'), 60_000)).toBe('error');
      expect((await pageProblem(page)).kind).toBe('no-webgpu');
      expect(await page.evaluate(() => document.getElementById('slice-label')!.textContent)).toMatch(/\/ 16$/);

      // A DICOM study folder as exported (the phantom as a series of 16 files, nested beside a
      // two-image localiser) decodes in the tab too, with the series chosen as the CLI chooses it.
      const { ct } = generatePhantom({ seed: PHANTOM.seed, preset: 'small', riskTarget: PHANTOM.riskTarget });
      const [nx, ny, nz] = ct.dims;
      const study = join(work, 'dicom-study');
      const folder = join(study, 'DICOM', 'SE2');
      await mkdir(folder, { recursive: true });
      await mkdir(join(study, 'DICOM', 'SE1'), { recursive: true });
      for (let k = 0; k < 2; k++) {
        const scout = encodeCtSlice({
          seriesUid: '1.2.826.0.1.3680043.10.2',
          instanceNumber: k + 1,
          rows: 4,
          columns: 4,
          pixelSpacing: [1, 1],
          orientation: k ? [0, 1, 0, 0, 0, -1] : [1, 0, 0, 0, 0, -1],
          position: [0, 0, 0],
          pixels: Array(16).fill(0),
          signed: true,
          extra: [{ tag: 0x00080008, vr: 'CS', value: 'ORIGINAL\\PRIMARY\\LOCALIZER' }],
        });
        await writeFile(join(study, 'DICOM', 'SE1', `IM${k}`), scout);
      }
      for (let k = 0; k < nz; k++) {
        const pixels = Array.from(ct.data.subarray(k * nx * ny, (k + 1) * nx * ny), (hu) => Math.round(hu));
        const slice = encodeCtSlice({
          seriesUid: '1.2.826.0.1.3680043.10.1',
          instanceNumber: k + 1,
          rows: ny,
          columns: nx,
          pixelSpacing: [ct.spacing[1], ct.spacing[0]],
          orientation: [1, 0, 0, 0, 1, 0],
          position: [0, 0, k * ct.spacing[2]],
          pixels,
          signed: true,
        });
        await writeFile(join(folder, `IM${String(nz - k).padStart(4, '0')}`), slice);
      }
      await writeFile(join(folder, 'README.txt'), 'not a DICOM file; ignored\n');
      expect(await act(page, () => page.setInputFiles('#file-dicom', study), 60_000)).toBe('error');
      expect((await pageProblem(page)).kind).toBe('no-webgpu');
      const info = await page.evaluate(() => document.getElementById('scan-info')!.innerText);
      expect(info).toMatch(/DICOM series/);
      expect(info).toMatch(/64 × 64 × 16 voxels/);
      expect(info).toMatch(/\* series 1\.2\.826\.0\.1\.3680043\.10\.1: 16 CT images 64x64.*\[chosen: axial CT, 16 slices/);
      expect(info).toMatch(/series 1\.2\.826\.0\.1\.3680043\.10\.2: 2 CT images 4x4.*\[skipped: localiser/);
    } finally {
      await noGpu.close();
    }
  }, 120_000);

  it('bundles no Node-only code', async () => {
    const bundle = await readFile(join(REPO, 'web', 'dist', 'app.js'), 'utf8');
    expect(bundle).not.toMatch(/\bfrom\s*["'](node:|webgpu["'])|\bimport\s*\(\s*["'](node:|webgpu["'])|\brequire\(\s*["']node:/);
    expect(bundle).toMatch(/browser-stub:node-gpu/); // src/gpu/node-gpu.ts is replaced by a stub
    expect(bundle).not.toMatch(/\b(existsSync|readdirSync|readFile)\(/);
    expect(bundle).toMatch(/navigator/);
  });

  it('sorts errors into what the page tells the user', () => {
    expect(describeProblem(new GpuLimitError('this scan does not fit the device: even a 8x8x8 window exceeds the binding limit'), 'score').kind).toBe('too-large');
    expect(describeProblem(new Error('GPU error: Out of memory'), 'score').title).toBe('This scan does not fit this device');
    expect(describeProblem(new GpuUnavailableError('no adapter'), 'score').kind).toBe('no-webgpu');
    expect(describeProblem(new RangeError('Array buffer allocation failed'), 'score').kind).toBe('too-large');
    expect(describeProblem(new InputError('x.nii: 2D image'), 'open').kind).toBe('not-ct');
  });
});
