/**
 * TEMPORARY direct convolution (one thread per output, input-gradient and
 * weight-gradient element), stride 1, same padding, NDHWC; 2D runs as D = 1.
 * Stands in until the tiled implicit-GEMM core lands; same public API.
 */
import { ShapeError, fmtShape } from '../gpu/errors.js';
import { Tensor } from '../gpu/tensor.js';
import { flatMain, groupsFor, u32s } from '../gpu/wgsl.js';

export interface ConvGeometry {
  n: number; d: number; h: number; w: number; cin: number; cout: number; kd: number; kh: number; kw: number;
}

const header = /* wgsl */ `
struct P { n: u32, d: u32, h: u32, w: u32, cin: u32, cout: u32, kd: u32, kh: u32, kw: u32, total: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
`;

const forwardSource = header + flatMain(`  if (i >= p.total) { return; }
  let co = i % p.cout;
  var r = i / p.cout;
  let x = r % p.w; r = r / p.w;
  let y = r % p.h; r = r / p.h;
  let z = r % p.d; let n = r / p.d;
  var acc = 0.0;
  for (var a = 0u; a < p.kd; a++) {
    let zz = i32(z) + i32(a) - i32(p.kd / 2u);
    if (zz < 0 || zz >= i32(p.d)) { continue; }
    for (var b = 0u; b < p.kh; b++) {
      let yy = i32(y) + i32(b) - i32(p.kh / 2u);
      if (yy < 0 || yy >= i32(p.h)) { continue; }
      for (var c = 0u; c < p.kw; c++) {
        let xx = i32(x) + i32(c) - i32(p.kw / 2u);
        if (xx < 0 || xx >= i32(p.w)) { continue; }
        let xb = (((n * p.d + u32(zz)) * p.h + u32(yy)) * p.w + u32(xx)) * p.cin;
        let wb = ((a * p.kh + b) * p.kw + c) * p.cin * p.cout + co;
        for (var ci = 0u; ci < p.cin; ci++) { acc = fma(A[xb + ci], B[wb + ci * p.cout], acc); }
      }
    }
  }
  Y[i] = acc;`);

const inputGradSource = header + flatMain(`  if (i >= p.total) { return; }
  let ci = i % p.cin;
  var r = i / p.cin;
  let x = r % p.w; r = r / p.w;
  let y = r % p.h; r = r / p.h;
  let z = r % p.d; let n = r / p.d;
  var acc = 0.0;
  for (var a = 0u; a < p.kd; a++) {
    let zz = i32(z) - i32(a) + i32(p.kd / 2u);
    if (zz < 0 || zz >= i32(p.d)) { continue; }
    for (var b = 0u; b < p.kh; b++) {
      let yy = i32(y) - i32(b) + i32(p.kh / 2u);
      if (yy < 0 || yy >= i32(p.h)) { continue; }
      for (var c = 0u; c < p.kw; c++) {
        let xx = i32(x) - i32(c) + i32(p.kw / 2u);
        if (xx < 0 || xx >= i32(p.w)) { continue; }
        let gb = (((n * p.d + u32(zz)) * p.h + u32(yy)) * p.w + u32(xx)) * p.cout;
        let wb = (((a * p.kh + b) * p.kw + c) * p.cin + ci) * p.cout;
        for (var co = 0u; co < p.cout; co++) { acc = fma(A[gb + co], B[wb + co], acc); }
      }
    }
  }
  Y[i] = acc;`);

const weightGradSource = header + flatMain(`  if (i >= p.total) { return; }
  let co = i % p.cout;
  var r = i / p.cout;
  let ci = r % p.cin; r = r / p.cin;
  let c = r % p.kw; r = r / p.kw;
  let b = r % p.kh; let a = r / p.kh;
  var acc = 0.0;
  for (var n = 0u; n < p.n; n++) {
    for (var z = 0u; z < p.d; z++) {
      let zz = i32(z) + i32(a) - i32(p.kd / 2u);
      if (zz < 0 || zz >= i32(p.d)) { continue; }
      for (var y = 0u; y < p.h; y++) {
        let yy = i32(y) + i32(b) - i32(p.kh / 2u);
        if (yy < 0 || yy >= i32(p.h)) { continue; }
        for (var x = 0u; x < p.w; x++) {
          let xx = i32(x) + i32(c) - i32(p.kw / 2u);
          if (xx < 0 || xx >= i32(p.w)) { continue; }
          let xi = (((n * p.d + u32(zz)) * p.h + u32(yy)) * p.w + u32(xx)) * p.cin + ci;
          let gi = (((n * p.d + z) * p.h + y) * p.w + x) * p.cout + co;
          acc = fma(A[xi], B[gi], acc);
        }
      }
    }
  }
  Y[i] = acc;`);

function params(g: ConvGeometry, total: number): ArrayBuffer {
  return u32s(g.n, g.d, g.h, g.w, g.cin, g.cout, g.kd, g.kh, g.kw, total);
}

/** Validates x [N,(D,)H,W,Cin] and w [(KD,)KH,KW,Cin,Cout] and returns the geometry. */
export function convGeometry(op: string, x: Tensor, w: Tensor, dims: 2 | 3): ConvGeometry {
  x.expectDtype('f32', op);
  w.expectDtype('f32', op);
  if (x.rank !== dims + 2 || w.rank !== dims + 2) {
    throw new ShapeError(`${op}: input must be ${dims === 2 ? '[N, H, W, C]' : '[N, D, H, W, C]'} and weights ${dims === 2 ? '[KH, KW, Cin, Cout]' : '[KD, KH, KW, Cin, Cout]'}, got ${fmtShape(x.shape)} and ${fmtShape(w.shape)}`);
  }
  const ks = w.shape.slice(0, dims);
  if (ks.some((k) => k % 2 === 0)) throw new ShapeError(`${op}: kernel ${fmtShape(w.shape)} must have odd sizes for same padding`);
  const cin = x.shape[dims + 1]!;
  if (w.shape[dims] !== cin) throw new ShapeError(`${op}: input has ${cin} channels but weights ${fmtShape(w.shape)} expect ${w.shape[dims]}`);
  const [n, d, h, ww] = dims === 3 ? (x.shape as number[]) : [x.shape[0]!, 1, x.shape[1]!, x.shape[2]!];
  const [kd, kh, kw] = dims === 3 ? ks : [1, ks[0]!, ks[1]!];
  return { n: n!, d: d!, h: h!, w: ww!, cin, cout: w.shape[dims + 1]!, kd: kd!, kh: kh!, kw: kw! };
}

export function convForward(x: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const y = Tensor.empty(x.rt, [...x.shape.slice(0, -1), g.cout], 'f32', 'conv');
  x.rt.dispatch({ label: 'conv', source: forwardSource, buffers: [x.buffer, w.buffer, y.buffer], uniforms: params(g, y.size), workgroups: groupsFor(y.size) });
  return y;
}

export function convInputGrad(dy: Tensor, w: Tensor, xShape: readonly number[], g: ConvGeometry): Tensor {
  const dx = Tensor.empty(dy.rt, xShape, 'f32', 'conv-dx');
  dy.rt.dispatch({ label: 'conv-dx', source: inputGradSource, buffers: [dy.buffer, w.buffer, dx.buffer], uniforms: params(g, dx.size), workgroups: groupsFor(dx.size) });
  return dx;
}

export function convWeightGrad(x: Tensor, dy: Tensor, wShape: readonly number[], g: ConvGeometry): Tensor {
  const dw = Tensor.empty(x.rt, wShape, 'f32', 'conv-dw');
  x.rt.dispatch({ label: 'conv-dw', source: weightGradSource, buffers: [x.buffer, dy.buffer, dw.buffer], uniforms: params(g, dw.size), workgroups: groupsFor(dw.size) });
  return dw;
}
