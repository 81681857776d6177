import { Runtime } from '../src/gpu/runtime.js';
import { Tensor } from '../src/gpu/tensor.js';
import { matmul } from '../src/kernels/matmul.js';

const rt = await Runtime.create();
console.log(rt.description);
function fmaSource(chains: number, iters: number, wg: number, useFma: boolean): string {
  const decl = Array.from({ length: chains }, (_, j) => `var a${j} = f32(i) * ${(j + 1) * 0.001};`).join('\n');
  const body = Array.from({ length: chains }, (_, j) => useFma ? `a${j} = fma(a${j}, b, c);` : `a${j} = a${j} * b + c;`).join('\n');
  const sum = Array.from({ length: chains }, (_, j) => `a${j}`).join(' + ');
  return `
@group(0) @binding(0) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  let b = 0.999 + f32(i & 1u) * 1e-6;
  let c = 0.001;
  ${decl}
  for (var t = 0u; t < ${iters}u; t++) {
    ${body}
  }
  Y[i] = ${sum};
}`;
}
const groups = 64;
for (const wg of [4, 64]) for (const chains of [8, 16, 24, 32]) for (const useFma of [true, false]) {
  const iters = 4096;
  const threads = wg * groups;
  const y = Tensor.empty(rt, [threads]);
  const src = fmaSource(chains, iters, wg, useFma);
  rt.dispatch({ label: 'fma', source: src, buffers: [y.buffer], workgroups: groups });
  await rt.sync();
  const reps = 3;
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) rt.dispatch({ label: 'fma', source: src, buffers: [y.buffer], workgroups: groups });
  await rt.sync();
  const ms = (performance.now() - t0) / reps;
  const flops = 2 * threads * chains * iters;
  console.log(`wg ${wg} chains ${chains} ${useFma ? 'fma' : 'mul+add'}: ${(flops / ms / 1e6).toFixed(2)} GFLOP/s (${ms.toFixed(1)} ms)`);
  y.dispose();
}
const n = 512;
const a = Tensor.from(rt, Float32Array.from({ length: n * n }, (_, i) => (i % 7) - 3), [n, n]);
matmul(a, a).dispose(); await rt.sync();
const t0 = performance.now();
for (let r = 0; r < 3; r++) matmul(a, a).dispose();
await rt.sync();
const ms = (performance.now() - t0) / 3;
console.log(`matmul ${n}: ${(2 * n ** 3 / ms / 1e6).toFixed(2)} GFLOP/s`);
rt.destroy();
