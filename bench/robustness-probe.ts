/**
 * Measures what Dawn's robustness (bounds clamping on every storage access)
 * costs on this adapter: the same matmul and elementwise work with it on and off.
 * Run: npx tsx bench/robustness-probe.ts
 */
import { Runtime } from '../src/gpu/runtime.js';
import { Tensor } from '../src/gpu/tensor.js';
import { matmul } from '../src/kernels/matmul.js';
import { binary } from '../src/kernels/elementwise.js';

async function timeIt(rt: Runtime, f: () => Tensor, reps: number): Promise<number> {
  f().dispose();
  await rt.sync();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) f().dispose();
  await rt.sync();
  return (performance.now() - t0) / reps;
}

const results: Record<string, { on: number; off: number }> = {};
for (const robustness of [true, false]) {
  const rt = await Runtime.create({ robustness });
  const n = 384;
  const a = Tensor.from(rt, Float32Array.from({ length: n * n }, (_, i) => (i % 7) - 3), [n, n]);
  const big = Tensor.from(rt, Float32Array.from({ length: 1 << 22 }, (_, i) => i % 5), [1 << 22]);
  const mm = await timeIt(rt, () => matmul(a, a), 3);
  const ew = await timeIt(rt, () => binary('mul', big, big, 'a * b'), 5);
  const key = robustness ? 'on' : 'off';
  (results[`matmul ${n}^3`] ??= { on: 0, off: 0 })[key] = mm;
  (results['elementwise 4M'] ??= { on: 0, off: 0 })[key] = ew;
  rt.destroy();
}
for (const [k, v] of Object.entries(results)) {
  console.log(`${k.padEnd(16)} robustness on ${v.on.toFixed(1)} ms, off ${v.off.toFixed(1)} ms: off is ${(v.on / v.off).toFixed(2)}x faster`);
}
