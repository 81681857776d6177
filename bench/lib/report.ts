/**
 * The console table and bench/RESULTS.md. Every ratio is computed here from
 * medians measured in the same process run; nothing is carried over between runs.
 */
import { ENGINE_LABEL, fmtMs, type Engine, type RowResult, type Timing } from './harness.js';
import type { Roofline } from './roofline.js';
import { byLabel, type CallProfile, type Overheads } from './profile.js';

export interface Environment {
  date: string;
  command: string;
  adapter: string;
  adapterInfo: Record<string, unknown>;
  tfjsAdapter: string;
  robustness: boolean;
  software: boolean;
  versions: Record<string, string>;
  host: string;
  loadStart: number[];
  loadEnd: number[];
  seconds: number;
}

export interface CounterStats {
  dispatches: number;
  submits: number;
  readbacks: number;
}

export interface NetworkResult {
  config: string;
  patch: [number, number, number];
  parameters: number;
  forward: Timing[];
  step: Timing[];
  /** Per training step, measured over the timed steps. */
  oursPerStep: CounterStats;
  oursForward: CounterStats;
  tfjsPerStep?: { programs: number; submits: number };
  memory: {
    oursPeakBytes: number;
    oursLiveAfterFirst: number;
    oursLiveAfterLast: number;
    steps: number;
    tfjsBytesAfterFirst?: number;
    tfjsBytesAfterLast?: number;
    tfjsSteps?: number;
    tfjsPeakBytes?: number;
  };
  forwardDiff?: number;
  /** cacnet's training step, kernel by kernel (capture and replay). */
  stepProfile?: CallProfile;
  note: string;
}

/** Scoring one whole scan (bench/suites/scan.ts). */
export interface ScanResult {
  dims: [number, number, number];
  windows: number;
  /** Seconds for the whole scan, per engine (see notes for what each does). */
  timings: Timing[];
  notes: string[];
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean | null;
  /** By how much it is missed, and why (the profile). */
  why: string;
}

export interface BenchResults {
  env: Environment;
  roofline: Roofline | null;
  overheads: Overheads | null;
  rows: RowResult[];
  networks: NetworkResult[];
  scan?: ScanResult | null;
  targets: Target[];
  notes: string[];
  /** Hand-written analysis (bench/analysis.md), copied in verbatim. */
  analysis?: string;
}

const OTHERS: Engine[] = ['tfjs-webgpu', 'tfjs-cpu', 'onnxruntime-cpu', 'pytorch-cuda'];

export function timingOf(r: RowResult, e: Engine): Timing | undefined {
  return r.timings.find((t) => t.engine === e);
}

/** other / cacnet: how many times faster cacnet is (> 1 means cacnet wins). */
export function speedup(r: RowResult, e: Engine): number {
  const a = timingOf(r, 'cacnet')?.median ?? NaN;
  const b = timingOf(r, e)?.median ?? NaN;
  return b / a;
}

export function roofFraction(r: RowResult, e: Engine, roof: Roofline | null): number {
  const t = timingOf(r, e)?.median ?? NaN;
  if (!roof || !r.row.roof) return NaN;
  const rate = r.row.roof.amount / t / 1e9;
  return rate / (r.row.roof.kind === 'fma' ? roof.fmaGflops : roof.copyGBps);
}

const fx = (v: number) => (Number.isFinite(v) ? `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)}x` : '—');
const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%` : '—');
const sci = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : v < 1e-3 ? v.toExponential(0) : v.toFixed(3));
export const mib = (b: number | undefined) => (b === undefined ? '—' : `${(b / 2 ** 20).toFixed(1)} MiB`);

function cell(t: Timing | undefined): string {
  if (!t) return '—';
  if (t.error) return 'failed';
  return fmtMs(t.median * 1e3);
}

function enginesIn(rows: RowResult[]): Engine[] {
  return OTHERS.filter((e) => rows.some((r) => timingOf(r, e)));
}

/** One markdown table per group of rows. */
export function rowTables(res: BenchResults): string[] {
  const out: string[] = [];
  const groups = [...new Set(res.rows.map((r) => r.row.group))];
  for (const g of groups) {
    const rows = res.rows.filter((r) => r.row.group === g);
    const others = enginesIn(rows);
    const head = ['op', 'shapes', 'cacnet ms', 'cacnet % roof', 'disp/sub'];
    for (const e of others) {
      head.push(`${ENGINE_LABEL[e]} ms`, `speed-up vs ${ENGINE_LABEL[e]}`);
      if (e === 'tfjs-webgpu') head.push('tfjs webgpu % roof');
    }
    head.push('max rel. diff');
    out.push(`### ${g}`, '', `| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
    for (const r of rows) {
      const c = r.counters;
      const cells = [r.row.name, r.row.shape, cell(timingOf(r, 'cacnet')), roofCell(r, 'cacnet', res.roofline), c ? `${c.dispatches}/${c.submits}` : '—'];
      for (const e of others) {
        cells.push(cell(timingOf(r, e)), fx(speedup(r, e)));
        if (e === 'tfjs-webgpu') cells.push(roofCell(r, e, res.roofline));
      }
      cells.push(others.map((e) => sci(timingOf(r, e)?.relDiff)).join(' / '));
      out.push(`| ${cells.join(' | ')} |`);
    }
    const notes = rows.filter((r) => r.row.note).map((r) => `- *${r.row.name}*: ${r.row.note}`);
    for (const r of rows) for (const t of r.timings) if (t.error) notes.push(`- *${r.row.name}*, ${ENGINE_LABEL[t.engine]}: **failed**: ${t.error}`);
    if (notes.length) out.push('', ...notes);
    out.push('');
  }
  return out;
}

function roofCell(r: RowResult, e: Engine, roof: Roofline | null): string {
  const f = roofFraction(r, e, roof);
  if (!Number.isFinite(f)) return '—';
  return `${pct(f)} ${r.row.roof!.kind === 'fma' ? 'FMA' : 'BW'}`;
}

function networkSection(n: NetworkResult): string[] {
  const t = (ts: Timing[], e: Engine) => ts.find((x) => x.engine === e);
  const ratio = (ts: Timing[], e: Engine) => (t(ts, e)?.median ?? NaN) / (t(ts, 'cacnet')?.median ?? NaN);
  const engines = (['tfjs-webgpu', 'tfjs-cpu', 'pytorch-cuda'] as Engine[]).filter((e) => t(n.step, e) || t(n.forward, e));
  const head = ['', 'cacnet ms', ...engines.flatMap((e) => [`${ENGINE_LABEL[e]} ms`, `speed-up vs ${ENGINE_LABEL[e]}`])];
  const line = (name: string, ts: Timing[]) => `| ${[name, cell(t(ts, 'cacnet')), ...engines.flatMap((e) => [cell(t(ts, e)), fx(ratio(ts, e))])].join(' | ')} |`;
  const m = n.memory;
  return [
    `### Whole network: ${n.config}, patch ${n.patch.join('x')}, batch 1 (${n.parameters.toLocaleString('en-US')} parameters)`,
    '',
    `| ${head.join(' | ')} |`,
    `|---|${head.slice(1).map(() => '---:').join('|')}|`,
    line('forward (inference, eval mode)', n.forward),
    line('training step (forward, backward, Adam, loss read back)', n.step),
    `| ${['first forward / first step, ms (pipeline compilation included)', firstCalls(n, 'cacnet'), ...engines.flatMap((e) => [firstCalls(n, e), ''])].join(' | ')} |`,
    '',
    '| per call | dispatches | submits | readbacks |',
    '|---|---:|---:|---:|',
    `| cacnet forward | ${n.oursForward.dispatches} | ${n.oursForward.submits} | ${n.oursForward.readbacks} |`,
    `| cacnet training step | ${n.oursPerStep.dispatches} | ${n.oursPerStep.submits} | ${n.oursPerStep.readbacks} |`,
    ...(n.tfjsPerStep ? [`| tfjs webgpu training step | ${n.tfjsPerStep.programs} GPU programs | ${n.tfjsPerStep.submits} | 1 (the loss) |`] : []),
    '',
    '| GPU memory | cacnet | tfjs webgpu |',
    '|---|---:|---:|',
    `| live bytes after step 1 | ${mib(m.oursLiveAfterFirst)} | ${mib(m.tfjsBytesAfterFirst)} |`,
    `| live bytes after the last step (cacnet: step ${m.steps}${m.tfjsSteps ? `, tfjs: step ${m.tfjsSteps}` : ''}) | ${mib(m.oursLiveAfterLast)} | ${mib(m.tfjsBytesAfterLast)} |`,
    `| peak live bytes during a step | ${mib(m.oursPeakBytes)} | ${m.tfjsPeakBytes === undefined ? '—' : `${mib(m.tfjsPeakBytes)} (allocated)`} |`,
    '',
    ...(n.forwardDiff !== undefined ? [`Forward logits of the two compositions (same weights, eval mode): max rel. diff ${sci(n.forwardDiff)}.`, ''] : []),
    n.note,
    '',
    ...stepProfileSection(n),
  ];
}

function scanSection(sc: ScanResult): string[] {
  const ours = sc.timings.find((t) => t.engine === 'cacnet')?.median ?? NaN;
  return [
    `### Scoring one scan: ${sc.dims.join('x')} (D x H x W), ${sc.windows} windows`,
    '',
    '| engine | seconds | cacnet speed-up |',
    '|---|---:|---:|',
    ...sc.timings.map((t) => `| ${ENGINE_LABEL[t.engine]} | ${Number.isFinite(t.median) ? t.median.toFixed(1) : '—'} | ${t.engine === 'cacnet' ? '' : fx(t.median / ours)} |`),
    '',
    ...sc.notes.map((n) => `- ${n}`),
    '',
  ];
}

function firstCalls(n: NetworkResult, e: Engine): string {
  const f = n.forward.find((t) => t.engine === e)?.firstCall;
  const s = n.step.find((t) => t.engine === e)?.firstCall;
  return `${f === undefined ? '—' : fmtMs(f * 1e3)} / ${s === undefined ? '—' : fmtMs(s * 1e3)}`;
}

function stepProfileSection(n: NetworkResult): string[] {
  const p = n.stepProfile;
  if (!p) return [];
  const step = n.step.find((t) => t.engine === 'cacnet')?.median ?? NaN;
  const groups = byLabel(p);
  const L = [
    `Where cacnet's training step goes (${p.kernels.length} dispatches replayed one by one as in the kernel profile below, ${fmtMs(p.kernelSeconds * 1e3)} ms in all against a ${fmtMs(step * 1e3)} ms step), by kernel:`,
    '',
    '| kernel | dispatches | ms | share | bound MiB |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const g of groups.slice(0, 16)) L.push(`| ${g.label} | ${g.count} | ${fmtMs(g.seconds * 1e3)} | ${pct(g.seconds / p.kernelSeconds)} | ${(g.boundBytes / 2 ** 20).toFixed(1)} |`);
  if (groups.length > 16) {
    const rest = groups.slice(16);
    L.push(`| ${rest.length} other kernels | ${rest.reduce((a, g) => a + g.count, 0)} | ${fmtMs(rest.reduce((a, g) => a + g.seconds, 0) * 1e3)} | ${pct(rest.reduce((a, g) => a + g.seconds, 0) / p.kernelSeconds)} | |`);
  }
  L.push('');
  return L;
}

/** Every profiled cacnet row, kernel by kernel. */
function profileSection(res: BenchResults): string[] {
  const rows = res.rows.filter((r) => r.profile && r.profile.kernels.length > 0);
  if (rows.length === 0) return [];
  const L = ['## Kernel profile (cacnet, capture and replay)', ''];
  L.push('Each dispatch of one call, replayed alone: (time of 4 in one submit − time of 1) / 3, so without the submit');
  L.push('latency, median of 3. Workgroup size, workgroups launched, time, share of the call\'s kernels, bytes of the');
  L.push('buffers it binds (an upper bound on what it moves) and that over its time.', '');
  for (const r of rows) {
    const p = r.profile!;
    const call = timingOf(r, 'cacnet')?.median ?? NaN;
    L.push(`**${r.row.name}** (${r.row.shape}): call ${fmtMs(call * 1e3)} ms, kernels replayed ${fmtMs(p.kernelSeconds * 1e3)} ms`, '');
    L.push('| kernel | wg size | workgroups | ms | share | bound MiB | bound GB/s |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const k of p.kernels) {
      L.push(`| ${k.label} | ${k.workgroupSize || '?'} | ${k.workgroups} | ${fmtMs(k.seconds * 1e3)} | ${pct(k.seconds / p.kernelSeconds)} | ${(k.boundBytes / 2 ** 20).toFixed(2)} | ${(k.boundBytes / k.seconds / 1e9).toFixed(2)} |`);
    }
    L.push('');
  }
  return L;
}

export function renderMarkdown(res: BenchResults): string {
  const e = res.env;
  const L: string[] = [];
  L.push('# Benchmarks: cacnet against TensorFlow.js and against the adapter\'s own limits', '');
  L.push(`Generated by \`${e.command}\` on ${e.date} (${(e.seconds / 60).toFixed(1)} min). Do not edit by hand: rerun it.`, '');
  L.push('| | |', '|---|---|');
  L.push(`| adapter | ${e.adapter}${e.software ? ' (software: SwiftShader on the CPU)' : ''} |`);
  L.push(`| adapter info | ${Object.entries(e.adapterInfo).map(([k, v]) => `${k}=${String(v)}`).join(', ')} |`);
  L.push(`| tfjs webgpu backend's adapter | ${e.tfjsAdapter} (same Dawn, same toggles: robustness ${e.robustness ? 'on' : 'off'}) |`);
  L.push(`| host | ${e.host} |`);
  L.push(`| load average at start / end | ${e.loadStart.map((v) => v.toFixed(2)).join(', ')} / ${e.loadEnd.map((v) => v.toFixed(2)).join(', ')} |`);
  for (const [k, v] of Object.entries(e.versions)) L.push(`| ${k} | ${v} |`);
  L.push('');
  L.push('Method: each cell is the median of Benchmark.js samples (one call per sample) after one untimed warm-up');
  L.push('call that compiles the pipelines; very slow cells get fewer samples (about 12 s of calls each, at least one).');
  L.push('A call ends when all its outputs are back on the host (`read()` for cacnet, `await data()` for tfjs, the output');
  L.push('tensor for onnxruntime). Speed-ups are other engine / cacnet, from medians of this same run. "% roof" is the');
  L.push('achieved rate over the roofline probe below: FLOPs / time over the FMA rate for convolutions, minimal bytes');
  L.push('(each input read once, each output written once) / time over the copy bandwidth for the rest. "disp/sub" is');
  L.push('cacnet\'s dispatches and submits per call (each readback is a submit: rows that read back three gradients show');
  L.push('three). "max rel. diff" is max |other − cacnet| / max |cacnet| over the first output, per other engine in column');
  L.push('order: every engine computes the same thing.', '');

  if (res.roofline) {
    const r = res.roofline;
    L.push('## Roofline probe', '');
    L.push('| probe | best | configurations tried |', '|---|---:|---|');
    L.push(`| FMA rate | ${r.fmaGflops.toFixed(1)} GFLOP/s | ${r.fmaProbes.map((p) => `${p.config}: ${p.value.toFixed(1)}`).join('; ')} |`);
    L.push(`| copy bandwidth (shader, read + write) | ${r.copyGBps.toFixed(2)} GB/s | ${r.copyProbes.map((p) => `${p.config}: ${p.value.toFixed(2)}`).join('; ')} |`);
    L.push(`| copyBufferToBuffer (read + write) | ${r.blitGBps.toFixed(2)} GB/s | for reference: not reachable from a shader |`);
    for (const p of r.operandProbes ?? []) L.push(`| scalar FMA, one operand from a ${p.config} | ${p.value.toFixed(2)} GFLOP/s | what an inner loop's operand source costs |`);
    const o = res.overheads;
    if (o) {
      L.push(`| one dispatch (trivial kernel, 500 in a submit) | ${o.dispatchMicros.toFixed(0)} µs | what every extra kernel launch costs |`);
      L.push(`| one submit + onSubmittedWorkDone | ${o.submitMillis.toFixed(2)} ms | |`);
      L.push(`| one 4-byte readback | ${o.readbackMillis.toFixed(2)} ms | copy, submit, mapAsync |`);
      L.push(`| one workgroupBarrier, per workgroup of 256 | ${o.barrierNanos.toFixed(0)} ns | wall time over the whole adapter: 256 invocations hand over |`);
    }
    L.push('');
  }

  if (res.targets.length) {
    L.push('## Targets', '');
    L.push('| target | goal | measured | met | by how much, and why |', '|---|---|---|:-:|---|');
    for (const t of res.targets) L.push(`| ${t.name} | ${t.goal} | ${t.measured} | ${t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'} | ${t.why} |`);
    L.push('');
  }

  L.push('## Results', '');
  L.push(...rowTables(res));
  for (const n of res.networks) L.push(...networkSection(n));
  if (res.scan) L.push(...scanSection(res.scan));
  L.push(...profileSection(res));
  if (res.notes.length) {
    L.push('## Notes', '');
    for (const n of res.notes) L.push(`- ${n}`);
    L.push('');
  }
  if (res.analysis) L.push(res.analysis.trim(), '');
  return `${L.join('\n')}\n`;
}

/** A compact plain-text table for the terminal. */
export function renderConsole(res: BenchResults): string {
  const lines: string[] = [];
  const inNetwork = (e: Engine) => res.networks.some((n) => [...n.forward, ...n.step].some((t) => t.engine === e));
  const others = OTHERS.filter((e) => enginesIn(res.rows).includes(e) || inNetwork(e));
  const w = [44, 10, 9, ...others.map(() => 20)];
  const pad = (s: string, n: number, left = false) => (left ? s.padEnd(n) : s.padStart(n));
  lines.push([pad('row', w[0]!, true), pad('cacnet ms', w[1]!), pad('% roof', w[2]!), ...others.map((e, i) => pad(`${ENGINE_LABEL[e]} (x)`, w[3 + i]!))].join(' '));
  for (const r of res.rows) {
    lines.push([
      pad(r.row.name.slice(0, w[0]!), w[0]!, true),
      pad(cell(timingOf(r, 'cacnet')), w[1]!),
      pad(Number.isFinite(roofFraction(r, 'cacnet', res.roofline)) ? pct(roofFraction(r, 'cacnet', res.roofline)) : '—', w[2]!),
      ...others.map((e, i) => pad(`${cell(timingOf(r, e))} (${fx(speedup(r, e))})`, w[3 + i]!)),
    ].join(' '));
  }
  for (const n of res.networks) {
    const cfg = n.config === 'PAPER_CONFIG' ? 'paper' : 'demo';
    for (const [name, ts] of [[`network forward (${cfg})`, n.forward], [`network training step (${cfg})`, n.step]] as const) {
      const ours = ts.find((t) => t.engine === 'cacnet');
      lines.push([
        pad(name, w[0]!, true),
        pad(cell(ours), w[1]!),
        pad('', w[2]!),
        ...others.map((e, i) => {
          const t = ts.find((x) => x.engine === e);
          return pad(t ? `${cell(t)} (${fx(t.median / (ours?.median ?? NaN))})` : '—', w[3 + i]!);
        }),
      ].join(' '));
    }
  }
  if (res.targets.length) {
    lines.push('', 'targets:');
    for (const t of res.targets) lines.push(`  ${t.met === null ? 'n/a ' : t.met ? 'MET ' : 'MISS'} ${t.name}: ${t.measured} (goal ${t.goal})`);
  }
  return lines.join('\n');
}
