/**
 * Scoring one whole scan, the way a user does it: a generated D×H×W CT (a
 * `realistic` phantom from `cacnet phantoms`, cropped or padded in plane and
 * its slices mirrored to the depth asked for) through `cacnet infer` in a
 * child process, timed end to end (start-up, pipeline compilation, reading,
 * windows, blending, scoring, writing), with the same kernel family and
 * adapter as this run (CACNET_KERNELS is passed on).
 *
 * tfjs-webgpu and PyTorch have no scoring pipeline: their column is the same
 * network (DEMO_CONFIG, the shipped one) run forward over as many windows of
 * the same size as `cacnet infer` runs (16x64x64, overlap 0.25), logits read
 * back, no blending or scoring. tfjs times the first 24 windows and scales
 * to the count (said in the report).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNifti, writeNifti } from '../../src/io/nifti-file.js';
import { CacNet } from '../../src/net/cacnet.js';
import { DEMO_CONFIG } from '../../src/net/config.js';
import type { Timing } from '../lib/harness.js';
import type { ScanResult } from '../lib/report.js';
import { randomArray, type BenchContext } from '../lib/context.js';
import { useBackend } from '../lib/tfjs.js';
import { TfCacNet, type HostTensor } from '../tfjs-cacnet.js';

/** `cacnet infer`'s default window and overlap, which the competitors' window count follows. */
const WINDOW = [16, 64, 64] as const;
const OVERLAP = 0.25;
const TFJS_WINDOWS = 24;

function starts(n: number, size: number): number {
  if (n <= size) return 1;
  const stride = Math.max(1, Math.floor(size * (1 - OVERLAP)));
  const s = new Set<number>();
  for (let v = 0; v + size < n; v += stride) s.add(v);
  s.add(n - size);
  return s.size;
}

/** Windows `cacnet infer` runs on a D×H×W scan. */
export function scanWindowCount(dims: readonly [number, number, number]): number {
  return starts(dims[0], WINDOW[0]) * starts(dims[1], WINDOW[1]) * starts(dims[2], WINDOW[2]);
}

const tsx = ['node_modules/tsx/dist/cli.mjs', 'src/cli/main.ts'];

/** Writes a D×H×W CT (HU) to `dir`/scan.nii.gz from a realistic phantom. */
async function makeScan(dir: string, [d, h, w]: readonly [number, number, number]): Promise<string> {
  execFileSync(process.execPath, [...tsx, 'phantoms', '--out', dir, '--count', '1', '--seed', '31', '--preset', 'realistic'], { stdio: 'ignore' });
  const ct = readdirSync(dir).find((f) => /\.nii(\.gz)?$/.test(f) && !/label/i.test(f));
  if (!ct) throw new Error(`cacnet phantoms wrote no CT into ${dir}`);
  const src = await readNifti(join(dir, ct));
  const [sx, sy, sz] = src.dims;
  const data = new Float32Array(w * h * d).fill(-1000);
  const [ox, oy] = [Math.floor((sx - w) / 2), Math.floor((sy - h) / 2)];
  for (let k = 0; k < d; k++) {
    // Mirror at the ends: ..., 1, 0, 0, 1, ..., sz-1, sz-1, ...
    const period = 2 * sz;
    const m = k % period;
    const kk = m < sz ? m : period - 1 - m;
    for (let j = 0; j < h; j++) {
      const y = j + oy;
      if (y < 0 || y >= sy) continue;
      for (let i = 0; i < w; i++) {
        const x = i + ox;
        if (x < 0 || x >= sx) continue;
        data[i + w * (j + h * k)] = src.data[x + sx * (y + sy * kk)]!;
      }
    }
  }
  const path = join(dir, 'scan.nii.gz');
  await writeNifti(path, { data, dims: [w, h, d], spacing: src.spacing, affine: src.affine, source: 'bench scan' });
  return path;
}

export async function scanBench(ctx: BenchContext, dims: readonly [number, number, number], log: (s: string) => void): Promise<ScanResult> {
  const windows = scanWindowCount(dims);
  const dir = mkdtempSync(join(tmpdir(), 'cacnet-scan-'));
  const timings: Timing[] = [];
  const notes: string[] = [];
  try {
    log(`scan ${dims.join('x')} (D x H x W): ${windows} windows of ${WINDOW.join('x')}`);
    const path = await makeScan(dir, dims);
    const env = { ...process.env, ...(ctx.rt.profile.forced ? { CACNET_KERNELS: ctx.rt.profile.family } : {}) };
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [...tsx, 'infer', path, '--out', join(dir, 'out')], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
    const seconds = (performance.now() - t0) / 1e3;
    if (r.status !== 0) throw new Error(`cacnet infer exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
    const risk = /risk category .*/.exec(r.stdout)?.[0] ?? '';
    timings.push({ engine: 'cacnet', median: seconds, samples: [seconds] });
    log(`  cacnet infer: ${seconds.toFixed(1)} s end to end (${risk})`);
    notes.push(`cacnet: \`cacnet infer\` end to end in a fresh process (${risk}).`);

    const h = ctx.tfjs;
    if (h && ctx.engines.has('tfjs-webgpu')) {
      await useBackend(h.tf, 'webgpu');
      const model = new CacNet(ctx.rt, DEMO_CONFIG);
      const host = async (list: Array<[string, { readF32(): Promise<Float32Array>; shape: readonly number[] }]>) => {
        const m = new Map<string, HostTensor>();
        for (const [name, t] of list) m.set(name, { data: await t.readF32(), shape: [...t.shape] });
        return m;
      };
      const net = new TfCacNet(h.tf, DEMO_CONFIG, await host(model.namedParameters()), await host(model.namedState()));
      model.dispose();
      const x = randomArray(WINDOW[0] * WINDOW[1] * WINDOW[2], 7101, 0, 1);
      const f0 = performance.now();
      await net.infer(x, WINDOW);
      const first = (performance.now() - f0) / 1e3;
      const n = Math.min(windows, TFJS_WINDOWS);
      const w0 = performance.now();
      for (let i = 0; i < n; i++) await net.infer(x, WINDOW);
      const per = (performance.now() - w0) / 1e3 / n;
      const total = first + per * (windows - 1);
      timings.push({ engine: 'tfjs-webgpu', median: total, samples: [total], firstCall: first });
      net.dispose();
      log(`  tfjs webgpu: first window ${first.toFixed(1)} s, then ${(per * 1e3).toFixed(0)} ms a window: ${total.toFixed(1)} s for ${windows}`);
      notes.push(`tfjs webgpu: the network forward only, first window (compilation) + ${n} timed windows scaled to ${windows}.`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { dims: [...dims] as [number, number, number], windows, timings, notes };
}
