/**
 * Convolutions, stride 1, same padding, any odd kernel size, channels-last
 * (2D runs as 3D with D = KD = 1). Weights in TensorFlow layout
 * [KD, KH, KW, Cin, Cout]. Two kernel families, picked by the device profile
 * (or forced, for tests):
 *  - 'swiftshader' (conv-line.ts): persistent quads with register-resident
 *    operands and unrolled FMA chains, for a CPU adapter;
 *  - 'gpu' (conv-tiled.ts): implicit GEMMs tiled in workgroup memory, many
 *    workgroups, bounded loops, for a hardware GPU.
 * Both compute forward (bias fused), dX and dW; dB is a plain sum.
 */
import { ShapeError, fmtShape } from '../base/errors.js';
import type { KernelFamily } from '../gpu/profile.js';
import type { Tensor } from '../gpu/tensor.js';
import { lineConvForward, lineConvInputGrad, lineConvWeightGrad } from './conv-line.js';
import { tiledConvForward, tiledConvInputGrad, tiledConvWeightGrad } from './conv-tiled.js';
import { sumAxes } from './reduce.js';
import type { ConvGeometry, ConvOptions } from './conv-geometry.js';

export type { ConvGeometry, ConvOptions } from './conv-geometry.js';

/**
 * Validates x [N, (D,) H, W, Cin] against w [(KD,) KH, KW, Cin, Cout] (and the
 * bias [Cout]) and returns the geometry, or throws a ShapeError naming the op
 * and the shapes.
 */
export function convGeometry(op: string, x: Tensor, w: Tensor, dims: 2 | 3, bias?: Tensor | null): ConvGeometry {
  x.assertLive(op);
  w.assertLive(op);
  bias?.assertLive(op);
  x.expectDtype('f32', op);
  w.expectDtype('f32', op);
  bias?.expectDtype('f32', op);
  if (x.rt !== w.rt || (bias && bias.rt !== x.rt)) throw new ShapeError(`${op}: tensors live on different GPU devices`);
  const xLayout = dims === 2 ? '[N, H, W, Cin]' : '[N, D, H, W, Cin]';
  const wLayout = dims === 2 ? '[KH, KW, Cin, Cout]' : '[KD, KH, KW, Cin, Cout]';
  if (x.rank !== dims + 2) throw new ShapeError(`${op}: input must be ${xLayout}, got ${fmtShape(x.shape)}`);
  if (w.rank !== dims + 2) throw new ShapeError(`${op}: weights must be ${wLayout}, got ${fmtShape(w.shape)}`);
  if (x.shape.some((s) => s === 0) || w.shape.some((s) => s === 0)) {
    throw new ShapeError(`${op}: empty input ${fmtShape(x.shape)} or weights ${fmtShape(w.shape)}`);
  }
  const ks = w.shape.slice(0, dims);
  if (ks.some((k) => k % 2 === 0)) {
    throw new ShapeError(`${op}: kernel sizes must be odd for same padding, got weights ${fmtShape(w.shape)}`);
  }
  const cin = x.shape[dims + 1]!;
  if (w.shape[dims] !== cin) {
    throw new ShapeError(`${op}: input ${fmtShape(x.shape)} has ${cin} channels but weights ${fmtShape(w.shape)} expect ${w.shape[dims]}`);
  }
  const cout = w.shape[dims + 1]!;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== cout)) {
    throw new ShapeError(`${op}: bias ${fmtShape(bias.shape)} must be [${cout}] for weights ${fmtShape(w.shape)}`);
  }
  const [n, d, h, ww] = dims === 3 ? x.shape : [x.shape[0]!, 1, x.shape[1]!, x.shape[2]!];
  const [kd, kh, kw] = dims === 3 ? ks : [1, ks[0]!, ks[1]!];
  return { n: n!, d: d!, h: h!, w: ww!, cin, cout, kd: kd!, kh: kh!, kw: kw! };
}

const familyOf = (x: Tensor, opts: ConvOptions): KernelFamily => opts.family ?? x.rt.profile.family;

/** Y = conv(x, w) (+ bias), x [N, D, H, W, Cin] viewed from 2D or 3D. */
export function convForward(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry, opts: ConvOptions = {}): Tensor {
  return familyOf(x, opts) === 'gpu' ? tiledConvForward(x, w, bias, g) : lineConvForward(x, w, bias, g, opts);
}

/** dL/dx from dL/dy: the convolution of dy with the flipped, transposed kernel. */
export function convInputGrad(dy: Tensor, w: Tensor, g: ConvGeometry, opts: ConvOptions = {}): Tensor {
  return familyOf(dy, opts) === 'gpu' ? tiledConvInputGrad(dy, w, g) : lineConvInputGrad(dy, w, g, opts);
}

/** dL/dw from x and dL/dy. */
export function convWeightGrad(x: Tensor, dy: Tensor, wShape: readonly number[], g: ConvGeometry, opts: ConvOptions = {}): Tensor {
  return familyOf(x, opts) === 'gpu' ? tiledConvWeightGrad(x, dy, wShape, g, opts.workgroups) : lineConvWeightGrad(x, dy, wShape, g, opts);
}

/** dL/db: dy summed over every axis but the channels. */
export function convBiasGrad(dy: Tensor): Tensor {
  return sumAxes(dy, [...Array(dy.rank - 1).keys()]);
}
