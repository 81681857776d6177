/**
 * Float64 CPU references for max pooling over NDHWC (NHWC is D = 1, kd = 1),
 * window = stride, floor on odd sizes, ties to the first maximum in window
 * order. The backward is written as a scatter (the transpose of the forward),
 * independently of the GPU's gather.
 */

export type Dims5 = readonly [n: number, d: number, h: number, w: number, c: number];
export type Win3 = readonly [kd: number, kh: number, kw: number];

export interface PoolRef {
  y: Float64Array;
  /** Offset of the maximum inside its window, (dz * kh + dy) * kw + dx. */
  argmax: Uint32Array;
  outDims: [number, number, number, number, number];
}

export function maxPoolRef(x: ArrayLike<number>, dims: Dims5, win: Win3): PoolRef {
  const [n, d, h, w, c] = dims;
  const [kd, kh, kw] = win;
  const od = Math.floor(d / kd), oh = Math.floor(h / kh), ow = Math.floor(w / kw);
  const y = new Float64Array(n * od * oh * ow * c);
  const argmax = new Uint32Array(y.length);
  let o = 0;
  for (let b = 0; b < n; b++) for (let z = 0; z < od; z++) for (let r = 0; r < oh; r++) for (let q = 0; q < ow; q++) for (let ch = 0; ch < c; ch++) {
    let best = -Infinity;
    let arg = -1;
    for (let dz = 0; dz < kd; dz++) for (let dy = 0; dy < kh; dy++) for (let dx = 0; dx < kw; dx++) {
      const v = x[((((b * d + z * kd + dz) * h + r * kh + dy) * w + q * kw + dx) * c) + ch]!;
      if (arg < 0 || v > best) {
        best = v;
        arg = (dz * kh + dy) * kw + dx;
      }
    }
    y[o] = best;
    argmax[o++] = arg;
  }
  return { y, argmax, outDims: [n, od, oh, ow, c] };
}

/** dL/dx: each output's gradient goes to the input element at its argmax. */
export function maxPoolBackwardRef(dy: ArrayLike<number>, argmax: ArrayLike<number>, dims: Dims5, win: Win3): Float64Array {
  const [n, d, h, w, c] = dims;
  const [kd, kh, kw] = win;
  const od = Math.floor(d / kd), oh = Math.floor(h / kh), ow = Math.floor(w / kw);
  const dx = new Float64Array(n * d * h * w * c);
  let o = 0;
  for (let b = 0; b < n; b++) for (let z = 0; z < od; z++) for (let r = 0; r < oh; r++) for (let q = 0; q < ow; q++) for (let ch = 0; ch < c; ch++) {
    const a = argmax[o]!;
    const dxw = a % kw, dyw = Math.floor(a / kw) % kh, dzw = Math.floor(a / (kw * kh));
    dx[((((b * d + z * kd + dzw) * h + r * kh + dyw) * w + q * kw + dxw) * c) + ch] += dy[o++]!;
  }
  return dx;
}
