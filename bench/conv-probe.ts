/**
 * Throwaway probe: GFLOP/s of conv3d 16->16, 3x3x3 on a 1x16x64x64x16 volume
 * (forward, dX, dW) next to this adapter's FMA peak (independent fma chains in
 * registers), measured in the same run so the ratio survives a noisy machine.
 * Run: npx tsx bench/conv-probe.ts [--shape 1,16,64,64,16] [--cout 16] [--k 3] [--reps 3]
 * (a 4-long shape [N, H, W, C] runs conv2d)
 */
import { Runtime } from '../src/gpu/runtime.js';
import { Tensor } from '../src/gpu/tensor.js';
import { convForward, convGeometry, convInputGrad, convWeightGrad } from '../src/kernels/conv.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const shape = arg('shape', '1,16,64,64,16').split(',').map(Number);
const cout = Number(arg('cout', '16'));
const k = Number(arg('k', '3'));
const reps = Number(arg('reps', '3'));

const rt = await Runtime.create();
console.log(`adapter: ${rt.description.description} (${rt.description.device}), subgroups: ${rt.has('subgroups')}`);

/**
 * Wall time is at the mercy of the other processes on this machine; the
 * process's CPU time (SwiftShader's worker threads live in it) is not, so
 * rates are also given per CPU-second, and the ratios use those.
 */
interface Timing { wallMs: number; cpuMs: number }
async function timed(run: () => void): Promise<Timing> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  run();
  await rt.sync();
  const c = process.cpuUsage(c0);
  return { wallMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1e3 };
}

/** Best of a few configurations of a kernel doing only independent fma chains (GFLOP per wall second, per CPU second). */
async function fmaPeak(): Promise<{ wall: number; cpu: number }> {
  let best = { wall: 0, cpu: 0 };
  for (const [wg, chains, unroll] of [[64, 12, 8], [64, 16, 8], [4, 12, 16], [64, 8, 16]] as const) {
    const iters = 2048;
    const groups = 256;
    const decl = Array.from({ length: chains }, (_, j) => `var a${j} = f32(gid.x) * ${(j + 1) * 1e-3};`).join('\n  ');
    const step = Array.from({ length: chains }, (_, j) => `a${j} = fma(a${j}, b, c);`).join(' ');
    const source = `@group(0) @binding(0) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(${wg}) fn main(@builtin(global_invocation_id) gid: vec3u) {
  let b = 0.999 + f32(gid.x & 1u) * 1e-6;
  let c = 0.001;
  ${decl}
  for (var t = 0u; t < ${iters / unroll}u; t++) {
    ${Array.from({ length: unroll }, () => step).join('\n    ')}
  }
  Y[gid.x] = ${Array.from({ length: chains }, (_, j) => `a${j}`).join(' + ')};
}`;
    const y = Tensor.empty(rt, [wg * groups]);
    const run = () => rt.dispatch({ label: 'fma-peak', source, buffers: [y.buffer], workgroups: groups });
    run();
    await rt.sync();
    for (let t = 0; t < 3; t++) {
      const tm = await timed(run);
      const f = 2 * wg * groups * chains * iters;
      best = { wall: Math.max(best.wall, f / tm.wallMs / 1e6), cpu: Math.max(best.cpu, f / tm.cpuMs / 1e6) };
    }
    y.dispose();
  }
  return best;
}

async function timeMs(f: () => Tensor): Promise<Timing> {
  f().dispose(); // compile + warm up
  await rt.sync();
  let best = { wallMs: Infinity, cpuMs: Infinity };
  for (let r = 0; r < reps; r++) {
    const tm = await timed(() => f().dispose());
    best = { wallMs: Math.min(best.wallMs, tm.wallMs), cpuMs: Math.min(best.cpuMs, tm.cpuMs) };
  }
  return best;
}

const rnd = (n: number, seed: number) => {
  let a = seed;
  return Float32Array.from({ length: n }, () => ((a = (a * 1103515245 + 12345) % 2147483648), a / 2147483648 - 0.5));
};
const dims = (shape.length - 2) as 2 | 3;
const cin = shape[shape.length - 1]!;
const wShape = [...Array(dims).fill(k), cin, cout];
const x = Tensor.from(rt, rnd(shape.reduce((a, b) => a * b, 1), 1), shape);
const w = Tensor.from(rt, rnd(wShape.reduce((a, b) => a * b, 1), 2), wShape);
const g = convGeometry(`conv${dims}d`, x, w, dims);
const dy = Tensor.from(rt, rnd(g.n * g.d * g.h * g.w * cout, 3), [...shape.slice(0, -1), cout]);
const flops = 2 * g.n * g.d * g.h * g.w * cout * cin * k ** dims;

const peakBefore = await fmaPeak();
const fwd = await timeMs(() => convForward(x, w, null, g));
const dx = await timeMs(() => convInputGrad(dy, w, g));
const dw = await timeMs(() => convWeightGrad(x, dy, wShape, g));
const peakAfter = await fmaPeak();
const peak = { wall: Math.max(peakBefore.wall, peakAfter.wall), cpu: Math.max(peakBefore.cpu, peakAfter.cpu) };
const gf = (ms: number) => flops / ms / 1e6;
console.log(`FMA peak: ${peak.wall.toFixed(1)} GFLOP/s wall, ${peak.cpu.toFixed(1)} GFLOP per CPU-second`);
console.log(`conv${dims}d ${cin}->${cout} k${k} on ${JSON.stringify(shape)}: ${(flops / 1e9).toFixed(2)} GFLOP per pass`);
const row = (name: string, t: Timing) =>
  console.log(`  ${name.padEnd(8)} ${t.wallMs.toFixed(1).padStart(7)} ms  ${gf(t.wallMs).toFixed(2).padStart(6)} GFLOP/s wall (${((100 * gf(t.wallMs)) / peak.wall).toFixed(0).padStart(3)}%)` +
    `  ${gf(t.cpuMs).toFixed(2).padStart(6)} GFLOP/CPU-s (${((100 * gf(t.cpuMs)) / peak.cpu).toFixed(0).padStart(3)}% of peak)`);
row('forward', fwd);
row('dX', dx);
row('dW', dw);
row('total/3', { wallMs: (fwd.wallMs + dx.wallMs + dw.wallMs) / 3, cpuMs: (fwd.cpuMs + dx.cpuMs + dw.cpuMs) / 3 });
rt.destroy();
