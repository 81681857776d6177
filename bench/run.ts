/**
 * `npm run bench` (and `cacnet bench`): cacnet against TensorFlow.js (webgpu on
 * the same Dawn adapter, and cpu), onnxruntime-node (cpu) for the convolutions,
 * and the adapter's own measured limits. Prints a table and writes
 * bench/RESULTS.md (and, with --json, the raw samples).
 *
 *   npx tsx bench/run.ts [--quick] [--only roofline,ops,conv,network,scan] [--adapter auto|hardware|swiftshader]
 *                        [--kernels gpu|swiftshader] [--configs demo,paper] [--scan D,H,W]
 *                        [--robust] [--no-tfjs] [--no-cpu] [--no-onnx] [--samples N] [--max-time S]
 *                        [--out FILE|-] [--json FILE]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Runtime } from '../src/gpu/runtime.js';
import { runRow, type Engine, type Row, type RowResult } from './lib/harness.js';
import { bestOf, measureRoofline, type Roofline } from './lib/roofline.js';
import { measureOverheads, profileCall, type Overheads } from './lib/profile.js';
import { renderConsole, renderMarkdown, type BenchResults, type NetworkResult, type ScanResult } from './lib/report.js';
import { CacNet } from '../src/net/cacnet.js';
import { DEMO_CONFIG, PAPER_CONFIG } from '../src/net/config.js';
import { scanWindowCount } from './suites/scan.js';
import { loadTfjs, type TfjsHandle } from './lib/tfjs.js';
import type { BenchContext } from './lib/context.js';
import { opRows } from './suites/ops.js';
import { convRows } from './suites/conv.js';
import { networkBench } from './suites/network.js';
import { scanBench } from './suites/scan.js';
import { KERNEL_FAMILIES, describeProfile, type KernelFamily } from '../src/gpu/profile.js';
import { evaluateTargets } from './targets.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SUITES = ['roofline', 'ops', 'conv', 'network', 'scan'] as const;
type Suite = (typeof SUITES)[number];

const USAGE = `usage: npm run bench -- [options]    (or: cacnet bench [options])

  --quick            2 samples a row and a small whole-network patch: a smoke run (about 5 min on SwiftShader)
  --only LIST        comma-separated suites: ${SUITES.join(',')} (default: all)
  --adapter A        auto (GPU first, then SwiftShader), hardware, swiftshader (default auto)
  --kernels F        force cacnet's kernel family: gpu or swiftshader (default: chosen by the adapter)
  --compute-units N  plan cacnet's kernels as if the device had N compute units (rehearsing a GPU's plans)
  --configs LIST     whole-network configurations: demo,paper (default demo)
  --rows REGEX       only the conv and op rows whose name matches (a rehearsal's subset)
  --scan D,H,W       scan suite: score a generated D x H x W scan through \`cacnet infer\` (default 60,512,512)
  --robust           keep Dawn's robustness on (both engines)
  --no-tfjs          cacnet only (no TensorFlow.js rows)
  --no-cpu           leave out the tfjs cpu backend
  --no-onnx          leave out onnxruntime-node
  --patch D,H,W      whole-network patch (default 16,64,64 on a GPU, 16,16,16 on SwiftShader, 8,16,16 with --quick)
  --samples N        samples per cell (default 5; slow cells use fewer)
  --max-time S       seconds after which a cell stops sampling once it has its samples (default 0.5)
  --out FILE         where the markdown report goes (default bench/RESULTS.md; '-' for none)
  --json FILE        also write every sample as JSON
  --emit-specs FILE  write the op and conv rows' shapes as JSON (for bench/pytorch_ops.py) and exit
  --pytorch FILE     add a PyTorch column from bench/pytorch_ops.py's JSON (bench/gpu-run.sh runs both)
  --render FILE      no measuring: rewrite the report from a --json file (with today's bench/analysis.md)
  -h, --help         this help`;

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean' },
        only: { type: 'string' },
        adapter: { type: 'string' },
        robust: { type: 'boolean' },
        'no-tfjs': { type: 'boolean' },
        'no-cpu': { type: 'boolean' },
        'no-onnx': { type: 'boolean' },
        samples: { type: 'string' },
        patch: { type: 'string' },
        kernels: { type: 'string' },
        'compute-units': { type: 'string' },
        configs: { type: 'string' },
        scan: { type: 'string' },
        rows: { type: 'string' },
        'max-time': { type: 'string' },
        out: { type: 'string' },
        json: { type: 'string' },
        'emit-specs': { type: 'string' },
        pytorch: { type: 'string' },
        render: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    console.error(`bench: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const v = args.values;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  if (v.render) {
    // JSON has no NaN: failed cells come back as null.
    const results = JSON.parse(readFileSync(v.render, 'utf8'), (_k, val: unknown) => (val === null ? NaN : val)) as BenchResults & { network?: NetworkResult | null };
    // Runs before 2026-12 had one network result.
    results.networks ??= results.network ? [results.network] : [];
    finish(results);
    const out = v.out ?? join(HERE, 'RESULTS.md');
    console.log(renderConsole(results));
    if (out !== '-') writeFileSync(out, renderMarkdown(results));
    console.log(`bench: rendered ${v.render} into ${out}`);
    return 0;
  }
  const only = new Set((v.only ?? SUITES.join(',')).split(',').map((s) => s.trim()).filter(Boolean));
  for (const s of only) {
    if (!SUITES.includes(s as Suite)) {
      console.error(`bench: unknown suite '${s}' (suites: ${SUITES.join(', ')})`);
      return 2;
    }
  }
  const adapter = (v.adapter ?? 'auto') as 'auto' | 'hardware' | 'swiftshader';
  if (!['auto', 'hardware', 'swiftshader'].includes(adapter)) {
    console.error(`bench: --adapter must be auto, hardware or swiftshader, got '${v.adapter}'`);
    return 2;
  }
  const quick = !!v.quick;
  const minSamples = Number(v.samples ?? (quick ? 2 : 5));
  const maxTime = Number(v['max-time'] ?? (quick ? 0 : 0.5));
  if (!(minSamples >= 1) || !(maxTime >= 0)) {
    console.error('bench: --samples must be >= 1 and --max-time >= 0');
    return 2;
  }
  let patch: [number, number, number] | undefined;
  if (v.patch !== undefined) {
    const p = v.patch.split(',').map(Number);
    if (p.length !== 3 || p.some((d) => !Number.isInteger(d) || d < 8 || d % 8)) {
      console.error(`bench: --patch must be D,H,W, each a multiple of 8 (the network pools three times), got '${v.patch}'`);
      return 2;
    }
    patch = p as [number, number, number];
  }
  const kernels = v.kernels as KernelFamily | undefined;
  if (kernels !== undefined && !KERNEL_FAMILIES.includes(kernels)) {
    console.error(`bench: --kernels must be ${KERNEL_FAMILIES.join(' or ')}, got '${v.kernels}'`);
    return 2;
  }
  const computeUnits = v['compute-units'] === undefined ? undefined : Number(v['compute-units']);
  if (computeUnits !== undefined && !(Number.isInteger(computeUnits) && computeUnits >= 1)) {
    console.error(`bench: --compute-units must be a positive integer, got '${v['compute-units']}'`);
    return 2;
  }
  const configs = (v.configs ?? 'demo').split(',').map((c) => c.trim());
  if (configs.some((c) => c !== 'demo' && c !== 'paper')) {
    console.error(`bench: --configs must list demo and/or paper, got '${v.configs}'`);
    return 2;
  }
  const scanDims = (v.scan ?? '60,512,512').split(',').map(Number);
  if (scanDims.length !== 3 || scanDims.some((d) => !Number.isInteger(d) || d < 8)) {
    console.error(`bench: --scan must be D,H,W (each an integer >= 8), got '${v.scan}'`);
    return 2;
  }
  const robustness = !!v.robust;
  const engines = new Set<Engine>(['cacnet']);
  if (!v['no-tfjs']) {
    engines.add('tfjs-webgpu');
    if (!v['no-cpu']) engines.add('tfjs-cpu');
  }
  if (!v['no-onnx']) engines.add('onnxruntime-cpu');

  const started = performance.now();
  const loadStart = loadavg();
  const clock = () => {
    const s = Math.round((performance.now() - started) / 1000);
    return `[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}]`;
  };
  const log = (s: string) => console.log(/^\S/.test(s) && s ? `${clock()} ${s}` : s);
  // Ours first: on a machine without a GPU it points the Vulkan loader at SwiftShader,
  // so tfjs's Dawn instance (created next) finds that same adapter.
  const rt = await Runtime.create({ adapter, robustness, ...(kernels ? { kernels } : {}), ...(computeUnits ? { computeUnits } : {}) });
  const d = rt.description;
  log(`bench: cacnet on ${d.description || d.vendor} (${d.vendor}${d.architecture ? `, ${d.architecture}` : ''})${d.isSoftware ? ' [software]' : ''}, robustness ${robustness ? 'on' : 'off'}`);
  log(`bench: ${describeProfile(rt.profile)}`);
  if (v['emit-specs']) {
    const specCtx: BenchContext = { rt, tfjs: null, engines: new Set<Engine>(['cacnet']), quick };
    const specs = [...(await convRows(specCtx)), ...opRows(specCtx)].filter((r) => r.spec).map((r) => ({ name: r.name, group: r.group, spec: r.spec }));
    writeFileSync(v['emit-specs'], JSON.stringify(specs, null, 1));
    const networks = networkSpecs(rt, configs, patch ?? [16, 64, 64], scanDims as [number, number, number]);
    writeFileSync(v['emit-specs'].replace(/\.json$/, '') + '-network.json', JSON.stringify(networks, null, 1));
    log(`bench: wrote ${specs.length} row specs to ${v['emit-specs']}`);
    rt.destroy();
    return 0;
  }
  let tfjs: TfjsHandle | null = null;
  if (engines.has('tfjs-webgpu') || engines.has('tfjs-cpu')) {
    tfjs = await loadTfjs(robustness);
    log(`bench: tfjs ${tfjs.versions['@tensorflow/tfjs-core']} webgpu backend on ${tfjs.webgpuAdapter}`);
  }
  const ctx: BenchContext = { rt, tfjs, engines, quick, patch };
  const pytorch = v.pytorch ? readPytorch(v.pytorch) : null;
  const harness = {
    minSamples, maxTime, cellBudget: quick ? 4 : 12, log,
    counters: () => ({ ...rt.counters }),
    profile: (run: () => Promise<unknown>) => profileCall(rt, run, 3),
  };

  let roofline: Roofline | null = null;
  let overheads: Overheads | null = null;
  if (only.has('roofline') || only.has('ops') || only.has('conv')) {
    log('roofline probe');
    roofline = await measureRoofline(rt, log);
    overheads = await measureOverheads(rt);
    log(`  dispatch ${overheads.dispatchMicros.toFixed(0)} us, submit+wait ${overheads.submitMillis.toFixed(2)} ms, 4-byte readback ${overheads.readbackMillis.toFixed(2)} ms, barrier ${overheads.barrierNanos.toFixed(0)} ns per workgroup of 256`);
  }
  const rows: RowResult[] = [];
  const rowFilter = v.rows ? new RegExp(v.rows) : null;
  const runRows = async (title: string, list: Row[]) => {
    log(title);
    for (const r of list.filter((row) => !rowFilter || rowFilter.test(row.name))) {
      rows.push(await runRow(r, harness));
      rt.trim();
    }
  };
  if (only.has('conv')) await runRows('convolutions', await convRows(ctx));
  if (only.has('ops')) await runRows('ops', opRows(ctx));
  if (roofline && rows.length) {
    log('roofline probe again (the limit is the best of both: other load on the machine only lowers it)');
    roofline = bestOf(roofline, await measureRoofline(rt, log));
  }
  const networks: NetworkResult[] = [];
  if (only.has('network')) {
    for (const config of configs) {
      log(`whole network (${config} config)`);
      networks.push(await networkBench(ctx, { ...harness, minSamples: quick ? 1 : Math.max(2, Math.min(minSamples, 3)) }, config as 'demo' | 'paper'));
    }
  }
  let scan: ScanResult | null = null;
  if (only.has('scan')) {
    // A failed scan must not lose the suites measured before it.
    scan = await scanBench(ctx, scanDims as [number, number, number], log).catch((e: Error) => {
      log(`scan FAILED: ${e.message.split('\n')[0]}`);
      return null;
    });
  }

  if (pytorch) {
    for (const r of rows) {
      const p = pytorch.rows[r.row.name];
      if (p) r.timings.push({ engine: 'pytorch-cuda', median: p.median_ms / 1e3, samples: p.samples_ms.map((ms) => ms / 1e3) });
    }
    addPytorchNetworks(pytorch, networks, scan);
  }

  const results: BenchResults = {
    env: {
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
      adapter: `${d.description || d.vendor} (${[d.vendor, d.architecture, d.device].filter(Boolean).join(', ')})`,
      adapterInfo: adapterInfo(rt),
      tfjsAdapter: tfjs?.webgpuAdapter ?? 'not run',
      robustness,
      software: d.isSoftware,
      versions: { ...versions(tfjs), ...(pytorch ? { 'PyTorch (same machine, same shapes)': `${pytorch.torch}, cuDNN ${pytorch.cudnn}, ${pytorch.device}` } : {}) },
      host: `${cpus()[0]?.model ?? 'cpu'} x ${cpus().length} cores, ${platform()} ${release()}`,
      loadStart,
      loadEnd: loadavg(),
      seconds: (performance.now() - started) / 1000,
    },
    roofline,
    overheads,
    rows,
    networks,
    scan,
    targets: [],
    notes: [],
  };
  finish(results);
  console.log(`\n${renderConsole(results)}`);
  const out = v.out ?? join(HERE, 'RESULTS.md');
  if (out !== '-') {
    writeFileSync(out, renderMarkdown(results));
    log(`\nbench: wrote ${out}`);
  }
  if (v.json) {
    writeFileSync(v.json, JSON.stringify(results, null, 1));
    log(`bench: wrote ${v.json}`);
  }
  rt.destroy();
  return 0;
}

/** Targets, notes and the hand-written analysis: everything derived from the measurements. */
function finish(results: BenchResults): void {
  const analysisFile = join(HERE, 'analysis.md');
  results.analysis = existsSync(analysisFile) ? readFileSync(analysisFile, 'utf8') : undefined;
  const evaluated = evaluateTargets(results);
  results.targets = evaluated.targets;
  results.notes = evaluated.notes;
}

interface PytorchTiming {
  median_ms: number;
  samples_ms: number[];
  first_ms?: number;
}

interface PytorchResults {
  torch: string;
  cudnn: string;
  device: string;
  rows: Record<string, PytorchTiming>;
  /** From bench/pytorch_cacnet.py, merged in by gpu-run.sh: per config, forward and training step; the scan's window forwards. */
  networks?: Record<string, { forward: PytorchTiming; step: PytorchTiming }>;
  scan?: PytorchTiming & { windows: number };
}

function pytorchTiming(p: PytorchTiming) {
  return { engine: 'pytorch-cuda' as const, median: p.median_ms / 1e3, samples: p.samples_ms.map((ms) => ms / 1e3), ...(p.first_ms !== undefined ? { firstCall: p.first_ms / 1e3 } : {}) };
}

function addPytorchNetworks(p: PytorchResults, networks: NetworkResult[], scan: ScanResult | null): void {
  for (const n of networks) {
    const t = p.networks?.[n.config === 'PAPER_CONFIG' ? 'paper' : 'demo'];
    if (!t) continue;
    n.forward.push(pytorchTiming(t.forward));
    n.step.push(pytorchTiming(t.step));
  }
  if (scan && p.scan) scan.timings.push(pytorchTiming(p.scan));
}

/** What bench/pytorch_cacnet.py needs to build the same networks: configs, parameter shapes, patch, scan windows. */
function networkSpecs(rt: Runtime, configs: string[], patch: readonly number[], scanDims: [number, number, number]) {
  return {
    patch,
    scanWindows: scanWindowCount(scanDims),
    configs: Object.fromEntries(configs.map((c) => {
      const config = c === 'paper' ? PAPER_CONFIG : DEMO_CONFIG;
      const model = new CacNet(rt, config);
      const params = Object.fromEntries(model.namedParameters().map(([name, t]) => [name, [...t.shape]]));
      model.dispose();
      return [c, { config, params }];
    })),
  };
}

function readPytorch(path: string): PytorchResults {
  const j = JSON.parse(readFileSync(path, 'utf8')) as PytorchResults;
  if (!j || typeof j.rows !== 'object') throw new Error(`${path} is not bench/pytorch_ops.py output`);
  return j;
}

function adapterInfo(rt: Runtime): Record<string, unknown> {
  const info = rt.adapter.info as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of ['vendor', 'architecture', 'device', 'description', 'subgroupMinSize', 'subgroupMaxSize', 'isFallbackAdapter']) {
    if (info?.[k] !== undefined && info[k] !== '') out[k] = info[k];
  }
  return out;
}

function versions(tfjs: TfjsHandle | null): Record<string, string> {
  const require = createRequire(import.meta.url);
  const version = (p: string) => {
    try {
      return (require(`${p}/package.json`) as { version: string }).version;
    } catch {
      return 'not installed';
    }
  };
  const out: Record<string, string> = {
    node: process.version,
    'Dawn (npm webgpu, dawn.node)': version('webgpu'),
    benchmark: version('benchmark'),
    ...(tfjs?.versions ?? {}),
    'onnxruntime-node': version('onnxruntime-node'),
  };
  try {
    const chromium = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'chromium'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    if (chromium) out['SwiftShader (Debian chromium package)'] = chromium;
  } catch {
    /* not Debian, or no chromium: nothing to report */
  }
  return out;
}

// Run when executed directly (tsx bench/run.ts or the compiled file).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // Dawn keeps the event loop alive; the report is written, so leave.
      setTimeout(() => process.exit(process.exitCode ?? 0), 100).unref();
    },
    (e) => {
      console.error(e);
      process.exit(70);
    },
  );
}
