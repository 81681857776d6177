/**
 * Seconds to score one scan as `cacnet infer` does it, per scan size, for a
 * weights file: read the NIfTI, run the network, put labels on the input grid,
 * score, write the label map, montage and report. Each size runs in a fresh
 * runtime, twice: the first run pays the pipeline compilation every process
 * pays once, the second is warm. Phases are printed too (where the time went).
 *
 *   npx tsx bench/scan-timing.ts [--weights FILE] [--sizes 64x64x16,256x256x40,512x512x60]
 *                                [--max-windows N] [--json FILE]
 *
 * --max-windows N: a network that slides over the scan's own grid (the
 * weights before the working grid) stops after N windows and its network time
 * is extrapolated to all of them (the per-window cost is constant); marked *.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Runtime } from '../src/gpu/runtime.js';
import { generatePhantom } from '../src/phantom/phantom.js';
import { writeNifti } from '../src/io/nifti-file.js';
import { readScan } from '../src/io/read-scan.js';
import { loadModelFile, SHIPPED_WEIGHTS } from '../src/cli/model-io.js';
import { writeScanOutputs } from '../src/cli/scan-outputs.js';
import { scoreCt } from '../src/net/pipeline.js';

interface Run {
  total: number;
  phases: Record<string, number>;
}

interface Timing {
  size: string;
  spacing: number[];
  windows: number;
  windowsRun: number;
  cold: Run;
  warm: Run;
  extrapolated: boolean;
}

class StopAfter extends Error {}

async function timeSize(weights: string, dims: [number, number, number], maxWindows: number, dir: string): Promise<Timing> {
  // The small phantoms' own grid; scanner-like grids at 0.9 and 0.5 mm with 3 mm slices.
  const small = dims[0] <= 64;
  const pixel = dims[0] <= 256 ? 0.9 : 0.5;
  const p = generatePhantom(small ? { seed: 77, riskTarget: 3 } : { seed: 77, preset: 'realistic', dims, spacing: [pixel, pixel, 3], riskTarget: 3 });
  const path = join(dir, `scan-${dims.join('x')}.nii.gz`);
  await writeNifti(path, p.ct);
  const rt = await Runtime.create();
  const model = await loadModelFile(rt, weights);
  let windows = 0;
  let windowsRun = 0;
  const once = async (): Promise<Run> => {
    const t0 = performance.now();
    const scan = await readScan(path);
    const t1 = performance.now();
    let phases: Record<string, number>;
    try {
      const r = await scoreCt(rt, model, scan, {
        inference: {
          onProgress: (done, total) => {
            windows = total;
            windowsRun = done;
            if (done >= maxWindows && done < total) throw new StopAfter();
          },
        },
      });
      const t2 = performance.now();
      await writeScanOutputs(dir, 'scan', scan, r, { id: 'scan', source: path, dims: scan.dims, spacing: scan.spacing, software: 'bench' });
      phases = { read: (t1 - t0) / 1000, ...r.seconds, write: (performance.now() - t2) / 1000 };
    } catch (e) {
      if (!(e instanceof StopAfter)) throw e;
      phases = { read: (t1 - t0) / 1000, network: (performance.now() - t1) / 1000 };
    }
    return { total: (performance.now() - t0) / 1000, phases };
  };
  const cold = await once();
  const warm = await once();
  model.dispose();
  rt.destroy();
  const extrapolated = windowsRun < windows;
  if (extrapolated) {
    // The compilation happens in the first window and is not scaled; the per-window cost is.
    const perWindow = warm.phases.network! / windowsRun;
    const compile = cold.phases.network! - warm.phases.network!;
    warm.phases.network = perWindow * windows;
    cold.phases.network = compile + perWindow * windows;
    for (const r of [cold, warm]) r.total = Object.values(r.phases).reduce((a, b) => a + b, 0);
  }
  return { size: dims.join('x'), spacing: p.ct.spacing.map((s) => Math.round(s * 100) / 100), windows, windowsRun, cold, warm, extrapolated };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { weights: { type: 'string' }, sizes: { type: 'string' }, 'max-windows': { type: 'string' }, json: { type: 'string' } } });
  const weights = values.weights ?? SHIPPED_WEIGHTS;
  const sizes = (values.sizes ?? '64x64x16,256x256x40,512x512x60').split(',').map((s) => s.split('x').map(Number) as [number, number, number]);
  const maxWindows = Number(values['max-windows'] ?? Infinity);
  const dir = await mkdtemp(join(tmpdir(), 'cacnet-scan-timing-'));
  const rows: Timing[] = [];
  try {
    for (const dims of sizes) {
      const t = await timeSize(weights, dims, maxWindows, dir);
      rows.push(t);
      console.log(JSON.stringify(t));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const mark = (r: Timing) => (r.extrapolated ? '*' : '');
  const phases = (run: Run) => Object.entries(run.phases).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
  console.log(`\n| scan | voxel mm | windows | first run (s) | warm run (s) | warm run by phase (s) |\n|---|---|---:|---:|---:|---|`);
  for (const r of rows) console.log(`| ${r.size} | ${r.spacing.join(' x ')} | ${r.windows} | ${r.cold.total.toFixed(1)}${mark(r)} | ${r.warm.total.toFixed(1)}${mark(r)} | ${phases(r.warm)} |`);
  if (rows.some((r) => r.extrapolated)) console.log(`\n* network time extrapolated from the first ${maxWindows} windows of each run`);
  if (values.json) writeFileSync(values.json, JSON.stringify({ weights, rows }, null, 2));
}

await main();
