/**
 * Host time per dispatch: how long the CPU spends *encoding* work (building or
 * finding pipelines, packing uniforms, bind groups, recording the dispatch),
 * apart from the GPU running it. Each case is encoded `reps` times into the
 * pending command encoder, timed around the encoding only, then submitted and
 * waited for outside the clock; the median call is reported (a shared machine
 * preempts and collects garbage at random: means move by 10x, medians do not).
 * A training step is timed from its start to the moment it asks for the loss
 * (the one readback, which submits).
 *
 *   npx tsx bench/host-time.ts [--reps N] [--steps N] [--patch D,H,W] [--kernels gpu|swiftshader]
 */
import { parseArgs } from 'node:util';
import { Runtime } from '../src/gpu/runtime.js';
import { Tensor } from '../src/gpu/tensor.js';
import { tidy } from '../src/gpu/scope.js';
import { backward, noGrad } from '../src/autograd/tape.js';
import { concat } from '../src/autograd/ops.js';
import { convForward, convGeometry, convInputGrad, convWeightGrad } from '../src/kernels/conv.js';
import { maxPool3d } from '../src/kernels/pool.js';
import { groupNormForward } from '../src/kernels/groupnorm.js';
import { binary } from '../src/kernels/elementwise.js';
import { CacNet } from '../src/net/cacnet.js';
import { DEMO_CONFIG } from '../src/net/config.js';
import { cacnetLoss } from '../src/net/loss.js';
import { makeOptimizer } from '../src/net/train.js';
import { prod, randomTensor } from './lib/context.js';
import { randomArray } from './lib/context.js';

const { values: v } = parseArgs({
  options: { reps: { type: 'string' }, steps: { type: 'string' }, patch: { type: 'string' }, kernels: { type: 'string' } },
});
const reps = Number(v.reps ?? 40);
const steps = Number(v.steps ?? 5);
const patch = (v.patch ?? '16,16,16').split(',').map(Number) as [number, number, number];
const rt = await Runtime.create(v.kernels ? ({ kernels: v.kernels } as object) : {});

interface Row { name: string; hostMs: number; dispatches: number }
const rows: Row[] = [];

/** Encodes `run` reps times (after one warm-up that compiles), timing the encoding only. */
async function encodeTime(name: string, run: () => Tensor[]): Promise<void> {
  for (const t of run()) t.dispose();
  await rt.sync();
  const host: number[] = [];
  const d0 = rt.counters.dispatches;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const out = run();
    host.push(performance.now() - t0);
    for (const t of out) t.dispose();
    if (r % 8 === 7) await rt.sync();
  }
  await rt.sync();
  const dispatches = (rt.counters.dispatches - d0) / reps;
  rows.push({ name, hostMs: median(host), dispatches });
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function convCase(name: string, xShape: number[], k: number, cout: number): Promise<void> {
  const dims = (xShape.length - 2) as 2 | 3;
  const cin = xShape[xShape.length - 1]!;
  const wShape = [...Array<number>(dims).fill(k), cin, cout];
  const x = randomTensor(rt, xShape, 1);
  const w = randomTensor(rt, wShape, 2);
  const dy = randomTensor(rt, [...xShape.slice(0, -1), cout], 3);
  const g = convGeometry(name, x, w, dims);
  return encodeTime(name, () => [convForward(x, w, null, g), convInputGrad(dy, w, g), convWeightGrad(x, dy, wShape, g)]);
}

await convCase('conv3d 3x3x3 16->16 block (fwd+dX+dW), x [1,4,16,16,16]', [1, 4, 16, 16, 16], 3, 16);
await convCase('conv3d 3x3x3 4->4 block (fwd+dX+dW), x [1,16,64,64,4]', [1, 16, 64, 64, 4], 3, 4);
await convCase('conv2d 3x3 16->16 block (fwd+dX+dW), x [4,32,32,16]', [4, 32, 32, 16], 3, 16);
{
  const x = randomTensor(rt, [1, 16, 64, 64, 4], 4);
  const gamma = randomTensor(rt, [4], 5);
  const beta = randomTensor(rt, [4], 6);
  await encodeTime('maxPool3d 2x2x2, x [1,16,64,64,4]', () => {
    const r = maxPool3d(x);
    return [r.y, r.argmax!];
  });
  await encodeTime('group norm forward, x [1,16,64,64,4]', () => {
    const r = groupNormForward(x, gamma, beta, 2, 1e-5, true);
    return [r.y, r.stats];
  });
  await encodeTime('add, [1,16,64,64,4]', () => [binary('add', x, x, 'a + b')]);
}

// One CAC-Net training step (demo config), host time to encode it.
const model = new CacNet(rt, DEMO_CONFIG);
model.train();
const opt = makeOptimizer(model, 3e-3);
const voxels = prod(patch);
const xd = randomArray(voxels, 7001, 0, 1);
const labels = Uint32Array.from(randomArray(voxels, 7002, 0, 1), (q) => (q < 0.95 ? 0 : 1 + (Math.floor(q * 1000) % 3)));
const stepHost: number[] = [];
let stepDispatches = 0;
for (let s = 0; s <= steps; s++) {
  model.setStep(s);
  const d0 = rt.counters.dispatches;
  const t0 = performance.now();
  const report = tidy(() => {
    const tx = Tensor.from(rt, xd, [1, ...patch, 1]);
    const ty = Tensor.from(rt, labels, [1, ...patch], 'u32');
    const res = cacnetLoss(model.forward(tx), ty, DEMO_CONFIG);
    backward(res.loss);
    return noGrad(() => concat([res.loss, res.dice]));
  });
  opt.step();
  opt.zeroGrad();
  const host = performance.now() - t0;
  if (s > 0) {
    stepHost.push(host);
    stepDispatches = rt.counters.dispatches - d0;
  }
  await report.readF32();
  report.dispose();
}
rows.push({ name: `CAC-Net demo training step, patch ${patch.join('x')}`, hostMs: median(stepHost), dispatches: stepDispatches });

console.log(`adapter: ${rt.description.description}; ${reps} reps a case, ${steps} steps\n`);
console.log('| case | host ms a call (median) | dispatches a call | host µs a dispatch |');
console.log('|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.hostMs.toFixed(3)} | ${r.dispatches} | ${((1e3 * r.hostMs) / r.dispatches).toFixed(1)} |`);
opt.dispose();
model.dispose();
rt.destroy();
