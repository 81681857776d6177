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
  /**
   * Scalar-FMA rate when one operand of every FMA comes from somewhere other
   * than a register: what a kernel's inner loop pays for where it reads from.
   */
  operandProbes: RoofProbe[];
}

type OperandSource = 'register' | 'private array, constant index' | 'private array, dynamic index' | 'storage buffer, same index on all lanes' | 'quadBroadcast of the other operand';

function operandSource(mode: OperandSource, chains: number, unroll: number): string {
  const decl = Array.from({ length: chains }, (_, j) => `var a${j} = f32(i) * ${(j + 1) * 1e-7};`).join('\n  ');
  const op = (j: number, u: number) => {
    const k = (j * unroll + u) * 7;
    const b =
      mode === 'private array, constant index' ? `bp[${k % 256}]`
        : mode === 'private array, dynamic index' ? `bp[(t + ${k}u) & 255u]`
          : mode === 'storage buffer, same index on all lanes' ? `B[(t + ${k}u) & 255u]`
            : 'b';
    const a = mode === 'quadBroadcast of the other operand' ? `quadBroadcast(a${j}, ${j % 4}u)` : `a${j}`;
    return `a${j} = fma(${a}, ${b}, c);`;
  };
  const body = Array.from({ length: unroll }, (_, u) => Array.from({ length: chains }, (_, j) => op(j, u)).join(' ')).join('\n    ');
  return /* wgsl */ `${mode === 'quadBroadcast of the other operand' ? 'enable subgroups;' : ''}
struct P { iters: u32, b: f32, c: f32, pad: u32 }
@group(0) @binding(0) var<storage, read_write> Y: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  let b = p.b;
  let c = p.c;
  var bp: array<f32, 256>;
  for (var k = 0u; k < 256u; k++) { bp[k] = B[k] * p.b; }
  ${decl}
  for (var t = 0u; t < p.iters; t++) {
    ${body}
  }
  Y[i] = ${Array.from({ length: chains }, (_, j) => `a${j}`).join(' + ')} + bp[i & 255u] + B[i & 255u];
}`;
}

/** FMA rate by operand source (see Roofline.operandProbes). */
export async function measureOperandSources(rt: Runtime, log: (s: string) => void = () => {}): Promise<RoofProbe[]> {
  const modes: OperandSource[] = ['register', 'private array, constant index', 'private array, dynamic index', 'storage buffer, same index on all lanes'];
  if (rt.has('subgroups')) modes.push('quadBroadcast of the other operand');
  const wg = 64;
  const workgroups = 128;
  const chains = 8;
  const unroll = 4;
  const y = Tensor.empty(rt, [wg * workgroups]);
  const b = Tensor.from(rt, new Float32Array(256).fill(0.999), [256]);
  const out: RoofProbe[] = [];
  for (const mode of modes) {
    const source = operandSource(mode, chains, unroll);
    let iters = 64;
    const once = () => rt.dispatch({ label: 'roofline-operand', source, buffers: [y.buffer, b.buffer], uniforms: new Uint32Array([iters, f32bits(0.99999), f32bits(1e-6), 0]), workgroups });
    let s = await timeDispatches(rt, once, 1, 1);
    while (s < 0.04 && iters < 1 << 18) {
      iters = Math.min(1 << 18, Math.ceil(iters * Math.min(16, Math.max(2, 0.06 / Math.max(s, 1e-4)))));
      s = await timeDispatches(rt, once, 1, 1);
    }
    s = await timeDispatches(rt, once, 1, 3);
    const gflops = (2 * wg * workgroups * chains * unroll * iters) / s / 1e9;
    out.push({ config: mode, value: gflops });
    log(`  fma operand from ${mode}: ${gflops.toFixed(2)} GFLOP/s`);
  }
  y.dispose();
  b.dispose();
  return out;
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
  const operandProbes = await measureOperandSources(rt, log);
  return {
    operandProbes,
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

/** Best of two probes (one at the start of a run, one at its end): the adapter's limit is what it reached. */
export function bestOf(a: Roofline, b: Roofline): Roofline {
  const merge = (x: RoofProbe[], y: RoofProbe[]) => x.map((p, i) => ({ config: p.config, value: Math.max(p.value, y[i]?.value ?? 0) }));
  return {
    fmaGflops: Math.max(a.fmaGflops, b.fmaGflops),
    copyGBps: Math.max(a.copyGBps, b.copyGBps),
    blitGBps: Math.max(a.blitGBps, b.blitGBps),
    fmaProbes: merge(a.fmaProbes, b.fmaProbes),
    copyProbes: merge(a.copyProbes, b.copyProbes),
    operandProbes: merge(a.operandProbes, b.operandProbes),
  };
}

function f32bits(v: number): number {
  return new Uint32Array(Float32Array.of(v).buffer)[0]!;
}
