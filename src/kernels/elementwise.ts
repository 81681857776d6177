/**
 * Elementwise kernels: unary maps, binary maps with NumPy broadcasting, and
 * fills. Each op is a WGSL expression; the source (and so the cached pipeline)
 * is built once per expression.
 */
import { ShapeError, fmtShape } from '../base/errors.js';
import { Tensor, type Shape } from '../gpu/tensor.js';
import type { Runtime } from '../gpu/runtime.js';
import { program, uniformBlock } from '../gpu/program.js';
import { WG, flatMain } from '../gpu/wgsl.js';

/** Highest rank the broadcasting kernel handles. */
export const MAX_RANK = 6;

const UNARY_UNIFORMS = uniformBlock({ n: 'u32', alpha: 'f32', beta: 'f32' });

/** A unary map `y = f(x)`; `expr` uses `x` (f32) and the uniform `p.alpha`/`p.beta`. */
export function unarySource(expr: string): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${UNARY_UNIFORMS.declare(2)}
${flatMain(`  if (i >= p.n) { return; }
  let x = X[i];
  Y[i] = ${expr};`)}`;
}

// Elementwise programs are keyed by their WGSL expression (a few dozen characters).
const UNARY = program({ op: 'unary', uniforms: UNARY_UNIFORMS, key: (expr: string) => expr, source: unarySource, workgroupSize: WG });

export function unary(label: string, x: Tensor, expr: string, alpha = 0, beta = 0): Tensor {
  x.expectDtype('f32', label);
  const y = Tensor.empty(x.rt, x.shape, 'f32', label);
  UNARY.run(x.rt, expr, { label, buffers: [x.buffer, y.buffer], uniforms: { n: x.size, alpha, beta }, threads: x.size });
  return y;
}

/** Output shape of a broadcast between two shapes, or a clear error. */
export function broadcastShape(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} do not broadcast`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of `shape` aligned to `out` (rank MAX_RANK), 0 where broadcast. */
function broadcastStrides(shape: Shape, out: Shape): number[] {
  const strides = new Array<number>(MAX_RANK).fill(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const j = MAX_RANK - (shape.length - i);
    strides[j] = shape[i] === 1 && out[out.length - (shape.length - i)] !== 1 ? 0 : stride;
    stride *= shape[i]!;
  }
  return strides;
}

const COUNT_UNIFORMS = uniformBlock({ n: 'u32' });

function binarySameShapeSource(expr: string): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${COUNT_UNIFORMS.declare(3)}
${flatMain(`  if (i >= p.n) { return; }
  let a = A[i];
  let b = B[i];
  Y[i] = ${expr};`)}`;
}

// Output dims and the strides of a and b (0 where broadcast), rank MAX_RANK.
const BROADCAST_UNIFORMS = uniformBlock({ n: 'u32', dims: ['u32', MAX_RANK], sa: ['u32', MAX_RANK], sb: ['u32', MAX_RANK] });

function binaryBroadcastSource(expr: string): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${BROADCAST_UNIFORMS.declare(3)}
fn at(v: array<vec4u, 2>, k: u32) -> u32 { return v[k / 4u][k % 4u]; }
${flatMain(`  if (i >= p.n) { return; }
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var k = ${MAX_RANK - 1}i; k >= 0; k--) {
    let d = at(p.dims, u32(k));
    let c = rem % d;
    rem = rem / d;
    ia += c * at(p.sa, u32(k));
    ib += c * at(p.sb, u32(k));
  }
  let a = A[ia];
  let b = B[ib];
  Y[i] = ${expr};`)}`;
}

const BINARY = program({ op: 'binary', uniforms: COUNT_UNIFORMS, key: (expr: string) => expr, source: binarySameShapeSource, workgroupSize: WG });
const BROADCAST = program({ op: 'broadcast', uniforms: BROADCAST_UNIFORMS, key: (expr: string) => expr, source: binaryBroadcastSource, workgroupSize: WG });

/** A binary map with broadcasting; `expr` uses `a` and `b`. */
export function binary(label: string, a: Tensor, b: Tensor, expr: string): Tensor {
  a.expectDtype('f32', label);
  b.expectDtype('f32', label);
  const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  if (same) {
    const y = Tensor.empty(a.rt, a.shape, 'f32', label);
    BINARY.run(a.rt, expr, { label, buffers: [a.buffer, b.buffer, y.buffer], uniforms: { n: y.size }, threads: y.size });
    return y;
  }
  return broadcastMap(label, a, b, broadcastShape(label, a.shape, b.shape), expr);
}

/** Materialises x broadcast to `shape` (NumPy rules). */
export function expand(x: Tensor, shape: Shape): Tensor {
  x.expectDtype('f32', 'expand');
  const out = broadcastShape('expand', x.shape, shape);
  if (out.length !== shape.length || out.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`expand: ${fmtShape(x.shape)} does not broadcast to ${fmtShape(shape)}`);
  }
  return broadcastMap('expand', x, x, out, 'a');
}

function broadcastMap(label: string, a: Tensor, b: Tensor, outShape: number[], expr: string): Tensor {
  if (outShape.length > MAX_RANK) throw new ShapeError(`${label}: rank ${outShape.length} is above ${MAX_RANK}`);
  const y = Tensor.empty(a.rt, outShape, 'f32', label);
  const dims = new Array<number>(MAX_RANK).fill(1);
  outShape.forEach((d, i) => (dims[MAX_RANK - outShape.length + i] = d));
  BROADCAST.run(a.rt, expr, {
    label,
    buffers: [a.buffer, b.buffer, y.buffer],
    uniforms: { n: y.size, dims, sa: broadcastStrides(a.shape, outShape), sb: broadcastStrides(b.shape, outShape) },
    threads: y.size,
  });
  return y;
}

const FILL_UNIFORMS = uniformBlock({ n: 'u32', value: 'f32' });
const FILL = program({
  op: 'fill',
  uniforms: FILL_UNIFORMS,
  key: () => '',
  source: () => /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> Y: array<f32>;
${FILL_UNIFORMS.declare(1)}
${flatMain(`  if (i >= p.n) { return; }
  Y[i] = p.value;`)}`,
  workgroupSize: WG,
});

/** Writes `value` into every element of `y` (in encoder order). */
export function fillInPlace(y: Tensor, value: number): void {
  FILL.run(y.rt, undefined, { buffers: [y.buffer], uniforms: { n: y.size, value }, threads: y.size });
}

export function full(rt: Runtime, shape: Shape, value: number): Tensor {
  const y = Tensor.empty(rt, shape, 'f32', 'full');
  fillInPlace(y, value);
  return y;
}

const ACCUMULATE_UNIFORMS = uniformBlock({ n: 'u32', alpha: 'f32' });
const ACCUMULATE = program({
  op: 'accumulate',
  uniforms: ACCUMULATE_UNIFORMS,
  key: () => '',
  source: () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${ACCUMULATE_UNIFORMS.declare(2)}
${flatMain(`  if (i >= p.n) { return; }
  Y[i] = Y[i] + p.alpha * X[i];`)}`,
  workgroupSize: WG,
});

/** y += alpha * x, in place (gradient accumulation, no new buffer). */
export function accumulateInPlace(y: Tensor, x: Tensor, alpha = 1): void {
  if (x.size !== y.size) throw new ShapeError(`accumulate: ${fmtShape(x.shape)} into ${fmtShape(y.shape)}`);
  ACCUMULATE.run(y.rt, undefined, { buffers: [x.buffer, y.buffer], uniforms: { n: y.size, alpha }, threads: y.size });
}

/** A copy of x into a fresh buffer (same shape). */
export function clone(x: Tensor): Tensor {
  const y = Tensor.empty(x.rt, x.shape, x.dtype, 'clone');
  x.rt.copy(x.buffer, y.buffer, x.byteLength);
  return y;
}
