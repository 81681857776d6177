import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';
import { Tensor, tidy } from '../src/gpu/index.js';
import { DisposedTensorError, DtypeError, ShapeError } from '../src/base/errors.js';
import { backward, requireGrad } from '../src/autograd/tape.js';
import { gradCheck } from '../src/autograd/gradcheck.js';
import { upsampleBilinear2d, upsampleTrilinear3d, type ResizeTarget } from '../src/autograd/resize.js';
import { resizeBackward, resizeGeometry } from '../src/kernels/resize.js';
import { expectClose, gpu, randomArray } from './helpers/gpu.js';
import { axisSamples, resizeBackwardRef, resizeRef } from './reference/resize.js';
import type { Dims5 } from './reference/pool.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const as5 = (s: readonly number[]): Dims5 => (s.length === 4 ? [s[0]!, 1, s[1]!, s[2]!, s[3]!] : [s[0]!, s[1]!, s[2]!, s[3]!, s[4]!]);

/** Spatial output sizes of a target, as [od, oh, ow] (od = 1 in 2D). */
function outSizes(shape: readonly number[], t: ResizeTarget): [number, number, number] {
  const inSp = shape.slice(1, -1);
  const sp = 'size' in t ? [...t.size] : inSp.map((d, i) => d * (typeof t.scale === 'number' ? t.scale : t.scale[i]!));
  return sp.length === 2 ? [1, sp[0]!, sp[1]!] : [sp[0]!, sp[1]!, sp[2]!];
}

const upsample = (x: Tensor, t: ResizeTarget) => (x.rank === 4 ? upsampleBilinear2d(x, t) : upsampleTrilinear3d(x, t));

// Odd sizes, C not a multiple of 4, vec4 channels, batch 2, up and down, past one workgroup.
const CASES: Array<[number[], ResizeTarget]> = [
  [[2, 5, 7, 3], { scale: 2 }],
  [[1, 3, 4, 8], { scale: 3 }],
  [[2, 4, 6, 4], { size: [9, 4] }],
  [[1, 17, 19, 5], { scale: 2 }],
  [[2, 6, 5, 3], { scale: [1, 2] }],
  [[1, 7, 9, 2], { size: [3, 4] }],
  [[1, 2, 3, 2], { scale: [5, 4] }],
  [[1, 11, 13, 3], { size: [2, 3] }],
  [[2, 3, 5, 4, 3], { scale: 2 }],
  [[1, 4, 3, 6, 4], { size: [5, 7, 3] }],
  [[1, 3, 4, 5, 5], { scale: [1, 2, 2] }],
  [[1, 5, 6, 7, 2], { scale: 2 }],
  [[2, 6, 5, 4, 8], { size: [3, 2, 7] }],
];

describe('linear up-sampling forward', () => {
  for (const [shape, target] of CASES) {
    it(`${shape.length === 4 ? 'bilinear' : 'trilinear'} ${JSON.stringify(shape)} ${JSON.stringify(target)} matches float64`, async () => {
      const rt = await gpu();
      const data = randomArray(size(shape), size(shape));
      const x = Tensor.from(rt, data, shape);
      const y = upsample(x, target);
      const out = outSizes(shape, target);
      const wantShape = shape.length === 4 ? [shape[0], out[1], out[2], shape[3]] : [shape[0], ...out, shape[4]];
      expect([...y.shape]).toEqual(wantShape);
      expectClose(await y.readF32(), resizeRef(data, as5(shape), out), 1e-5, 1e-5);
      x.dispose();
      y.dispose();
    });
  }

  it('scale 1 is the identity', async () => {
    const rt = await gpu();
    const data = randomArray(2 * 3 * 4 * 5 * 3, 9);
    const x = Tensor.from(rt, data, [2, 3, 4, 5, 3]);
    const y = upsampleTrilinear3d(x, { scale: 1 });
    expect([...(await y.readF32())]).toEqual([...data]);
    x.dispose();
    y.dispose();
  });

  it('trilinear with scale [1, s, s] equals bilinear on the [N*D, H, W, C] slice stack (the paper\'s τ)', async () => {
    const rt = await gpu();
    const shape = [2, 3, 5, 6, 3];
    const x = Tensor.from(rt, randomArray(size(shape), 4), shape);
    const slices = x.view([6, 5, 6, 3]);
    const tri = upsampleTrilinear3d(x, { scale: [1, 2, 2] });
    const bi = upsampleBilinear2d(slices, { scale: 2 });
    expectClose(await tri.readF32(), await bi.readF32(), 1e-6, 1e-6);
    // A degenerate depth axis (D = 1 -> 1) also reduces to bilinear.
    const one = x.view([6, 1, 5, 6, 3]);
    const triOne = upsampleTrilinear3d(one, { size: [1, 7, 4] });
    const biOne = upsampleBilinear2d(slices, { size: [7, 4] });
    expectClose(await triOne.readF32(), await biOne.readF32(), 1e-6, 1e-6);
    for (const t of [x, slices, tri, bi, one, triOne, biOne]) t.dispose();
  });

  it('reproduces a linear ramp wherever the sample lies inside the input (no clamping)', async () => {
    const rt = await gpu();
    const [D, H, W] = [4, 5, 3];
    const ramp = (z: number, y: number, x: number) => 0.3 * z - 0.7 * y + 0.2 * x + 1;
    const data = new Float32Array(2 * D * H * W);
    for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      data[((z * H + y) * W + x) * 2] = ramp(z, y, x);
      data[((z * H + y) * W + x) * 2 + 1] = -ramp(z, y, x);
    }
    const t = Tensor.from(rt, data, [1, D, H, W, 2]);
    for (const out of [[8, 10, 6], [7, 9, 5]] as const) {
      const y = await upsampleTrilinear3d(t, { size: out }).readF32();
      const src = (j: number, inSize: number, outSize: number) => (j + 0.5) * (inSize / outSize) - 0.5;
      let interior = 0;
      for (let z = 0; z < out[0]; z++) for (let r = 0; r < out[1]; r++) for (let q = 0; q < out[2]; q++) {
        const [sz, sy, sx] = [src(z, D, out[0]), src(r, H, out[1]), src(q, W, out[2])];
        if ([sz, sy, sx].some((s, k) => s < 0 || s > [D, H, W][k]! - 1)) continue;
        interior++;
        const o = ((z * out[1] + r) * out[2] + q) * 2;
        expect(Math.abs(y[o]! - ramp(sz, sy, sx))).toBeLessThan(1e-5);
        expect(Math.abs(y[o + 1]! + ramp(sz, sy, sx))).toBeLessThan(1e-5);
      }
      expect(interior).toBeGreaterThan(out[0] * out[1] * out[2] / 4);
    }
    t.dispose();
  });
});

describe('linear up-sampling backward (gather)', () => {
  for (const [shape, target] of CASES) {
    it(`${shape.length === 4 ? 'bilinear' : 'trilinear'} ${JSON.stringify(shape)} ${JSON.stringify(target)} matches the float64 scatter`, async () => {
      const rt = await gpu();
      const x = requireGrad(Tensor.from(rt, randomArray(size(shape), 2), shape));
      const out = outSizes(shape, target);
      const dyData = randomArray(shape[0]! * size(out) * shape[shape.length - 1]!, 5 * size(shape));
      tidy(() => {
        const y = upsample(x, target);
        backward(y, Tensor.from(rt, dyData, y.shape));
      });
      expectClose(await x.grad!.readF32(), resizeBackwardRef(dyData, as5(shape), out), 1e-5, 1e-5);
      x.grad!.dispose();
      x.dispose();
    });
  }

  const GRAD_CASES: Array<[number[], ResizeTarget]> = [
    [[2, 3, 4, 3], { scale: 2 }],
    [[1, 3, 5, 4], { size: [5, 3] }],
    [[1, 2, 3, 3, 2], { scale: 2 }],
    [[2, 3, 2, 2, 4], { size: [2, 5, 3] }],
  ];
  for (const [shape, target] of GRAD_CASES) {
    it(`${JSON.stringify(shape)} ${JSON.stringify(target)} gradient matches finite differences`, async () => {
      const rt = await gpu();
      const res = await gradCheck(rt, ([x]) => upsample(x!, target), [{ data: randomArray(size(shape), 3), shape }], { samples: 16 });
      expect(res.ok, JSON.stringify(res.failures)).toBe(true);
    });
  }
});

/** tfjs-cpu's bilinear resize of a [N, H, W, C] array (the oracle nobody here wrote). */
async function tfResize(data: Float32Array, shape: number[], out: [number, number], halfPixelCenters = true): Promise<Float32Array> {
  await tf.setBackend('cpu'); // never the wasm backend
  const x = tf.tensor4d(data, shape as [number, number, number, number]);
  const y = tf.image.resizeBilinear(x, out, false, halfPixelCenters);
  const v = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  return v;
}

/**
 * The exact adjoint of tfjs's forward, from its Jacobian: resize one one-hot
 * image per input pixel (one batch), then dx[p] = Σ_q J[p, q] dy[q] per batch
 * and channel. Uses only tfjs's forward kernel.
 */
async function tfAdjoint(dy: Float32Array, shape: number[], out: [number, number], halfPixelCenters = true): Promise<Float64Array> {
  const [n, h, w, c] = shape as [number, number, number, number];
  const p = h * w;
  const q = out[0] * out[1];
  const eye = new Float32Array(p * p);
  for (let i = 0; i < p; i++) eye[i * p + i] = 1;
  const J = await tfResize(eye, [p, h, w, 1], out, halfPixelCenters);
  const dx = new Float64Array(n * p * c);
  for (let b = 0; b < n; b++) for (let i = 0; i < p; i++) for (let j = 0; j < q; j++) {
    const wij = J[i * q + j]!;
    if (wij === 0) continue;
    for (let ch = 0; ch < c; ch++) dx[(b * p + i) * c + ch] += wij * dy[(b * q + j) * c + ch]!;
  }
  return dx;
}

describe('bilinear up-sampling against tfjs-cpu', () => {
  const TF_CASES: Array<[number[], [number, number]]> = [
    [[2, 5, 7, 3], [10, 14]],
    [[1, 4, 4, 8], [12, 12]],
    [[2, 6, 5, 4], [9, 4]],
    [[1, 7, 9, 2], [3, 5]],
  ];
  for (const [shape, out] of TF_CASES) {
    it(`${JSON.stringify(shape)} -> ${JSON.stringify(out)}: forward matches resizeBilinear(halfPixelCenters), gradient matches its adjoint`, async () => {
      const rt = await gpu();
      const data = randomArray(size(shape), 21);
      const x = requireGrad(Tensor.from(rt, data, shape));
      const y = upsampleBilinear2d(x, { size: out });
      const dyData = randomArray(y.size, 22);
      expectClose(await y.readF32(), await tfResize(data, shape, out), 1e-5, 1e-5);
      backward(y, Tensor.from(rt, dyData, y.shape));
      expectClose(await x.grad!.readF32(), await tfAdjoint(dyData, shape, out), 1e-5, 1e-5);
      for (const t of [x.grad!, x, y]) t.dispose();
    });
  }

  // tfjs-cpu 4.22's ResizeBilinearGrad ignores halfPixelCenters (it always maps
  // src = dst * in / out), so tf.grad is not the gradient of its own forward
  // here; we use the adjoint above instead. If this starts failing, tfjs fixed
  // it and tf.grad can become the oracle.
  it('tf.grad of tfjs resizeBilinear(halfPixelCenters) is the legacy mapping\'s adjoint, not ours', async () => {
    const shape = [1, 4, 4, 1];
    const out: [number, number] = [8, 8];
    const dy = randomArray(64, 23);
    await tf.setBackend('cpu');
    const tdy = tf.tensor4d(dy, [1, 8, 8, 1]);
    const tx = tf.tensor4d(randomArray(16, 24), shape as [number, number, number, number]);
    const g = tf.grad((t: tf.Tensor) => tf.image.resizeBilinear(t as tf.Tensor4D, out, false, true))(tx, tdy);
    const tfGrad = (await g.data()) as Float32Array;
    tf.dispose([tdy, tx, g]);
    expectClose(tfGrad, await tfAdjoint(dy, shape, out, false), 1e-5, 1e-5);
    const halfPixel = await tfAdjoint(dy, shape, out, true);
    expect(Math.max(...tfGrad.map((v, i) => Math.abs(v - halfPixel[i]!)))).toBeGreaterThan(0.1);
  });
});

describe('linear up-sampling errors', () => {
  it('names the op and the shape for wrong rank, dtype, bad targets and disposed input', async () => {
    const rt = await gpu();
    const x5 = Tensor.from(rt, randomArray(16, 1), [1, 2, 2, 2, 2]);
    const x4 = x5.view([2, 2, 2, 2]);
    expect(() => upsampleBilinear2d(x5, { scale: 2 })).toThrow(ShapeError);
    expect(() => upsampleBilinear2d(x5, { scale: 2 })).toThrow(/upsampleBilinear2d: expected a rank-4 NHWC \[N, H, W, C\] tensor, got \[1, 2, 2, 2, 2\]/);
    expect(() => upsampleTrilinear3d(x4, { scale: 2 })).toThrow(/upsampleTrilinear3d: expected a rank-5 NDHWC \[N, D, H, W, C\] tensor, got \[2, 2, 2, 2\]/);
    expect(() => upsampleBilinear2d(x4, { scale: 1.5 })).toThrow(/upsampleBilinear2d: scale must be a positive integer or 2 positive integers, got 1.5 \(use \{ size \} for other ratios\)/);
    expect(() => upsampleTrilinear3d(x5, { scale: [2, 2] })).toThrow(/upsampleTrilinear3d: scale must be/);
    expect(() => upsampleTrilinear3d(x5, { scale: 0 })).toThrow(/scale must be a positive integer/);
    expect(() => upsampleBilinear2d(x4, { size: [4, 0] })).toThrow(/upsampleBilinear2d: size must be 2 positive integers, got \[4,0\] for input \[2, 2, 2, 2\]/);
    expect(() => upsampleTrilinear3d(x5, { size: [4, 4] })).toThrow(/upsampleTrilinear3d: size must be 3 positive integers/);
    expect(() => upsampleBilinear2d(x4, { size: [4, 4.5] })).toThrow(ShapeError);
    expect(() => upsampleBilinear2d(x4, { scale: 2, size: [4, 4] } as unknown as ResizeTarget)).toThrow(/give exactly one of \{ scale \} or \{ size \}/);
    expect(() => upsampleBilinear2d(x4, {} as ResizeTarget)).toThrow(/give exactly one of/);
    const empty = Tensor.empty(rt, [1, 0, 3, 2]);
    expect(() => upsampleBilinear2d(empty, { scale: 2 })).toThrow(/upsampleBilinear2d: input \[1, 0, 3, 2\] is empty/);
    const u = Tensor.from(rt, [1, 2, 3, 4], [1, 2, 2, 1], 'u32');
    expect(() => upsampleBilinear2d(u, { scale: 2 })).toThrow(DtypeError);
    expect(() => upsampleBilinear2d(u, { scale: 2 })).toThrow(/upsampleBilinear2d: expected a f32 tensor, got u32 \[1, 2, 2, 1\]/);
    const g = resizeGeometry('upsampleBilinear2d', x4, { scale: 2 }, 2);
    expect(() => resizeBackward('upsampleBilinear2d', x4, g, 2)).toThrow(/upsampleBilinear2d backward: gradient \[2, 2, 2, 2\] does not match the output \[2, 4, 4, 2\]/);
    for (const t of [x4, x5, u, empty]) t.dispose();
    expect(() => upsampleTrilinear3d(x5, { scale: 2 })).toThrow(DisposedTensorError);
    expect(() => upsampleTrilinear3d(x5, { scale: 2 })).toThrow(/upsampleTrilinear3d: tensor #\d+ \[1, 2, 2, 2, 2\] was used after dispose\(\)/);
  });
});

// Keep the reference's sampling table honest on a known case (in 2 -> out 4).
describe('reference sampling table', () => {
  it('follows align_corners=False', () => {
    expect(axisSamples(2, 4)).toEqual([
      { i0: 0, i1: 1, t: 0 },
      { i0: 0, i1: 1, t: 0.25 },
      { i0: 0, i1: 1, t: 0.75 },
      // src = 1.25 lies past the last centre: both taps are clamped to index 1.
      { i0: 1, i1: 1, t: 0.25 },
    ]);
  });
});
