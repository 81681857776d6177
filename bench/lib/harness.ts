/**
 * Timing through the `benchmark` package: every contender of a row is a
 * deferred Benchmark whose one call runs the work and waits for its result on
 * the host. Benchmark.js's calibration call doubles as the warm-up (pipeline
 * compilation); the reported figure is the median of the samples after it.
 */
import Benchmark from 'benchmark';
import type { CallProfile } from './profile.js';

export type Engine = 'cacnet' | 'tfjs-webgpu' | 'tfjs-cpu' | 'onnxruntime-cpu' | 'pytorch-cuda';

export const ENGINE_LABEL: Record<Engine, string> = {
  cacnet: 'cacnet (WebGPU)',
  'tfjs-webgpu': 'tfjs webgpu',
  'tfjs-cpu': 'tfjs cpu',
  'onnxruntime-cpu': 'onnxruntime cpu',
  'pytorch-cuda': 'PyTorch CUDA',
};

/** One way of doing a row's work. */
export interface Contender {
  engine: Engine;
  /** Builds inputs (not timed). */
  setup?: () => Promise<void> | void;
  /** One complete execution, resolved when its results are on the host. */
  run: () => Promise<void>;
  /** Frees what setup made (not timed). */
  teardown?: () => Promise<void> | void;
  /**
   * The first output of the last run, as read back, channels-last (to check the
   * engines agree); a function when it needs converting first (not timed).
   */
  output?: Output;
}

export type Output = Float32Array | (() => Float32Array);

/** What a contender's prepare() returns: the timed call (resolving to its first output) and a free. */
export interface Work {
  run: () => Promise<Output>;
  free?: () => void;
}

/** A contender from a prepare step (untimed) and the work it returns. */
export function contender(engine: Engine, prepare: () => Promise<Work> | Work, before?: () => Promise<void>): Contender {
  let work: Work | null = null;
  const c: Contender = {
    engine,
    async setup() {
      await before?.();
      work = await prepare();
    },
    async run() {
      c.output = await work!.run();
    },
    teardown() {
      work?.free?.();
      work = null;
    },
  };
  return c;
}

export interface OpSpec {
  op: 'conv' | 'maxpool3d' | 'bilinear' | 'trilinear' | 'batchnorm' | 'groupnorm' | 'softmax_dice';
  pass: 'forward' | 'forward_backward' | 'dX' | 'dW';
  /** Input shape, channels-last. */
  x: number[];
  /** Conv weights [...K, Cin, Cout]; resize output spatial size; norm groups; classes. */
  w?: number[];
  size?: number[];
  groups?: number;
  classes?: number;
}

export type RoofKind = 'fma' | 'bandwidth';

export interface Row {
  /** Section of the table. */
  group: string;
  name: string;
  /** The shapes in words, e.g. "x [1,16,64,64,4], w 3x3x3 4->4". */
  shape: string;
  /** Work model for the roofline column: FLOPs (fma) or minimal bytes moved (bandwidth). */
  roof?: { kind: RoofKind; amount: number };
  /** How the tfjs side is built when tfjs lacks the op, and other caveats. */
  note?: string;
  /** Fewer samples for very slow rows. */
  samples?: number;
  /**
   * The row's op for engines outside this process (bench/pytorch_ops.py reads
   * these from `--emit-specs`): op, pass and shapes, channels-last.
   */
  spec?: OpSpec;
  /** For the targets: which convolution layer and which pass a row times. */
  conv?: { dims: 2 | 3; layer: string; pass: 'forward' | 'dX' | 'dW'; cin: number; cout: number };
  contenders: Contender[];
}

export interface Timing {
  engine: Engine;
  /** max |this − cacnet| / max |cacnet| over the first output, when both ran. */
  relDiff?: number;
  /** Median seconds per call; NaN when the contender failed. */
  median: number;
  samples: number[];
  /** Seconds of the untimed first call (pipeline compilation included). */
  firstCall?: number;
  error?: string;
}

export interface CallCounters {
  dispatches: number;
  submits: number;
  readbacks: number;
}

export interface RowResult {
  row: Omit<Row, 'contenders'>;
  timings: Timing[];
  /** cacnet's dispatches, submits and readbacks in one call (one extra, untimed call). */
  counters?: CallCounters;
  /** cacnet's kernels in one call, replayed one by one (rows with several dispatches). */
  profile?: CallProfile;
}

export interface HarnessOptions {
  /** Samples per contender (Benchmark.js minSamples). */
  minSamples: number;
  /** Seconds after which no sample is added once minSamples are in (Benchmark.js maxTime). */
  maxTime: number;
  /** Seconds a slow cell may take: its sample count drops so that samples x warm-up time fit. */
  cellBudget: number;
  log: (line: string) => void;
  /** cacnet's runtime counters, to count one call's dispatches. */
  counters?: () => CallCounters;
  /** Profiles one cacnet call kernel by kernel (see profile.ts). */
  profile?: (run: () => Promise<unknown>) => Promise<CallProfile>;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Times one contender with Benchmark.js; rejects if its work throws. */
export function timeWithBenchmark(name: string, run: () => Promise<void>, o: { minSamples: number; maxTime: number }): Promise<number[]> {
  return new Promise((resolve, reject) => {
    let failure: unknown = null;
    const bench = new Benchmark(name, {
      defer: true,
      // One call per sample: our calls take milliseconds to seconds, far above the timer's resolution.
      initCount: 1,
      minTime: 1e-9,
      minSamples: o.minSamples,
      maxTime: o.maxTime,
      delay: 0,
      fn: (deferred: Benchmark.Deferred) => {
        run().then(
          () => deferred.resolve(),
          (e: unknown) => {
            failure ??= e;
            bench.abort();
            deferred.resolve();
          },
        );
      },
    });
    bench.on('complete abort', () => {
      if (failure) reject(failure);
      else resolve([...bench.stats.sample]);
    });
    bench.on('error', () => reject(failure ?? (bench as unknown as { error?: unknown }).error ?? new Error(`${name} failed`)));
    bench.run({ async: true });
  });
}

export async function runRow(row: Row, o: HarnessOptions): Promise<RowResult> {
  const timings: Timing[] = [];
  let counters: CallCounters | undefined;
  let profile: CallProfile | undefined;
  for (const c of row.contenders) {
    const label = `${row.name} [${c.engine}]`;
    try {
      await c.setup?.();
      // Warm-up (pipeline compilation, first allocations), untimed. Benchmark.js's
      // first deferred cycle is itself a sample, so it cannot be the warm-up.
      const w0 = performance.now();
      await c.run();
      const warm = (performance.now() - w0) / 1e3;
      // Very slow cells (tfjs on a software adapter) get fewer samples, ~cellBudget seconds
      // in all, but always one after the warm-up (which may be mostly compilation).
      const wanted = row.samples ?? o.minSamples;
      const minSamples = Math.max(1, Math.min(wanted, Math.floor(o.cellBudget / Math.max(warm, 1e-3))));
      const samples = await timeWithBenchmark(label, c.run, { minSamples, maxTime: o.maxTime });
      const t: Timing = { engine: c.engine, median: median(samples), samples, firstCall: warm };
      timings.push(t);
      o.log(`  ${label.padEnd(64)} ${fmtMs(t.median * 1e3).padStart(10)} ms  (${samples.length} samples; first call ${fmtMs(warm * 1e3)} ms)`);
      if (c.engine === 'cacnet' && o.counters) {
        const before = o.counters();
        await c.run();
        const after = o.counters();
        counters = { dispatches: after.dispatches - before.dispatches, submits: after.submits - before.submits, readbacks: after.readbacks - before.readbacks };
        if (o.profile && counters.dispatches > 1) profile = await o.profile(c.run);
      }
    } catch (e) {
      const msg = (e as Error)?.message ?? String(e);
      timings.push({ engine: c.engine, median: NaN, samples: [], error: msg.split("\n")[0]!.slice(0, 400) });
      o.log(`  ${label.padEnd(64)} FAILED: ${msg.split('\n')[0]}`);
    } finally {
      try {
        await c.teardown?.();
      } catch {
        /* a failed teardown must not stop the suite */
      }
    }
  }
  const resolve = (o: Output | undefined) => (typeof o === 'function' ? o() : o);
  const ref = resolve(row.contenders.find((c) => c.engine === 'cacnet')?.output);
  if (ref) {
    row.contenders.forEach((c, i) => {
      const out = c.engine !== 'cacnet' ? resolve(c.output) : undefined;
      if (out && timings[i] && Number.isFinite(timings[i]!.median)) timings[i]!.relDiff = relativeDiff(out, ref);
    });
  }
  for (const c of row.contenders) delete c.output;
  const { contenders: _unused, ...rest } = row;
  return { row: rest, timings, counters, profile };
}

/** max |a − b| / max |b| (NaN on a length mismatch). */
export function relativeDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return NaN;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}
