/**
 * A kernel-level profile of one cacnet call, by capture and replay: the call
 * runs once with Runtime.dispatch wrapped to record every dispatch (label,
 * WGSL, buffers, uniforms, grid); then each recorded dispatch is replayed on
 * its own, a few times in one submit, and timed. Buffers are still alive (the
 * pool recycles, it does not destroy), so the replay touches the same memory.
 * What each kernel costs, how many workgroups of what size it launches, and how
 * many bytes its bindings span: bytes moved, occupancy and dispatch overhead.
 */
import type { DispatchSpec, Runtime } from '../../src/gpu/runtime.js';
import { median } from './harness.js';

export interface KernelProfile {
  label: string;
  /** Invocations per workgroup (from @workgroup_size), 0 when not a literal. */
  workgroupSize: number;
  workgroups: number;
  /** Median seconds of one dispatch, replayed alone. */
  seconds: number;
  /** Bytes of every buffer bound (an upper bound on what it reads and writes). */
  boundBytes: number;
}

export interface CallProfile {
  kernels: KernelProfile[];
  /** Sum of the replayed kernels. */
  kernelSeconds: number;
}

function workgroupSize(source: string): number {
  const m = /@workgroup_size\(\s*([^)]*)\)/.exec(source);
  if (!m) return 0;
  const dims = m[1]!.split(',').map((s) => s.trim()).filter(Boolean);
  let n = 1;
  for (const d of dims) {
    let v = Number(d.replace(/u$/, ''));
    if (!Number.isFinite(v)) {
      const c = new RegExp(`const\\s+${d}\\s*(?::\\s*\\w+)?\\s*=\\s*(\\d+)`).exec(source);
      v = c ? Number(c[1]) : NaN;
    }
    if (!Number.isFinite(v)) return 0;
    n *= v;
  }
  return n;
}

export async function profileCall(rt: Runtime, run: () => Promise<unknown>, trials = 3): Promise<CallProfile> {
  const captured: DispatchSpec[] = [];
  const target = rt as unknown as { dispatch: (s: DispatchSpec) => void };
  const original = rt.dispatch.bind(rt);
  target.dispatch = (s: DispatchSpec) => {
    captured.push(s);
    original(s);
  };
  try {
    await run();
  } finally {
    delete (target as { dispatch?: unknown }).dispatch;
  }
  const timeOf = async (s: DispatchSpec, n: number) => {
    const t0 = performance.now();
    for (let r = 0; r < n; r++) original(s);
    await rt.sync();
    return (performance.now() - t0) / 1e3;
  };
  const kernels: KernelProfile[] = [];
  for (const s of captured) {
    await timeOf(s, 1);
    // One dispatch a submit against four in one submit: the difference over three
    // is the kernel alone, without the submit-and-wait latency both include.
    const per: number[] = [];
    for (let t = 0; t < trials; t++) {
      const one = await timeOf(s, 1);
      const four = await timeOf(s, 4);
      per.push(Math.max(0, (four - one) / 3));
    }
    const [x, y, z] = rt.grid(s.workgroups, s.label);
    kernels.push({
      label: s.label,
      // A program's source is a builder (run again here: profiling only).
      workgroupSize: workgroupSize(typeof s.source === 'string' ? s.source : s.source()),
      workgroups: x * y * z,
      seconds: median(per),
      boundBytes: s.buffers.reduce((b, buf) => b + buf.size, 0),
    });
  }
  return { kernels, kernelSeconds: kernels.reduce((a, k) => a + k.seconds, 0) };
}

export interface KernelGroup {
  label: string;
  count: number;
  seconds: number;
  boundBytes: number;
}

/** Kernels of a profile summed by label, most expensive first. */
export function byLabel(p: CallProfile): KernelGroup[] {
  const m = new Map<string, KernelGroup>();
  for (const k of p.kernels) {
    const g = m.get(k.label) ?? { label: k.label, count: 0, seconds: 0, boundBytes: 0 };
    g.count++;
    g.seconds += k.seconds;
    g.boundBytes += k.boundBytes;
    m.set(k.label, g);
  }
  return [...m.values()].sort((a, b) => b.seconds - a.seconds);
}

export interface Overheads {
  /** Microseconds per dispatch of a trivial one-workgroup kernel, many in one submit. */
  dispatchMicros: number;
  /** Milliseconds for an empty submit + onSubmittedWorkDone. */
  submitMillis: number;
  /** Milliseconds to read 4 bytes back (copy, submit, mapAsync). */
  readbackMillis: number;
  /** Nanoseconds per workgroupBarrier per workgroup of 256 invocations. */
  barrierNanos: number;
}

const TRIVIAL = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> Y: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) i: u32) { if (i == 0u) { Y[0] = Y[0] + 1u; } }`;

const BARRIER = (iters: number) => /* wgsl */ `
var<workgroup> s: array<f32, 256>;
@group(0) @binding(0) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) i: u32, @builtin(workgroup_id) g: vec3u) {
  var acc = f32(i);
  for (var t = 0u; t < ${iters}u; t++) {
    s[i] = acc;
    workgroupBarrier();
    acc = acc + s[(i + 1u) & 255u];
    workgroupBarrier();
  }
  if (i == 0u) { Y[g.x] = acc; }
}`;

/** Fixed costs of this adapter: per dispatch, per submit, per readback, per barrier. */
export async function measureOverheads(rt: Runtime): Promise<Overheads> {
  const { Tensor } = await import('../../src/gpu/tensor.js');
  const y = Tensor.empty(rt, [1024], 'u32');
  const trivial = () => rt.dispatch({ label: 'probe-trivial', source: TRIVIAL, buffers: [y.buffer], workgroups: 1 });
  trivial();
  await rt.sync();
  const n = 500;
  let t0 = performance.now();
  for (let i = 0; i < n; i++) trivial();
  await rt.sync();
  const dispatchMicros = ((performance.now() - t0) * 1e3) / n;

  const submits: number[] = [];
  for (let i = 0; i < 20; i++) {
    t0 = performance.now();
    trivial();
    await rt.sync();
    submits.push(performance.now() - t0);
  }
  const reads: number[] = [];
  for (let i = 0; i < 20; i++) {
    t0 = performance.now();
    await rt.read(y.buffer, 4);
    reads.push(performance.now() - t0);
  }

  const groups = 32;
  const iters = 256;
  const f = Tensor.empty(rt, [groups]);
  const barrier = () => rt.dispatch({ label: 'probe-barrier', source: BARRIER(iters), buffers: [f.buffer], workgroups: groups });
  barrier();
  await rt.sync();
  const bt: number[] = [];
  for (let i = 0; i < 3; i++) {
    t0 = performance.now();
    barrier();
    await rt.sync();
    bt.push(performance.now() - t0);
  }
  // Two barriers an iteration; the workgroups spread over the adapter's cores,
  // so this is wall time per barrier per workgroup as the whole adapter sees it.
  const barrierNanos = (median(bt) * 1e6) / (groups * iters * 2);
  y.dispose();
  f.dispose();
  return { dispatchMicros, submitMillis: median(submits), readbackMillis: median(reads), barrierNanos };
}
