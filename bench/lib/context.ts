/** What every suite gets: the runtime, tfjs (when enabled), the engines to run, helpers. */
import type { Runtime } from '../../src/gpu/runtime.js';
import { Tensor } from '../../src/gpu/tensor.js';
import { mulberry32 } from '../../src/base/random.js';
import { contender, type Contender, type Engine, type Work } from './harness.js';
import { useBackend, type Tf, type TfjsHandle } from './tfjs.js';

export interface BenchContext {
  rt: Runtime;
  /** null when tfjs is not part of this run. */
  tfjs: TfjsHandle | null;
  engines: ReadonlySet<Engine>;
  /** Fewer samples and smaller whole-network patches for a smoke run. */
  quick: boolean;
  /** Whole-network patch (D, H, W) when given on the command line. */
  patch?: [number, number, number];
}

/** Seeded uniform values in [lo, hi), never all zero. */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

export const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
export const fmtShape = (s: readonly number[]): string => `[${s.join(',')}]`;

/** A cacnet contender (always run). */
export function ours(prepare: () => Work | Promise<Work>): Contender {
  return contender('cacnet', prepare);
}

/** tfjs contenders for the engines this run includes: prepare runs after the backend switch. */
export function tfjsPair(ctx: BenchContext, prepare: (tf: Tf) => Work | Promise<Work>): Contender[] {
  const out: Contender[] = [];
  const h = ctx.tfjs;
  if (!h) return out;
  const tf = h.tf;
  for (const [engine, backend] of [['tfjs-webgpu', 'webgpu'], ['tfjs-cpu', 'cpu']] as const) {
    if (!ctx.engines.has(engine)) continue;
    out.push(contender(engine, async () => (backend === 'webgpu' ? checked(h, await prepare(tf)) : prepare(tf)), () => useBackend(tf, backend)));
  }
  return out;
}

/** Fails a tfjs-webgpu call when Dawn rejected one of the pipelines tfjs generated for it. */
export function checked(h: TfjsHandle, work: Work): Work {
  return {
    ...work,
    run: async () => {
      const before = h.gpuErrors.length;
      const out = await work.run();
      if (h.gpuErrors.length > before) throw new Error(`tfjs webgpu produced an invalid GPU pipeline: ${h.gpuErrors[before]!.slice(0, 300)}`);
      return out;
    },
  };
}

/** An f32 tensor of seeded random values, outside any scope (the caller disposes it). */
export function randomTensor(rt: Runtime, shape: readonly number[], seed: number, lo = -1, hi = 1): Tensor {
  return Tensor.from(rt, randomArray(prod(shape), seed, lo, hi), shape);
}
