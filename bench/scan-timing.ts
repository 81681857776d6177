/**
 * Seconds to score one scan, end to end as `cacnet infer` does it (network,
 * labels on the input grid, Agatston/volume/mass), per scan size, for a
 * weights file. Each size runs in a fresh runtime, twice: the first run pays
 * the pipeline compilation every process pays once, the second is warm.
 *
 *   npx tsx bench/scan-timing.ts [--weights FILE] [--sizes 64x64x16,256x256x40,512x512x60]
 *                                [--max-windows N] [--json FILE]
 *
 * --max-windows N: a network that slides over the scan's own grid (the
 * weights before the working grid) stops after N windows and the time is
 * extrapolated to all of them (the per-window cost is constant); said so in
 * the output.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Runtime } from '../src/gpu/runtime.js';
import { generatePhantom } from '../src/phantom/phantom.js';
import { loadModelFile, SHIPPED_WEIGHTS } from '../src/cli/model-io.js';
import { scoreCt } from '../src/net/pipeline.js';

interface Timing {
  size: string;
  spacing: number[];
  windows: number;
  windowsRun: number;
  coldSeconds: number;
  warmSeconds: number;
  extrapolated: boolean;
}

class StopAfter extends Error {}

async function timeSize(weights: string, dims: [number, number, number], maxWindows: number): Promise<Timing> {
  // The small phantoms' own grid; scanner-like grids at 0.9 and 0.5 mm with 3 mm slices.
  const small = dims[0] <= 64;
  const pixel = dims[0] <= 256 ? 0.9 : 0.5;
  const p = generatePhantom(small ? { seed: 77, riskTarget: 3 } : { seed: 77, preset: 'realistic', dims, spacing: [pixel, pixel, 3], riskTarget: 3 });
  const rt = await Runtime.create();
  const model = await loadModelFile(rt, weights);
  let windows = 0;
  let windowsRun = 0;
  const run = async (): Promise<number> => {
    const t0 = performance.now();
    try {
      await scoreCt(rt, model, p.ct, {
        inference: {
          onProgress: (done, total) => {
            windows = total;
            windowsRun = done;
            if (!model.config.workingGrid && done >= maxWindows && done < total) throw new StopAfter();
          },
        },
      });
    } catch (e) {
      if (!(e instanceof StopAfter)) throw e;
    }
    return (performance.now() - t0) / 1000;
  };
  const cold = await run();
  const warm = await run();
  const scale = windows / Math.max(1, windowsRun);
  model.dispose();
  rt.destroy();
  return {
    size: dims.join('x'),
    spacing: p.ct.spacing.map((s) => Math.round(s * 100) / 100),
    windows,
    windowsRun,
    // Extrapolated: the compilation happens in the first window and is not scaled.
    coldSeconds: windowsRun < windows ? cold - warm + warm * scale : cold,
    warmSeconds: warm * scale,
    extrapolated: windowsRun < windows,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { weights: { type: 'string' }, sizes: { type: 'string' }, 'max-windows': { type: 'string' }, json: { type: 'string' } } });
  const weights = values.weights ?? SHIPPED_WEIGHTS;
  const sizes = (values.sizes ?? '64x64x16,256x256x40,512x512x60').split(',').map((s) => s.split('x').map(Number) as [number, number, number]);
  const maxWindows = Number(values['max-windows'] ?? Infinity);
  const rows: Timing[] = [];
  for (const dims of sizes) {
    const t = await timeSize(weights, dims, maxWindows);
    rows.push(t);
    console.log(JSON.stringify(t));
  }
  console.log(`\n| scan | voxel mm | windows | first run (s) | warm run (s) |\n|---|---|---:|---:|---:|`);
  for (const r of rows) console.log(`| ${r.size} | ${r.spacing.join(' x ')} | ${r.windows} | ${r.coldSeconds.toFixed(1)}${r.extrapolated ? '*' : ''} | ${r.warmSeconds.toFixed(1)}${r.extrapolated ? '*' : ''} |`);
  if (rows.some((r) => r.extrapolated)) console.log(`\n* extrapolated from the first ${maxWindows} windows of each run`);
  if (values.json) writeFileSync(values.json, JSON.stringify({ weights, rows }, null, 2));
}

await main();
