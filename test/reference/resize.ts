/**
 * Float64 CPU references for linear resizing over NDHWC with half-pixel
 * centres (PyTorch align_corners=False). Separable: one table of (i0, i1, t)
 * per axis. The backward is a scatter through the same tables, the transpose
 * of the forward, independent of the GPU's gather.
 */
import type { Dims5 } from './pool.js';

export interface AxisSample {
  i0: number;
  i1: number;
  t: number;
}

/** Sampling table for one axis, in float64 with the exact ratio in / out. */
export function axisSamples(inSize: number, outSize: number): AxisSample[] {
  const ratio = inSize / outSize;
  return Array.from({ length: outSize }, (_, j) => {
    const src = Math.max((j + 0.5) * ratio - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    return { i0, i1: Math.min(i0 + 1, inSize - 1), t: src - i0 };
  });
}

/** Resizes x of dims [n, id, ih, iw, c] to [od, oh, ow] spatially. */
export function resizeRef(x: ArrayLike<number>, dims: Dims5, out: readonly [number, number, number]): Float64Array {
  const [n, id, ih, iw, c] = dims;
  const [od, oh, ow] = out;
  const sz = axisSamples(id, od), sy = axisSamples(ih, oh), sx = axisSamples(iw, ow);
  const at = (b: number, z: number, y: number, q: number, ch: number) => x[(((b * id + z) * ih + y) * iw + q) * c + ch]!;
  const y = new Float64Array(n * od * oh * ow * c);
  let o = 0;
  for (let b = 0; b < n; b++) for (const lz of sz) for (const ly of sy) for (const lx of sx) for (let ch = 0; ch < c; ch++) {
    let v = 0;
    for (const [zi, wz] of [[lz.i0, 1 - lz.t], [lz.i1, lz.t]] as const)
      for (const [yi, wy] of [[ly.i0, 1 - ly.t], [ly.i1, ly.t]] as const)
        for (const [xi, wx] of [[lx.i0, 1 - lx.t], [lx.i1, lx.t]] as const) v += wz * wy * wx * at(b, zi, yi, xi, ch);
    y[o++] = v;
  }
  return y;
}

/** dL/dx of resizeRef for an output gradient dy. */
export function resizeBackwardRef(dy: ArrayLike<number>, dims: Dims5, out: readonly [number, number, number]): Float64Array {
  const [n, id, ih, iw, c] = dims;
  const [od, oh, ow] = out;
  const sz = axisSamples(id, od), sy = axisSamples(ih, oh), sx = axisSamples(iw, ow);
  const dx = new Float64Array(n * id * ih * iw * c);
  let o = 0;
  for (let b = 0; b < n; b++) for (const lz of sz) for (const ly of sy) for (const lx of sx) for (let ch = 0; ch < c; ch++) {
    const g = dy[o++]!;
    for (const [zi, wz] of [[lz.i0, 1 - lz.t], [lz.i1, lz.t]] as const)
      for (const [yi, wy] of [[ly.i0, 1 - ly.t], [ly.i1, ly.t]] as const)
        for (const [xi, wx] of [[lx.i0, 1 - lx.t], [lx.i1, lx.t]] as const) dx[(((b * id + zi) * ih + yi) * iw + xi) * c + ch] += wz * wy * wx * g;
  }
  return dx;
}
