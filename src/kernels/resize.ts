/**
 * Linear up-sampling of channels-last tensors: bilinear over NHWC (the
 * U-DenseNet's transition-up layers) and trilinear over NDHWC (the 3D U-Net's
 * expanding path). TensorFlow.js has no trilinear resize.
 *
 * Sampling is PyTorch's align_corners=False ("half-pixel centres"), per axis:
 *   src = max((dst + 0.5) * in / out - 0.5, 0),  i0 = floor(src),
 *   i1 = min(i0 + 1, in - 1),  t = src - i0,  y = (1 - t) x[i0] + t x[i1].
 * The ratio in / out is rounded to f32 once on the host, as PyTorch does.
 * With an integer scale s it equals 1 / s exactly, so scale and size agree.
 *
 * The backward is a gather: each input element walks the (analytically
 * bounded) range of output indices whose interpolation can touch it, and
 * recomputes the forward's indices and weights to keep only real contributions.
 * Work is proportional to the output size; no atomics.
 */
import { ShapeError, fmtShape } from '../base/errors.js';
import { Tensor, type Shape } from '../gpu/tensor.js';
import { program, uniformBlock } from '../gpu/program.js';
import { NDHWC_INDEX, WG, flatMain, vec4Width, vecType } from '../gpu/wgsl.js';

/** An NDHWC resize problem (2D problems have id = od = 1). */
export interface ResizeGeometry {
  n: number;
  c: number;
  id: number;
  ih: number;
  iw: number;
  od: number;
  oh: number;
  ow: number;
}

/** Either an integer factor (per axis or for all) or an explicit output size. */
export type ResizeTarget = { scale: number | readonly number[] } | { size: readonly number[] };

// c counts channel vectors; r* are the f32 ratios in / out per axis.
const GEOMETRY = uniformBlock({
  total: 'u32', c: 'u32', iw: 'u32', ih: 'u32', id: 'u32', ow: 'u32', oh: 'u32', od: 'u32', rw: 'f32', rh: 'f32', rd: 'f32',
});

// The forward's sampling rule, shared verbatim by the backward so both see the
// same indices and weights.
const LERP_FN = /* wgsl */ `
struct Lerp { i0: u32, i1: u32, t: f32 }
fn lerpAt(j: u32, inSize: u32, ratio: f32) -> Lerp {
  let src = max((f32(j) + 0.5) * ratio - 0.5, 0.0);
  let i0 = min(u32(src), inSize - 1u);
  return Lerp(i0, min(i0 + 1u, inSize - 1u), src - f32(i0));
}`;

function geometryValues(g: ResizeGeometry, vec: number, total: number) {
  return { total, c: g.c / vec, iw: g.iw, ih: g.ih, id: g.id, ow: g.ow, oh: g.oh, od: g.od, rw: g.iw / g.ow, rh: g.ih / g.oh, rd: g.id / g.od };
}

/**
 * WGSL for the forward: one thread per output element and channel vector;
 * 4 loads (2D) or 8 loads (3D). Indices are clamped to in - 1 by lerpAt.
 */
export function resizeSource(vec: 1 | 4, threeD: boolean): string {
  return /* wgsl */ `
alias VF = ${vecType(vec)};
@group(0) @binding(0) var<storage, read> X: array<VF>;
@group(0) @binding(1) var<storage, read_write> Y: array<VF>;
${GEOMETRY.declare(2)}
${LERP_FN}
// Bilinear sample of one depth slice (plane = n * id + z).
fn plane(slice: u32, ly: Lerp, lx: Lerp, ch: u32) -> VF {
  let r0 = (slice * p.ih + ly.i0) * p.iw;
  let r1 = (slice * p.ih + ly.i1) * p.iw;
  let top = (1.0 - lx.t) * X[(r0 + lx.i0) * p.c + ch] + lx.t * X[(r0 + lx.i1) * p.c + ch];
  let bottom = (1.0 - lx.t) * X[(r1 + lx.i0) * p.c + ch] + lx.t * X[(r1 + lx.i1) * p.c + ch];
  return (1.0 - ly.t) * top + ly.t * bottom;
}
${NDHWC_INDEX}
${flatMain(`  if (i >= p.total) { return; }
  let at = ndhwcAt(i, p.c, p.ow, p.oh, p.od);
  let ch = at.c;
  let ox = at.x;
  let oy = at.y;
  let oz = at.z;
  let n = at.n;
  let lx = lerpAt(ox, p.iw, p.rw);
  let ly = lerpAt(oy, p.ih, p.rh);
${
  threeD
    ? `  let lz = lerpAt(oz, p.id, p.rd);
  Y[i] = (1.0 - lz.t) * plane(n * p.id + lz.i0, ly, lx, ch) + lz.t * plane(n * p.id + lz.i1, ly, lx, ch);`
    : '  Y[i] = plane(n, ly, lx, ch);'
}`)}`;
}

/**
 * WGSL for the backward gather: one thread per input element and channel
 * vector. Output j can touch input i only when i - 1 <= src(j) < i + 1, i.e.
 * (i - 0.5) / ratio - 0.5 <= j < (i + 1.5) / ratio - 0.5; floor/ceil widen that
 * range by one on each side so f32 rounding never loses a contributor, and the
 * exact per-j weight (zero for non-contributors) decides.
 */
export function resizeBackwardSource(vec: 1 | 4, threeD: boolean): string {
  const zLoop = threeD
    ? `  let z0 = firstOut(z, p.rd);
  let z1 = lastOut(z, p.od, p.rd);
  for (var jz = z0; jz <= z1; jz++) {
    let wz = weightOf(jz, z, p.id, p.rd);
    if (wz == 0.0) { continue; }`
    : `  {
    let jz = 0u;
    let wz = 1.0;`;
  return /* wgsl */ `
alias VF = ${vecType(vec)};
@group(0) @binding(0) var<storage, read> DY: array<VF>;
@group(0) @binding(1) var<storage, read_write> DX: array<VF>;
${GEOMETRY.declare(2)}
${LERP_FN}
// Weight with which output j reads input i along one axis.
fn weightOf(j: u32, i: u32, inSize: u32, ratio: f32) -> f32 {
  let l = lerpAt(j, inSize, ratio);
  return select(0.0, 1.0 - l.t, l.i0 == i) + select(0.0, l.t, l.i1 == i);
}
fn firstOut(i: u32, ratio: f32) -> u32 {
  return u32(max(floor((f32(i) - 0.5) / ratio - 0.5), 0.0));
}
fn lastOut(i: u32, outSize: u32, ratio: f32) -> u32 {
  return u32(min(ceil((f32(i) + 1.5) / ratio - 0.5), f32(outSize - 1u)));
}
${NDHWC_INDEX}
${flatMain(`  if (i >= p.total) { return; }
  let at = ndhwcAt(i, p.c, p.iw, p.ih, p.id);
  let ch = at.c;
  let x = at.x;
  let y = at.y;
  let z = at.z;
  let n = at.n;
  let x0 = firstOut(x, p.rw);
  let x1 = lastOut(x, p.ow, p.rw);
  let y0 = firstOut(y, p.rh);
  let y1 = lastOut(y, p.oh, p.rh);
  var g = VF(0.0);
${zLoop}
    for (var jy = y0; jy <= y1; jy++) {
      let wy = weightOf(jy, y, p.ih, p.rh);
      if (wy == 0.0) { continue; }
      let row = ((n * p.od + jz) * p.oh + jy) * p.ow;
      for (var jx = x0; jx <= x1; jx++) {
        let wx = weightOf(jx, x, p.iw, p.rw);
        if (wx == 0.0) { continue; }
        g += (wz * wy * wx) * DY[(row + jx) * p.c + ch];
      }
    }
  }
  DX[i] = g;`)}`;
}

type Variant = { vec: 1 | 4; threeD: boolean };
const variantKey = (v: Variant) => `v${v.vec}|${v.threeD ? '3d' : '2d'}`;

const FORWARD = program({
  op: 'resize',
  uniforms: GEOMETRY,
  key: variantKey,
  source: (v: Variant) => resizeSource(v.vec, v.threeD),
  workgroupSize: WG,
});

const BACKWARD = program({
  op: 'resize-backward',
  uniforms: GEOMETRY,
  key: variantKey,
  source: (v: Variant) => resizeBackwardSource(v.vec, v.threeD),
  workgroupSize: WG,
});

/** Output spatial sizes from a scale or size target, validated. */
export function resolveTarget(op: string, inSizes: readonly number[], target: ResizeTarget, xShape: Shape): number[] {
  const rank = inSizes.length;
  const hasScale = target && 'scale' in target && target.scale !== undefined;
  const hasSize = target && 'size' in target && target.size !== undefined;
  if (hasScale === hasSize) throw new ShapeError(`${op}: give exactly one of { scale } or { size }`);
  if (hasScale) {
    const s = (target as { scale: number | readonly number[] }).scale;
    const scales = typeof s === 'number' ? new Array<number>(rank).fill(s) : [...s];
    if (scales.length !== rank || scales.some((v) => !Number.isInteger(v) || v < 1)) {
      throw new ShapeError(`${op}: scale must be a positive integer or ${rank} positive integers, got ${JSON.stringify(s)} (use { size } for other ratios)`);
    }
    return inSizes.map((d, i) => d * scales[i]!);
  }
  const size = [...(target as { size: readonly number[] }).size];
  if (size.length !== rank || size.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new ShapeError(`${op}: size must be ${rank} positive integers, got ${JSON.stringify(size)} for input ${fmtShape(xShape)}`);
  }
  return size;
}

/** Validates x (rank 4 NHWC or rank 5 NDHWC) and the target; derives the geometry. */
export function resizeGeometry(op: string, x: Tensor, target: ResizeTarget, rank: 2 | 3): ResizeGeometry {
  x.assertLive(op);
  const layout = rank === 2 ? 'NHWC [N, H, W, C]' : 'NDHWC [N, D, H, W, C]';
  if (x.rank !== rank + 2) throw new ShapeError(`${op}: expected a rank-${rank + 2} ${layout} tensor, got ${fmtShape(x.shape)}`);
  x.expectDtype('f32', op);
  const s = x.shape;
  const inSizes = s.slice(1, -1);
  if (x.size === 0) throw new ShapeError(`${op}: input ${fmtShape(s)} is empty`);
  const out = resolveTarget(op, inSizes, target, s);
  const [id, ih, iw] = rank === 2 ? [1, inSizes[0]!, inSizes[1]!] : [inSizes[0]!, inSizes[1]!, inSizes[2]!];
  const [od, oh, ow] = rank === 2 ? [1, out[0]!, out[1]!] : [out[0]!, out[1]!, out[2]!];
  return { n: s[0]!, c: s[s.length - 1]!, id, ih, iw, od, oh, ow };
}

function shapes(g: ResizeGeometry, rank: 2 | 3): { input: number[]; output: number[] } {
  return rank === 2
    ? { input: [g.n, g.ih, g.iw, g.c], output: [g.n, g.oh, g.ow, g.c] }
    : { input: [g.n, g.id, g.ih, g.iw, g.c], output: [g.n, g.od, g.oh, g.ow, g.c] };
}

/** Runs the forward on a validated geometry. */
export function resizeForward(op: string, x: Tensor, g: ResizeGeometry, rank: 2 | 3): Tensor {
  const vec = vec4Width(g.c);
  const y = Tensor.empty(x.rt, shapes(g, rank).output, 'f32', op);
  const total = y.size / vec;
  FORWARD.run(x.rt, { vec, threeD: rank === 3 }, { label: op, buffers: [x.buffer, y.buffer], uniforms: geometryValues(g, vec, total), threads: total });
  return y;
}

/** The input gradient of a resize, as a gather over dy. */
export function resizeBackward(op: string, dy: Tensor, g: ResizeGeometry, rank: 2 | 3): Tensor {
  const label = `${op} backward`;
  dy.assertLive(label);
  dy.expectDtype('f32', label);
  const { input, output } = shapes(g, rank);
  if (dy.shape.length !== output.length || dy.shape.some((v, i) => v !== output[i])) {
    throw new ShapeError(`${label}: gradient ${fmtShape(dy.shape)} does not match the output ${fmtShape(output)}`);
  }
  const vec = vec4Width(g.c);
  const dx = Tensor.empty(dy.rt, input, 'f32', label);
  const total = dx.size / vec;
  BACKWARD.run(dy.rt, { vec, threeD: rank === 3 }, { label, buffers: [dy.buffer, dx.buffer], uniforms: geometryValues(g, vec, total), threads: total });
  return dx;
}

/** Bilinear resize of NHWC x (half-pixel centres). */
export function resizeBilinear(x: Tensor, target: ResizeTarget): Tensor {
  return resizeForward('upsampleBilinear2d', x, resizeGeometry('upsampleBilinear2d', x, target, 2), 2);
}

/** Trilinear resize of NDHWC x (half-pixel centres). */
export function resizeTrilinear(x: Tensor, target: ResizeTarget): Tensor {
  return resizeForward('upsampleTrilinear3d', x, resizeGeometry('upsampleTrilinear3d', x, target, 3), 3);
}
