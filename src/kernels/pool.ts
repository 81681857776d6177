/**
 * Max pooling over channels-last tensors with window = stride (2x2 in the
 * U-DenseNet's transition-down layers, 2x2x2 in the 3D U-Net). Both ranks run
 * one kernel over an NDHWC geometry: NHWC is NDHWC with D = 1 and kd = 1.
 *
 * Conventions (the same as PyTorch's MaxPool with ceil_mode=False):
 * - odd sizes floor: trailing rows/columns/slices that do not fill a window are
 *   dropped from the forward and get a zero gradient;
 * - ties go to the first maximum in window order (z, then y, then x);
 * - the argmax is stored as the offset inside the window,
 *   (dz * kh + dy) * kw + dx, as a u32 per output element;
 * - NaN propagation is not specified (WGSL does not guarantee NaN semantics).
 *
 * The backward is a gather: windows do not overlap, so each input element
 * reads the gradient and argmax of its one window and keeps the gradient when
 * it was the argmax. No atomics, no scatter.
 */
import { ShapeError, fmtShape } from '../base/errors.js';
import { Tensor, type Shape } from '../gpu/tensor.js';
import { program, uniformBlock } from '../gpu/program.js';
import { NDHWC_INDEX, WG, flatMain, vec4Width, vecType } from '../gpu/wgsl.js';

/** Window (= stride) per spatial axis, [kd, kh, kw]. */
export type Window3 = readonly [number, number, number];

/** An NDHWC pooling problem: input sizes, window, output sizes. */
export interface PoolGeometry {
  n: number;
  d: number;
  h: number;
  w: number;
  c: number;
  kd: number;
  kh: number;
  kw: number;
  od: number;
  oh: number;
  ow: number;
}

export interface MaxPoolResult {
  y: Tensor;
  /** Window offset of each output's maximum (u32, same shape as y); null when not asked for. */
  argmax: Tensor | null;
}

function typeAliases(vec: 1 | 4): string {
  return `alias VF = ${vecType(vec)};\nalias VU = ${vecType(vec, 'u32')};`;
}

// Geometry uniform; c counts vectors (channels / vec) per spatial position.
const GEOMETRY = uniformBlock({
  total: 'u32', c: 'u32', w: 'u32', h: 'u32', d: 'u32', ow: 'u32', oh: 'u32', od: 'u32', kw: 'u32', kh: 'u32', kd: 'u32',
});

function geometryValues(g: PoolGeometry, vec: number, total: number) {
  return { total, c: g.c / vec, w: g.w, h: g.h, d: g.d, ow: g.ow, oh: g.oh, od: g.od, kw: g.kw, kh: g.kh, kd: g.kd };
}

/**
 * WGSL for the forward: one thread per output element and channel vector.
 * Every index is in range by construction (o* < floor(in / k)), once `i` is.
 */
export function maxPoolSource(vec: 1 | 4, withArgmax: boolean): string {
  const argBinding = withArgmax ? '@group(0) @binding(2) var<storage, read_write> A: array<VU>;\n' : '';
  return /* wgsl */ `
${typeAliases(vec)}
@group(0) @binding(0) var<storage, read> X: array<VF>;
@group(0) @binding(1) var<storage, read_write> Y: array<VF>;
${argBinding}${GEOMETRY.declare(withArgmax ? 3 : 2)}
${NDHWC_INDEX}
${flatMain(`  if (i >= p.total) { return; }
  let at = ndhwcAt(i, p.c, p.ow, p.oh, p.od);
  let ch = at.c;
  let ox = at.x;
  let oy = at.y;
  let oz = at.z;
  let n = at.n;
  let x0 = ox * p.kw;
  let y0 = oy * p.kh;
  let z0 = oz * p.kd;
  var best = X[(((n * p.d + z0) * p.h + y0) * p.w + x0) * p.c + ch];
  var arg = VU(0u);
  var k = 0u;
  for (var dz = 0u; dz < p.kd; dz++) {
    for (var dy = 0u; dy < p.kh; dy++) {
      let row = ((n * p.d + z0 + dz) * p.h + y0 + dy) * p.w + x0;
      for (var dx = 0u; dx < p.kw; dx++) {
        let v = X[(row + dx) * p.c + ch];
        // Strictly greater: ties keep the first maximum in window order.
        let better = v > best;
        best = select(best, v, better);
        arg = select(arg, VU(k), better);
        k++;
      }
    }
  }
  Y[i] = best;${withArgmax ? '\n  A[i] = arg;' : ''}`)}`;
}

/** WGSL for the backward gather: one thread per input element and channel vector. */
export function maxPoolBackwardSource(vec: 1 | 4): string {
  return /* wgsl */ `
${typeAliases(vec)}
@group(0) @binding(0) var<storage, read> DY: array<VF>;
@group(0) @binding(1) var<storage, read> A: array<VU>;
@group(0) @binding(2) var<storage, read_write> DX: array<VF>;
${GEOMETRY.declare(3)}
${NDHWC_INDEX}
${flatMain(`  if (i >= p.total) { return; }
  let at = ndhwcAt(i, p.c, p.w, p.h, p.d);
  let ch = at.c;
  let x = at.x;
  let y = at.y;
  let z = at.z;
  let n = at.n;
  let ox = x / p.kw;
  let oy = y / p.kh;
  let oz = z / p.kd;
  // Trailing elements dropped by the floor belong to no window.
  if (ox >= p.ow || oy >= p.oh || oz >= p.od) {
    DX[i] = VF(0.0);
    return;
  }
  let o = (((n * p.od + oz) * p.oh + oy) * p.ow + ox) * p.c + ch;
  let k = ((z - oz * p.kd) * p.kh + (y - oy * p.kh)) * p.kw + (x - ox * p.kw);
  DX[i] = select(VF(0.0), DY[o], A[o] == VU(k));`)}`;
}

const FORWARD = program({
  op: 'maxPool',
  uniforms: GEOMETRY,
  key: (v: { vec: 1 | 4; argmax: boolean }) => `v${v.vec}${v.argmax ? '|arg' : ''}`,
  source: (v) => maxPoolSource(v.vec, v.argmax),
  workgroupSize: WG,
});

const BACKWARD = program({
  op: 'maxPool-backward',
  uniforms: GEOMETRY,
  key: (vec: 1 | 4) => `v${vec}`,
  source: maxPoolBackwardSource,
  workgroupSize: WG,
});

/** Normalises a window argument (k or [kd, kh, kw]) and checks it. */
export function poolWindow(op: string, k: number | readonly number[], rank: 2 | 3): Window3 {
  const ks = typeof k === 'number' ? new Array<number>(rank).fill(k) : [...k];
  if (ks.length !== rank || ks.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new ShapeError(`${op}: window must be a positive integer or ${rank} positive integers, got ${JSON.stringify(k)}`);
  }
  return rank === 3 ? [ks[0]!, ks[1]!, ks[2]!] : [1, ks[0]!, ks[1]!];
}

/** Validates x and derives the pooling geometry (rank 4 NHWC or rank 5 NDHWC). */
export function poolGeometry(op: string, x: Tensor, window: Window3, rank: 2 | 3): PoolGeometry {
  x.assertLive(op);
  const layout = rank === 2 ? 'NHWC [N, H, W, C]' : 'NDHWC [N, D, H, W, C]';
  if (x.rank !== rank + 2) throw new ShapeError(`${op}: expected a rank-${rank + 2} ${layout} tensor, got ${fmtShape(x.shape)}`);
  x.expectDtype('f32', op);
  const g = geometryFromShape(op, x.shape, window, rank);
  if (g.n * g.c * g.od * g.oh * g.ow === 0) {
    const win = (rank === 2 ? [g.kh, g.kw] : [g.kd, g.kh, g.kw]).join('x');
    throw new ShapeError(`${op}: a ${win} window on ${fmtShape(x.shape)} gives an empty output ${fmtShape(outputShape(g, rank))}`);
  }
  return g;
}

export function outputShape(g: PoolGeometry, rank: 2 | 3): number[] {
  return rank === 2 ? [g.n, g.oh, g.ow, g.c] : [g.n, g.od, g.oh, g.ow, g.c];
}

function inputShape(g: PoolGeometry, rank: 2 | 3): number[] {
  return rank === 2 ? [g.n, g.h, g.w, g.c] : [g.n, g.d, g.h, g.w, g.c];
}

/** Runs the forward on a validated geometry. */
export function maxPoolForward(op: string, x: Tensor, g: PoolGeometry, rank: 2 | 3, withArgmax: boolean): MaxPoolResult {
  const vec = vec4Width(g.c);
  const shape = outputShape(g, rank);
  const y = Tensor.empty(x.rt, shape, 'f32', op);
  const argmax = withArgmax ? Tensor.empty(x.rt, shape, 'u32', `${op} argmax`) : null;
  const total = y.size / vec;
  FORWARD.run(x.rt, { vec, argmax: withArgmax }, {
    label: op,
    buffers: argmax ? [x.buffer, y.buffer, argmax.buffer] : [x.buffer, y.buffer],
    uniforms: geometryValues(g, vec, total),
    threads: total,
  });
  return { y, argmax };
}

/** The input gradient from dy and the saved argmax. */
export function maxPoolBackward(op: string, dy: Tensor, argmax: Tensor, g: PoolGeometry, rank: 2 | 3): Tensor {
  const label = `${op} backward`;
  dy.assertLive(label);
  argmax.assertLive(label);
  dy.expectDtype('f32', label);
  argmax.expectDtype('u32', label);
  const want = outputShape(g, rank);
  const same = (s: Shape) => s.length === want.length && s.every((v, i) => v === want[i]);
  if (!same(dy.shape) || !same(argmax.shape)) {
    throw new ShapeError(`${label}: gradient ${fmtShape(dy.shape)} and argmax ${fmtShape(argmax.shape)} must both be ${fmtShape(want)}`);
  }
  const vec = vec4Width(g.c);
  const dx = Tensor.empty(dy.rt, inputShape(g, rank), 'f32', label);
  const total = dx.size / vec;
  BACKWARD.run(dy.rt, vec, { label, buffers: [dy.buffer, argmax.buffer, dx.buffer], uniforms: geometryValues(g, vec, total), threads: total });
  return dx;
}

/** 2D max pooling over NHWC with window = stride = k (2 by default). */
export function maxPool2d(x: Tensor, k: number | readonly [number, number] = 2, withArgmax = true): MaxPoolResult {
  const g = poolGeometry('maxPool2d', x, poolWindow('maxPool2d', k, 2), 2);
  return maxPoolForward('maxPool2d', x, g, 2, withArgmax);
}

/** 3D max pooling over NDHWC with window = stride = k (2 by default; [kd, kh, kw] for anisotropic voxels). */
export function maxPool3d(x: Tensor, k: number | readonly [number, number, number] = 2, withArgmax = true): MaxPoolResult {
  const g = poolGeometry('maxPool3d', x, poolWindow('maxPool3d', k, 3), 3);
  return maxPoolForward('maxPool3d', x, g, 3, withArgmax);
}

/** Gradient of maxPool2d with respect to its input of shape xShape. */
export function maxPool2dBackward(dy: Tensor, argmax: Tensor, xShape: Shape, k: number | readonly [number, number] = 2): Tensor {
  return maxPoolBackward('maxPool2d', dy, argmax, geometryFromShape('maxPool2d', xShape, poolWindow('maxPool2d', k, 2), 2), 2);
}

/** Gradient of maxPool3d with respect to its input of shape xShape. */
export function maxPool3dBackward(dy: Tensor, argmax: Tensor, xShape: Shape, k: number | readonly [number, number, number] = 2): Tensor {
  return maxPoolBackward('maxPool3d', dy, argmax, geometryFromShape('maxPool3d', xShape, poolWindow('maxPool3d', k, 3), 3), 3);
}

function geometryFromShape(op: string, xShape: Shape, window: Window3, rank: 2 | 3): PoolGeometry {
  if (xShape.length !== rank + 2) throw new ShapeError(`${op} backward: input shape ${fmtShape(xShape)} is not rank ${rank + 2}`);
  const [n, d, h, w, c] = rank === 2 ? [xShape[0]!, 1, xShape[1]!, xShape[2]!, xShape[3]!] : (xShape as number[]);
  const [kd, kh, kw] = window;
  return { n: n!, d: d!, h: h!, w: w!, c: c!, kd, kh, kw, od: Math.floor(d! / kd), oh: Math.floor(h! / kh), ow: Math.floor(w! / kw) };
}
