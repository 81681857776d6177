import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';
import { Tensor, tidy } from '../src/gpu/index.js';
import { DisposedTensorError, DtypeError, ShapeError } from '../src/base/errors.js';
import { backward, noGrad, requireGrad } from '../src/autograd/tape.js';
import { gradCheck } from '../src/autograd/gradcheck.js';
import { mulberry32 } from '../src/base/random.js';
import { maxPool2d, maxPool3d } from '../src/autograd/pool.js';
import * as kernels from '../src/kernels/pool.js';
import { expectClose, gpu, randomArray } from './helpers/gpu.js';
import { maxPoolBackwardRef, maxPoolRef, type Dims5, type Win3 } from './reference/pool.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Distinct values spaced 0.05 apart in random order: no ties, and a ±1e-2 probe never reorders a window. */
function distinctArray(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const v = Float32Array.from({ length: n }, (_, i) => (i - n / 2) * 0.05);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [v[i], v[j]] = [v[j]!, v[i]!];
  }
  return v;
}

const as5 = (s: readonly number[]): Dims5 => (s.length === 4 ? [s[0]!, 1, s[1]!, s[2]!, s[3]!] : [s[0]!, s[1]!, s[2]!, s[3]!, s[4]!]);
const win3 = (k: number | readonly number[], rank: 2 | 3): Win3 => {
  const ks = typeof k === 'number' ? new Array<number>(rank).fill(k) : [...k];
  return rank === 2 ? [1, ks[0]!, ks[1]!] : [ks[0]!, ks[1]!, ks[2]!];
};

// [input shape, window]: odd sizes, C not a multiple of 4, batch 2, vec4 channels, past one workgroup.
const CASES_2D: Array<[number[], number | [number, number]]> = [
  [[2, 5, 7, 3], 2],
  [[1, 4, 4, 8], 2],
  [[2, 6, 9, 4], 2],
  [[1, 34, 36, 5], 2],
  [[2, 7, 8, 3], 3],
  [[1, 6, 7, 4], [3, 2]],
];
const CASES_3D: Array<[number[], number | [number, number, number]]> = [
  [[2, 5, 7, 6, 3], 2],
  [[1, 4, 4, 4, 4], 2],
  [[2, 3, 5, 4, 8], 2],
  [[1, 9, 10, 12, 5], 2],
  [[1, 3, 6, 5, 4], [1, 2, 2]],
  [[2, 7, 6, 6, 2], 3],
];

describe('max pooling forward and argmax', () => {
  for (const [rank, cases] of [[2, CASES_2D], [3, CASES_3D]] as const) {
    for (const [shape, k] of cases) {
      it(`${rank}D ${JSON.stringify(shape)} window ${JSON.stringify(k)} matches float64`, async () => {
        const rt = await gpu();
        const data = randomArray(size(shape), size(shape) + rank);
        const x = Tensor.from(rt, data, shape);
        const { y, argmax } = rank === 2 ? kernels.maxPool2d(x, k as number) : kernels.maxPool3d(x, k as number);
        const ref = maxPoolRef(data, as5(shape), win3(k, rank));
        const wantShape = rank === 2 ? [ref.outDims[0], ref.outDims[2], ref.outDims[3], ref.outDims[4]] : ref.outDims;
        expect([...y.shape]).toEqual(wantShape);
        expectClose(await y.readF32(), ref.y, 0, 0);
        expect([...(await argmax!.read())]).toEqual([...ref.argmax]);
        for (const t of [x, y, argmax!]) t.dispose();
      });
    }
  }
});

describe('max pooling backward (gather)', () => {
  for (const [rank, cases] of [[2, CASES_2D], [3, CASES_3D]] as const) {
    for (const [shape, k] of cases) {
      it(`${rank}D ${JSON.stringify(shape)} window ${JSON.stringify(k)} matches the float64 scatter`, async () => {
        const rt = await gpu();
        const data = randomArray(size(shape), 7 * size(shape));
        const ref = maxPoolRef(data, as5(shape), win3(k, rank));
        const dyData = randomArray(ref.y.length, 11);
        const dx = tidy(() => {
          const x = Tensor.from(rt, data, shape);
          const { y, argmax } = rank === 2 ? kernels.maxPool2d(x, k as number) : kernels.maxPool3d(x, k as number);
          const dy = Tensor.from(rt, dyData, y.shape);
          return rank === 2 ? kernels.maxPool2dBackward(dy, argmax!, shape, k as number) : kernels.maxPool3dBackward(dy, argmax!, shape, k as number);
        });
        expect([...dx.shape]).toEqual(shape);
        expectClose(await dx.readF32(), maxPoolBackwardRef(dyData, ref.argmax, as5(shape), win3(k, rank)), 0, 0);
        dx.dispose();
      });
    }
  }

  it('maxPool2d gradient matches finite differences (distinct values, odd sizes, batch 2)', async () => {
    const rt = await gpu();
    const res = await gradCheck(rt, ([x]) => maxPool2d(x!), [{ data: distinctArray(2 * 5 * 7 * 3, 1), shape: [2, 5, 7, 3] }], { samples: 30 });
    expect(res.ok, JSON.stringify(res.failures)).toBe(true);
  });

  it('maxPool3d gradient matches finite differences (distinct values, odd D, vec4 channels)', async () => {
    const rt = await gpu();
    const res = await gradCheck(rt, ([x]) => maxPool3d(x!), [{ data: distinctArray(1 * 3 * 4 * 5 * 4, 2), shape: [1, 3, 4, 5, 4] }], { samples: 30 });
    expect(res.ok, JSON.stringify(res.failures)).toBe(true);
    const res2 = await gradCheck(rt, ([x]) => maxPool3d(x!, [1, 2, 2]), [{ data: distinctArray(2 * 2 * 5 * 4 * 3, 3), shape: [2, 2, 5, 4, 3] }], { samples: 30 });
    expect(res2.ok, JSON.stringify(res2.failures)).toBe(true);
  });

  it('ties go to the first maximum in window order', async () => {
    const rt = await gpu();
    const x = requireGrad(Tensor.from(rt, new Float32Array(2 * 2 * 2 * 3).fill(0.5), [1, 2, 2, 2, 3]));
    const y = maxPool3d(x);
    backward(y, Tensor.from(rt, [1, 2, 3], y.shape));
    const gx = await x.grad!.readF32();
    expect([...gx]).toEqual([1, 2, 3, ...new Array(21).fill(0)]);
    x.grad!.dispose();
    x.dispose();
    y.dispose();
  });

  it('frees the argmax and every temporary with the scope', async () => {
    const rt = await gpu();
    const x = requireGrad(Tensor.from(rt, randomArray(2 * 4 * 4 * 4 * 4, 6), [2, 4, 4, 4, 4]));
    const before = rt.liveTensors;
    tidy(() => {
      const y = maxPool3d(x);
      backward(y, Tensor.from(rt, randomArray(y.size, 7), y.shape));
    });
    expect(rt.liveTensors).toBe(before + 1); // x.grad only
    x.grad!.dispose();
    x.dispose();
  });

  it('writes no argmax when no gradient is needed', async () => {
    const rt = await gpu();
    const x = Tensor.from(rt, randomArray(2 * 4 * 4 * 3, 5), [2, 4, 4, 3]);
    const before = rt.liveTensors;
    const y = maxPool2d(x);
    expect(rt.liveTensors).toBe(before + 1);
    expect(y.requiresGrad).toBe(false);
    requireGrad(x);
    const z = noGrad(() => maxPool2d(x));
    expect(rt.liveTensors).toBe(before + 2);
    for (const t of [x, y, z]) t.dispose();
  });
});

describe('max pooling against tfjs-cpu', () => {
  const cases: Array<[2 | 3, number[]]> = [
    [2, [2, 5, 7, 3]],
    [2, [1, 8, 6, 4]],
    [3, [2, 5, 7, 6, 3]],
    [3, [1, 4, 6, 5, 8]],
  ];
  for (const [rank, shape] of cases) {
    it(`${rank}D ${JSON.stringify(shape)}: forward and tf.grad agree`, async () => {
      // tfjs-cpu is the oracle nobody here wrote (never the wasm backend).
      await tf.setBackend('cpu');
      const rt = await gpu();
      const data = distinctArray(size(shape), size(shape));
      const x = requireGrad(Tensor.from(rt, data, shape));
      const y = rank === 2 ? maxPool2d(x) : maxPool3d(x);
      const dyData = randomArray(y.size, 3);
      backward(y, Tensor.from(rt, dyData, y.shape));

      const pool = (t: tf.Tensor) =>
        rank === 2 ? tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid') : tf.maxPool3d(t as tf.Tensor5D, 2, 2, 'valid', undefined, 'NDHWC');
      const tx = tf.tensor(data, shape);
      const ty = pool(tx);
      const tdy = tf.tensor(dyData, ty.shape);
      const tgrad = tf.grad((t: tf.Tensor) => pool(t))(tx, tdy);
      expect([...y.shape]).toEqual(ty.shape);
      expectClose(await y.readF32(), await ty.data(), 0, 0);
      expectClose(await x.grad!.readF32(), await tgrad.data(), 1e-7, 1e-6);
      tf.dispose([tx, ty, tdy, tgrad]);
      for (const t of [x.grad!, x, y]) t.dispose();
    });
  }
});

describe('max pooling errors', () => {
  it('names the op and the shape for wrong rank, dtype, empty output, bad window and disposed input', async () => {
    const rt = await gpu();
    const x5 = Tensor.from(rt, randomArray(2 * 2 * 2 * 2, 1), [1, 2, 2, 2, 2]);
    const x4 = x5.view([2, 2, 2, 2]);
    expect(() => maxPool2d(x5)).toThrow(ShapeError);
    expect(() => maxPool2d(x5)).toThrow(/maxPool2d: expected a rank-4 NHWC \[N, H, W, C\] tensor, got \[1, 2, 2, 2, 2\]/);
    expect(() => maxPool3d(x4)).toThrow(/maxPool3d: expected a rank-5 NDHWC \[N, D, H, W, C\] tensor, got \[2, 2, 2, 2\]/);
    const u = Tensor.from(rt, [1, 2, 3, 4], [1, 2, 2, 1], 'u32');
    expect(() => maxPool2d(u)).toThrow(DtypeError);
    expect(() => maxPool2d(u)).toThrow(/maxPool2d: expected a f32 tensor, got u32 \[1, 2, 2, 1\]/);
    const thin = Tensor.from(rt, randomArray(5 * 3, 2), [1, 1, 5, 3]);
    expect(() => maxPool2d(thin)).toThrow(/maxPool2d: a 2x2 window on \[1, 1, 5, 3\] gives an empty output \[1, 0, 2, 3\]/);
    expect(() => maxPool3d(x5, 3)).toThrow(/maxPool3d: a 3x3x3 window on \[1, 2, 2, 2, 2\] gives an empty output/);
    expect(() => maxPool2d(x4, 1.5)).toThrow(/maxPool2d: window must be a positive integer or 2 positive integers, got 1.5/);
    expect(() => maxPool3d(x5, [2, 2] as unknown as [number, number, number])).toThrow(/maxPool3d: window must be/);
    expect(() => maxPool2d(x4, 0)).toThrow(ShapeError);
    const { y, argmax } = kernels.maxPool2d(x4);
    expect(() => kernels.maxPool2dBackward(x4, argmax!, [2, 2, 2, 2])).toThrow(/maxPool2d backward: gradient \[2, 2, 2, 2\] and argmax \[2, 1, 1, 2\] must both be \[2, 1, 1, 2\]/);
    expect(() => kernels.maxPool2dBackward(y, y, [2, 2, 2, 2])).toThrow(/maxPool2d backward: expected a u32 tensor/);
    for (const t of [x4, x5, u, thin, y, argmax!]) t.dispose();
    expect(() => maxPool3d(x5)).toThrow(DisposedTensorError);
    expect(() => maxPool3d(x5)).toThrow(/maxPool3d: tensor #\d+ \[1, 2, 2, 2, 2\] was used after dispose\(\)/);
  });
});
