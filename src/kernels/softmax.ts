/**
 * Softmax over the last (channel) axis of a channels-last tensor, and its
 * backward dx = y ⊙ (g − Σ_c y_c g_c). Segmentation heads have few channels,
 * so a row (one voxel's channels) is held by one thread, as vec4 "units" when
 * the channel count allows; wide rows (> ROW_PER_THREAD_MAX_C channels) get a
 * workgroup per row with workgroup-memory reductions instead.
 *
 * The row helpers (rowLayout, rowUnitWgsl, softmaxRowWgsl) are shared with the
 * fused softmax + Dice kernels in dice.ts.
 */
import { ShapeError, fmtShape } from '../base/errors.js';
import { Tensor } from '../gpu/tensor.js';
import { program, uniformBlock } from '../gpu/program.js';
import { flatMain } from '../gpu/wgsl.js';

/** Widest row a single thread handles (the row lives in registers). */
export const ROW_PER_THREAD_MAX_C = 32;
/** Threads per workgroup for the row-per-thread kernels. */
export const ROW_WG = 64;
/** Threads cooperating on one row in the workgroup-per-row kernels. */
const WIDE_WG = 64;

/** The uniform block of the row kernels here and in dice.ts: the row (voxel) count. */
export const ROW_UNIFORMS = uniformBlock({ rows: 'u32' });

/** How a row of C channels is read: C scalars, or C/4 vec4 units. */
export interface RowLayout {
  /** Channels per row. */
  c: number;
  /** Units per row (C or C/4). */
  k: number;
  /** WGSL type of one unit. */
  unit: 'f32' | 'vec4f';
}

export function rowLayout(c: number): RowLayout {
  return c % 4 === 0 ? { c, k: c / 4, unit: 'vec4f' } : { c, k: c, unit: 'f32' };
}

/**
 * WGSL prelude for a row layout: the alias U, the constants C and K, and
 * horizontal max/sum of a unit (identity for scalar units).
 */
export function rowUnitWgsl(l: RowLayout): string {
  const vec = l.unit === 'vec4f';
  return /* wgsl */ `
alias U = ${l.unit};
const C = ${l.c}u;
const K = ${l.k}u;
fn hmax(v: U) -> f32 { return ${vec ? 'max(max(v.x, v.y), max(v.z, v.w))' : 'v'}; }
fn hsum(v: U) -> f32 { return ${vec ? '(v.x + v.y) + (v.z + v.w)' : 'v'}; }`;
}

/**
 * WGSL statements that load row `base` (a unit offset) of `src` into the
 * private array `r: array<U, K>` and turn it into softmax probabilities.
 * Subtracting the row maximum keeps exp() finite for any logits.
 */
export function softmaxRowWgsl(src: string, base: string): string {
  return /* wgsl */ `
  var r: array<U, K>;
  var mv = U(-3.0e38);
  for (var k = 0u; k < K; k++) {
    r[k] = ${src}[${base} + k];
    mv = max(mv, r[k]);
  }
  let rowMax = hmax(mv);
  var sv = U(0.0);
  for (var k = 0u; k < K; k++) {
    r[k] = exp(r[k] - rowMax);
    sv += r[k];
  }
  let inv = 1.0 / hsum(sv);
  for (var k = 0u; k < K; k++) { r[k] = r[k] * inv; }`;
}

function softmaxRowSource(l: RowLayout): string {
  return /* wgsl */ `${rowUnitWgsl(l)}
@group(0) @binding(0) var<storage, read> X: array<U>;
@group(0) @binding(1) var<storage, read_write> Y: array<U>;
${ROW_UNIFORMS.declare(2)}
${flatMain(`  if (i >= p.rows) { return; }
  let base = i * K;
${softmaxRowWgsl('X', 'base')}
  for (var k = 0u; k < K; k++) { Y[base + k] = r[k]; }`, ROW_WG)}`;
}

function softmaxBackwardRowSource(l: RowLayout): string {
  return /* wgsl */ `${rowUnitWgsl(l)}
@group(0) @binding(0) var<storage, read> Yp: array<U>;
@group(0) @binding(1) var<storage, read> G: array<U>;
@group(0) @binding(2) var<storage, read_write> DX: array<U>;
${ROW_UNIFORMS.declare(3)}
${flatMain(`  if (i >= p.rows) { return; }
  let base = i * K;
  var dv = U(0.0);
  for (var k = 0u; k < K; k++) { dv += Yp[base + k] * G[base + k]; }
  let d = hsum(dv);
  for (var k = 0u; k < K; k++) {
    let y = Yp[base + k];
    DX[base + k] = y * (G[base + k] - d);
  }`, ROW_WG)}`;
}

/** A workgroup tree reduction of red[0..WIDE_WG) with `op`; leaves the result in red[0]. */
function treeReduce(op: (a: string, b: string) => string): string {
  return /* wgsl */ `
  workgroupBarrier();
  for (var s = ${WIDE_WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = ${op('red[lid]', 'red[lid + s]')}; }
    workgroupBarrier();
  }`;
}

const wideMain = (body: string): string => /* wgsl */ `
var<workgroup> red: array<f32, ${WIDE_WG}>;
@compute @workgroup_size(${WIDE_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  // One workgroup per row; the test depends only on uniform values, so every
  // thread of a workgroup leaves together and the barriers stay uniform.
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * K;
${body}
}`;

function softmaxWideSource(l: RowLayout): string {
  return /* wgsl */ `${rowUnitWgsl(l)}
@group(0) @binding(0) var<storage, read> X: array<U>;
@group(0) @binding(1) var<storage, read_write> Y: array<U>;
${ROW_UNIFORMS.declare(2)}
${wideMain(`
  var mv = U(-3.0e38);
  for (var k = lid; k < K; k += ${WIDE_WG}u) { mv = max(mv, X[base + k]); }
  red[lid] = hmax(mv);
${treeReduce((a, b) => `max(${a}, ${b})`)}
  let rowMax = red[0];
  workgroupBarrier();
  var sv = U(0.0);
  for (var k = lid; k < K; k += ${WIDE_WG}u) { sv += exp(X[base + k] - rowMax); }
  red[lid] = hsum(sv);
${treeReduce((a, b) => `${a} + ${b}`)}
  let inv = 1.0 / red[0];
  for (var k = lid; k < K; k += ${WIDE_WG}u) { Y[base + k] = exp(X[base + k] - rowMax) * inv; }`)}`;
}

function softmaxBackwardWideSource(l: RowLayout): string {
  return /* wgsl */ `${rowUnitWgsl(l)}
@group(0) @binding(0) var<storage, read> Yp: array<U>;
@group(0) @binding(1) var<storage, read> G: array<U>;
@group(0) @binding(2) var<storage, read_write> DX: array<U>;
${ROW_UNIFORMS.declare(3)}
${wideMain(`
  var dv = U(0.0);
  for (var k = lid; k < K; k += ${WIDE_WG}u) { dv += Yp[base + k] * G[base + k]; }
  red[lid] = hsum(dv);
${treeReduce((a, b) => `${a} + ${b}`)}
  let d = red[0];
  for (var k = lid; k < K; k += ${WIDE_WG}u) { DX[base + k] = Yp[base + k] * (G[base + k] - d); }`)}`;
}

function channelsOf(op: string, x: Tensor): number {
  x.assertLive(op);
  x.expectDtype('f32', op);
  if (x.rank < 1) throw new ShapeError(`${op}: expected a tensor with a channel (last) axis, got a scalar ${fmtShape(x.shape)}`);
  const c = x.shape[x.rank - 1]!;
  if (c < 1) throw new ShapeError(`${op}: the channel (last) axis of ${fmtShape(x.shape)} is empty`);
  return c;
}

/** Picks the kernel shape for C channels; `wide` forces the workgroup-per-row path (tests). */
function plan(c: number, wide?: boolean): Variant {
  return { c, wide: wide ?? c > ROW_PER_THREAD_MAX_C };
}

export interface SoftmaxKernelOptions {
  /** Force (true) or forbid (false) the workgroup-per-row kernel; default: by channel count. */
  wide?: boolean;
}

interface Variant {
  c: number;
  wide: boolean;
}

const variantKey = (v: Variant) => `c${v.c}${v.wide ? '|wide' : ''}`;
/** Row per thread: flat grid of ROW_WG; wide: a workgroup per row. */
const grid = (v: Variant, rows: number) => (v.wide ? { workgroups: rows } : { threads: rows });

const FORWARD = program({
  op: 'softmax',
  uniforms: ROW_UNIFORMS,
  key: variantKey,
  source: (v: Variant) => (v.wide ? softmaxWideSource(rowLayout(v.c)) : softmaxRowSource(rowLayout(v.c))),
  workgroupSize: ROW_WG,
});

const BACKWARD = program({
  op: 'softmax backward',
  uniforms: ROW_UNIFORMS,
  key: variantKey,
  source: (v: Variant) => (v.wide ? softmaxBackwardWideSource(rowLayout(v.c)) : softmaxBackwardRowSource(rowLayout(v.c))),
  workgroupSize: ROW_WG,
});

/** softmax over the last axis; returns a new tensor of x's shape. */
export function softmaxForward(x: Tensor, opts: SoftmaxKernelOptions = {}): Tensor {
  const c = channelsOf('softmax', x);
  const rows = x.size / c;
  const v = plan(c, opts.wide);
  const y = Tensor.empty(x.rt, x.shape, 'f32', 'softmax');
  FORWARD.run(x.rt, v, { buffers: [x.buffer, y.buffer], uniforms: { rows }, ...grid(v, rows) });
  return y;
}

/** dL/dx of y = softmax(x) given y and dL/dy. */
export function softmaxBackward(y: Tensor, dy: Tensor, opts: SoftmaxKernelOptions = {}): Tensor {
  const c = channelsOf('softmax backward', y);
  dy.assertLive('softmax backward');
  dy.expectDtype('f32', 'softmax backward');
  if (dy.size !== y.size) throw new ShapeError(`softmax backward: gradient ${fmtShape(dy.shape)} does not match output ${fmtShape(y.shape)}`);
  const rows = y.size / c;
  const v = plan(c, opts.wide);
  const dx = Tensor.empty(y.rt, y.shape, 'f32', 'softmax backward');
  BACKWARD.run(y.rt, v, { buffers: [y.buffer, dy.buffer, dx.buffer], uniforms: { rows }, ...grid(v, rows) });
  return dx;
}
