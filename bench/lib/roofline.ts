/**
 * The adapter's own limits, measured: the FMA rate (GFLOP/s, one FMA = 2 FLOPs)
 * of a kernel that does nothing but independent fma chains, and the copy
 * bandwidth (GB/s, bytes read + bytes written) of a kernel that does nothing but
 * copy vec4s. Each is the best of a few workgroup shapes, so a kernel row's
 * fraction of it says how far that kernel is from what this adapter can do.
 */
import { Runtime } from '../../src/gpu/runtime.js';
import { Tensor } from '../../src/gpu/tensor.js';
import { median } from './harness.js';

export interface RoofProbe {
  config: string;
  value: number;
}

export interface Roofline {
  /** Best measured FMA rate, GFLOP/s. */
  fmaGflops: number;
  /** Best measured shader copy bandwidth, GB/s (read + write). */
  copyGBps: number;
  /** copyBufferToBuffer bandwidth, GB/s (read + write), for reference. */
  blitGBps: number;
  fmaProbes: RoofProbe[];
  copyProbes: RoofProbe[];
}

function fmaSource(wg: number, chains: number, unroll: number): string {
  const decl = Array.from({ length: chains }, (_, j) => `var a${j} = vec4f(f32(i), f32(i + 1u), f32(i + 2u), f32(i + 3u)) * ${(j + 1) * 1e-7};`).join('\n  ');
  const step = Array.from({ length: chains }, (_, j) => `a${j} = fma(a${j}, b, c);`).join(' ');
  const body = Array.from({ length: unroll }, () => step).join('\n    ');
  const sum = Array.from({ length: chains }, (_, j) => `a${j}`).join(' + ');
  return /* wgsl */ `
struct P { iters: u32, b: f32, c: f32, pad: u32 }
@group(0) @binding(0) var<storage, read_write> Y: array<vec4f>;
@group(0) @binding(1) var<uniform> p: P;
@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  let b = vec4f(p.b);
  let c = vec4f(p.c);
  ${decl}
  for (var t = 0u; t < p.iters; t++) {
    ${body}
  }
  Y[i] = ${sum};
}`;
}

function copySource(wg: number, perThread: number): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> Y: array<vec4f>;
@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  // Grid-stride: neighbouring invocations touch neighbouring vec4s. The grid
  // covers the buffer exactly (powers of two), so there is no bounds check.
  let first = gid.x + gid.y * nwg.x * ${wg}u;
  let total = nwg.x * nwg.y * ${wg}u;
  for (var k = 0u; k < ${perThread}u; k++) {
    let i = first + k * total;
    Y[i] = X[i];
  }
}`;
}

async function timeDispatches(rt: Runtime, encode: () => void, reps: number, trials: number): Promise<number> {
  encode();
  await rt.sync();
  const per: number[] = [];
  for (let t = 0; t < trials; t++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) encode();
    await rt.sync();
    per.push((performance.now() - t0) / 1e3 / reps);
  }
  return median(per);
}

export async function measureRoofline(rt: Runtime, log: (s: string) => void = () => {}): Promise<Roofline> {
  const fmaProbes: RoofProbe[] = [];
  const workgroups = 256;
  for (const [wg, chains] of [[64, 4], [64, 8], [128, 8], [256, 8]] as const) {
    const unroll = 8;
    const threads = wg * workgroups;
    const y = Tensor.empty(rt, [threads * 4]);
    const source = fmaSource(wg, chains, unroll);
    let iters = 16;
    const once = () => rt.dispatch({ label: 'roofline-fma', source, buffers: [y.buffer], uniforms: new Uint32Array([iters, f32bits(0.99999), f32bits(1e-6), 0]), workgroups });
    // Grow the loop until one dispatch takes ~60 ms, so launch overhead is noise.
    let s = await timeDispatches(rt, once, 1, 1);
    while (s < 0.06 && iters < 1 << 20) {
      iters = Math.min(1 << 20, Math.ceil(iters * Math.min(16, Math.max(2, 0.08 / Math.max(s, 1e-4)))));
      s = await timeDispatches(rt, once, 1, 1);
    }
    s = await timeDispatches(rt, once, 2, 3);
    const flops = 2 * threads * chains * 4 * unroll * iters;
    const gflops = flops / s / 1e9;
    fmaProbes.push({ config: `wg ${wg}, ${chains} vec4 chains x${unroll}`, value: gflops });
    log(`  roofline fma  wg ${String(wg).padStart(3)} chains ${chains}: ${gflops.toFixed(1)} GFLOP/s`);
    y.dispose();
  }

  const copyProbes: RoofProbe[] = [];
  const n = 1 << 22; // vec4s: 64 MiB per buffer
  const x = Tensor.from(rt, Float32Array.from({ length: n * 4 }, (_, i) => i & 1023), [n * 4]);
  const y = Tensor.empty(rt, [n * 4]);
  const bytes = 2 * n * 16;
  for (const [wg, perThread] of [[64, 1], [256, 1], [64, 16], [256, 16], [64, 64], [128, 64]] as const) {
    const source = copySource(wg, perThread);
    const threads = Math.ceil(n / perThread);
    const once = () => rt.dispatch({ label: 'roofline-copy', source, buffers: [x.buffer, y.buffer], workgroups: exactGrid(threads / wg) });
    const s = await timeDispatches(rt, once, 3, 3);
    const gbps = bytes / s / 1e9;
    copyProbes.push({ config: `wg ${wg}, ${perThread} vec4/thread`, value: gbps });
    log(`  roofline copy wg ${String(wg).padStart(3)} x${perThread}: ${gbps.toFixed(2)} GB/s`);
  }
  const blit = await timeDispatches(rt, () => rt.copy(x.buffer, y.buffer, n * 16), 3, 3);
  const blitGBps = bytes / blit / 1e9;
  log(`  roofline copyBufferToBuffer: ${blitGBps.toFixed(2)} GB/s`);
  x.dispose();
  y.dispose();
  rt.trim();
  return {
    fmaGflops: Math.max(...fmaProbes.map((p) => p.value)),
    copyGBps: Math.max(...copyProbes.map((p) => p.value)),
    blitGBps,
    fmaProbes,
    copyProbes,
  };
}

/** A power-of-two workgroup count as an exact x*y grid (no invocation past the end). */
function exactGrid(count: number): [number, number, number] {
  return count <= 32768 ? [count, 1, 1] : [32768, count / 32768, 1];
}

function f32bits(v: number): number {
  return new Uint32Array(Float32Array.of(v).buffer)[0]!;
}
