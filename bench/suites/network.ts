/**
 * Whole-network rows: CAC-Net (DEMO_CONFIG) forward in eval mode, and one
 * training step as src/net/train.ts runs it (upload the batch, forward, loss of
 * eq. 4 with deep supervision, backward, Adam with L2, one readback of loss and
 * Dice), against the same network composed in tfjs ops (bench/tfjs-cacnet.ts)
 * with the same weights, on the same adapter. Also counts cacnet's dispatches,
 * submits and readbacks per step and watches live GPU bytes across steps.
 */
import { Tensor } from '../../src/gpu/tensor.js';
import { tidy } from '../../src/gpu/scope.js';
import { backward, noGrad } from '../../src/autograd/tape.js';
import { concat } from '../../src/autograd/ops.js';
import { CacNet } from '../../src/net/cacnet.js';
import { DEMO_CONFIG, PAPER_CONFIG } from '../../src/net/config.js';
import { cacnetLoss } from '../../src/net/loss.js';
import { makeOptimizer } from '../../src/net/train.js';
import { relativeDiff, timeWithBenchmark, median, type HarnessOptions, type Timing, type Engine } from '../lib/harness.js';
import type { CounterStats, NetworkResult } from '../lib/report.js';
import { prod, randomArray, type BenchContext } from '../lib/context.js';
import { profileCall } from '../lib/profile.js';
import { useBackend } from '../lib/tfjs.js';
import { TfCacNet, type HostTensor } from '../tfjs-cacnet.js';

/** The whole-network patch: the shipped recipe's is 16x64x64; tfjs on SwiftShader needs minutes a step there. */
export function networkPatch(ctx: BenchContext): [number, number, number] {
  if (ctx.patch) return ctx.patch;
  if (ctx.quick) return [8, 16, 16];
  return ctx.rt.description.isSoftware ? [16, 16, 16] : [16, 64, 64];
}

const LR = 3e-3;

async function hostParams(list: Array<[string, Tensor]>): Promise<Map<string, HostTensor>> {
  const out = new Map<string, HostTensor>();
  for (const [name, t] of list) out.set(name, { data: await t.readF32(), shape: [...t.shape] });
  return out;
}

function delta(a: CounterStats, b: CounterStats, n: number): CounterStats {
  return { dispatches: (b.dispatches - a.dispatches) / n, submits: (b.submits - a.submits) / n, readbacks: (b.readbacks - a.readbacks) / n };
}

export async function networkBench(ctx: BenchContext, o: HarnessOptions, which: 'demo' | 'paper' = 'demo'): Promise<NetworkResult> {
  const { rt } = ctx;
  const config = which === 'paper' ? PAPER_CONFIG : DEMO_CONFIG;
  const patch = networkPatch(ctx);
  const voxels = prod(patch);
  const x = randomArray(voxels, 7001, 0, 1);
  const r = randomArray(voxels, 7002, 0, 1);
  const labels = Uint32Array.from(r, (v) => (v < 0.95 ? 0 : 1 + (Math.floor(v * 1000) % 3)));
  const log = o.log;
  const counters = (): CounterStats => ({ ...rt.counters });

  const model = new CacNet(rt, config);
  const params = await hostParams(model.namedParameters());
  const state = await hostParams(model.namedState());
  const forward: Timing[] = [];
  const step: Timing[] = [];
  const samplesFor = (warm: number) => Math.max(1, Math.min(o.minSamples, Math.floor(o.cellBudget / Math.max(warm, 1e-3))));
  /** Warm-up call (through `first` when given), then Benchmark.js samples (at least one). */
  const time = async (engine: Engine, what: string, into: Timing[], run: () => Promise<void>, first = run) => {
    try {
      const w0 = performance.now();
      await first();
      const warm = (performance.now() - w0) / 1e3;
      const samples = await timeWithBenchmark(`${what} [${engine}]`, run, { minSamples: samplesFor(warm), maxTime: o.maxTime });
      into.push({ engine, median: median(samples), samples, firstCall: warm });
      log(`  ${`${what} [${engine}]`.padEnd(64)} ${(median(samples) * 1e3).toFixed(0).padStart(10)} ms  (${samples.length} samples; first call ${(warm * 1e3).toFixed(0)} ms)`);
    } catch (e) {
      const msg = ((e as Error)?.message ?? String(e)).split('\n')[0]!.slice(0, 400);
      into.push({ engine, median: NaN, samples: [], error: msg });
      log(`  ${what} [${engine}] FAILED: ${msg}`);
    }
  };

  // ---- cacnet forward (eval) ---------------------------------------------------
  model.eval();
  let oursLogits: Float32Array | null = null;
  const oursInfer = async () => {
    const logits = noGrad(() => tidy(() => model.forward(Tensor.from(rt, x, [1, ...patch, 1])).logits));
    oursLogits = await logits.readF32();
    logits.dispose();
  };
  await time('cacnet', 'CAC-Net forward', forward, oursInfer);
  let c0 = counters();
  await oursInfer();
  const oursForward = delta(c0, counters(), 1);

  // ---- cacnet training step --------------------------------------------------
  model.train();
  const opt = makeOptimizer(model, LR);
  let stepIndex = 0;
  const oursStep = async () => {
    model.setStep(stepIndex++);
    const report = tidy(() => {
      const tx = Tensor.from(rt, x, [1, ...patch, 1]);
      const ty = Tensor.from(rt, labels, [1, ...patch], 'u32');
      const res = cacnetLoss(model.forward(tx), ty, config);
      backward(res.loss);
      return noGrad(() => concat([res.loss, res.dice]));
    });
    opt.step();
    opt.zeroGrad();
    await report.readF32();
    report.dispose();
  };
  await oursStep();
  const liveAfterFirst = rt.memory().liveBytes;
  rt.resetPeakMemory();
  await time('cacnet', 'CAC-Net training step', step, oursStep);
  const stepsDone = stepIndex;
  c0 = counters();
  await oursStep();
  const oursPerStep = delta(c0, counters(), 1);
  const mem = rt.memory();
  // Replaying ~2000 dispatches one by one takes minutes on a CPU adapter: not in a smoke run.
  if (!ctx.quick) log('  profiling one cacnet training step, kernel by kernel');
  const stepProfile = ctx.quick ? undefined : await profileCall(rt, oursStep, 1);
  opt.dispose();
  model.dispose();
  rt.trim();

  const result: NetworkResult = {
    config: which === 'paper' ? 'PAPER_CONFIG' : 'DEMO_CONFIG',
    patch,
    parameters: [...params.values()].reduce((s, t) => s + t.data.length, 0),
    forward,
    step,
    oursPerStep,
    oursForward,
    memory: { oursPeakBytes: mem.peakLiveBytes, oursLiveAfterFirst: liveAfterFirst, oursLiveAfterLast: mem.liveBytes, steps: stepsDone + 1 },
    stepProfile,
    note:
      `Patch ${patch.join('x')} (the shipped training recipe uses 16x64x64${patch[1] !== 64 ? '; smaller here so that tfjs on this adapter finishes within the time budget' : ''}). ` +
      'Both sides upload the batch, run the forward of eq. 4 with deep supervision (weights 1, 0.5, 0.25), backward, Adam (lr 3e-3, L2 1e-5), and read the loss back; ' +
      'tfjs also updates the batch-norm running averages after each step (cacnet does it inside the forward). ' +
      `Dropout is on in both (rates from ${which === 'paper' ? 'PAPER_CONFIG' : 'DEMO_CONFIG'}).`,
  };

  // ---- tfjs ------------------------------------------------------------------
  const h = ctx.tfjs;
  if (!h) return result;
  const tf = h.tf;
  const labels32 = Int32Array.from(labels);
  for (const [engine, backend] of [['tfjs-webgpu', 'webgpu'], ['tfjs-cpu', 'cpu']] as const) {
    if (!ctx.engines.has(engine)) continue;
    // The cpu backend runs the whole network in JavaScript on one thread: only where it fits the budget.
    if (engine === 'tfjs-cpu' && !ctx.quick && rt.description.isSoftware && patch[1] > 32) continue;
    await useBackend(tf, backend);
    const net = new TfCacNet(tf, config, params, state);
    const optimizer = tf.train.adam(LR, 0.9, 0.999, 1e-8);
    const errorsBefore = h.gpuErrors.length;
    const checkErrors = () => {
      if (engine === 'tfjs-webgpu' && h.gpuErrors.length > errorsBefore) throw new Error(`tfjs webgpu produced an invalid GPU pipeline: ${h.gpuErrors[errorsBefore]!.slice(0, 300)}`);
    };
    let tfLogits: Float32Array | null = null;
    await time(engine, 'CAC-Net forward', forward, async () => {
      tfLogits = await net.infer(x, patch);
      checkErrors();
    });
    if (engine === 'tfjs-webgpu' && tfLogits && oursLogits) result.forwardDiff = relativeDiff(tfLogits, oursLogits);
    const be = tf.backend() as unknown as { runWebGPUProgram?: (...a: unknown[]) => unknown; queue?: GPUQueue };
    const tfStep = async () => {
      await net.trainStep(optimizer, x, labels32, patch);
      checkErrors();
    };
    const bytesNow = () => {
      const m = tf.memory() as TfMemory;
      return m.numBytesInGPU ?? m.numBytes;
    };
    let bytesAfterFirst = 0;
    // The warm-up step also counts the GPU programs and submits of one step (webgpu).
    const countedStep = async () => {
      if (engine !== 'tfjs-webgpu' || !be.runWebGPUProgram || !be.queue) {
        await tfStep();
        bytesAfterFirst = bytesNow();
        return;
      }
      let programs = 0;
      let submits = 0;
      const runProgram = be.runWebGPUProgram.bind(be);
      const submit = be.queue.submit.bind(be.queue);
      be.runWebGPUProgram = (...a: unknown[]) => { programs++; return runProgram(...a); };
      be.queue.submit = (cbs: Iterable<GPUCommandBuffer>) => { submits++; return submit(cbs); };
      try {
        await tfStep();
      } finally {
        delete be.runWebGPUProgram;
        be.queue.submit = submit;
      }
      bytesAfterFirst = bytesNow();
      result.tfjsPerStep = { programs, submits };
      log(`  tfjs webgpu: ${programs} GPU programs and ${submits} submits a step`);
    };
    await time(engine, 'CAC-Net training step', step, tfStep, countedStep);
    if (engine === 'tfjs-webgpu') {
      result.memory.tfjsBytesAfterFirst = bytesAfterFirst;
      result.memory.tfjsBytesAfterLast = bytesNow();
      result.memory.tfjsSteps = 1 + (step.find((t) => t.engine === engine)?.samples.length ?? 0);
      result.memory.tfjsPeakBytes = (tf.memory() as TfMemory).numBytesAllocatedInGPU;
    }
    optimizer.dispose();
    net.dispose();
  }
  return result;
}

interface TfMemory {
  numBytes: number;
  numBytesInGPU?: number;
  numBytesAllocatedInGPU?: number;
}
