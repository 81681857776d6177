import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// Gradients are registered separately from the ops (tf.grads needs them).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { Tensor, tidy } from '../src/gpu/index.js';
import { DisposedTensorError, DtypeError, ShapeError } from '../src/base/errors.js';
import { conv2d, conv3d } from '../src/autograd/conv.js';
import { gradCheck } from '../src/autograd/gradcheck.js';
import { vjp } from '../src/autograd/tape.js';
import { convBiasGrad, convForward, convGeometry, convInputGrad, convWeightGrad, type ConvOptions } from '../src/kernels/conv.js';
import type { Runtime } from '../src/gpu/runtime.js';
import { expectClose, gpu, gpuFamily, randomArray } from './helpers/gpu.js';
import { convBiasGradRef, convForwardRef, convInputGradRef, convWeightGradRef } from './reference/conv.js';

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface Case {
  name: string;
  x: number[];
  k: number;
  cout: number;
  opts?: ConvOptions;
}

/**
 * Every kernel family, on this machine's adapter: the adapter's own (SwiftShader
 * here), and the GPU family forced, planned once for a big GPU (132 compute
 * units: small tiles, many dW splits) and once for 2 (the tallest tiles).
 */
const FAMILIES: Array<{ name: string; rt: () => Promise<Runtime>; gpu: boolean }> = [
  { name: 'swiftshader family', rt: () => gpuFamily('swiftshader'), gpu: false },
  { name: 'gpu family, big-GPU plan', rt: () => gpuFamily('gpu', 132), gpu: true },
  { name: 'gpu family, 2-unit plan', rt: () => gpuFamily('gpu', 2), gpu: true },
];

// Odd sizes, channel counts off multiples of 4, batch 2, every kernel size the
// network uses, rows past the workgroup count and lines past one block.
const CASES: Case[] = [
  { name: '2D k3, batch 2, 3->5', x: [2, 5, 7, 3], k: 3, cout: 5 },
  { name: '2D k1, 4->8', x: [1, 6, 9, 4], k: 1, cout: 8 },
  { name: '2D k5, batch 2, 5->3', x: [2, 7, 5, 5], k: 5, cout: 3 },
  { name: '2D k7, 2->6', x: [1, 9, 11, 2], k: 7, cout: 6 },
  { name: '2D k3, 33x37 over 4 workgroups, 6->7', x: [1, 33, 37, 6], k: 3, cout: 7, opts: { workgroups: 4 } },
  { name: '3D k3, batch 2, 3->5', x: [2, 3, 5, 7, 3], k: 3, cout: 5 },
  { name: '3D k1, 8->4', x: [1, 4, 6, 5, 8], k: 1, cout: 4 },
  { name: '3D k3, 16->16 (the 3D U-Net width)', x: [1, 5, 6, 19, 16], k: 3, cout: 16 },
  { name: '3D k3, chunked over KD and channels, 9->6', x: [1, 4, 5, 7, 9], k: 3, cout: 6, opts: { maxUnrolledFmas: 100 } },
  { name: '3D k3, without subgroups, 5->6', x: [2, 3, 4, 5, 5], k: 3, cout: 6, opts: { subgroups: false } },
  { name: '2D k3, without subgroups and chunked, 6->5', x: [1, 6, 7, 6], k: 3, cout: 5, opts: { subgroups: false, maxUnrolledFmas: 60 } },
];

// The GPU family's own cases: vec4 and scalar operands, N and M past one tile, K split for dW.
const GPU_CASES: Case[] = [
  { name: '3D k3, 8->12 (vec4 A, B and C), dW in 5 splits', x: [1, 5, 9, 11, 8], k: 3, cout: 12, opts: { workgroups: 5 } },
  { name: '3D k3, 4->68 (N past one 64-wide tile)', x: [1, 3, 4, 5, 4], k: 3, cout: 68 },
  { name: '2D k3, 72->8 (K = 648, many K steps)', x: [1, 5, 6, 72], k: 3, cout: 8 },
  { name: '2D k1, 1->4 (one input channel, as the first layer)', x: [2, 9, 10, 1], k: 1, cout: 4 },
];

function refGeometry(x: number[], k: number, cout: number) {
  const dims = x.length - 2;
  const [n, d, h, w] = dims === 3 ? x : [x[0]!, 1, x[1]!, x[2]!];
  return { n: n!, d: d!, h: h!, w: w!, cin: x[x.length - 1]!, cout, kd: dims === 3 ? k : 1, kh: k, kw: k };
}

describe.each(FAMILIES)('conv kernels match float64 direct convolution: $name', (family) => {
  const cases = family.gpu ? [...CASES.filter((c) => !c.opts), ...GPU_CASES] : CASES;
  cases.forEach((c, ci) => {
    it(c.name, async () => {
      const rt = await family.rt();
      const dims = (c.x.length - 2) as 2 | 3;
      const cin = c.x[c.x.length - 1]!;
      const wShape = [...Array(dims).fill(c.k), cin, c.cout];
      const yShape = [...c.x.slice(0, -1), c.cout];
      const xd = randomArray(prod(c.x), 10 + ci);
      const wd = randomArray(prod(wShape), 20 + ci);
      const bd = randomArray(c.cout, 30 + ci);
      const dyd = randomArray(prod(yShape), 40 + ci);
      const g = refGeometry(c.x, c.k, c.cout);
      const [y, dx, dw, db] = tidy(() => {
        const x = Tensor.from(rt, xd, c.x);
        const w = Tensor.from(rt, wd, wShape);
        const b = Tensor.from(rt, bd, [c.cout]);
        const dy = Tensor.from(rt, dyd, yShape);
        const geo = convGeometry(`conv${dims}d`, x, w, dims, b);
        return [convForward(x, w, b, geo, c.opts), convInputGrad(dy, w, geo, c.opts), convWeightGrad(x, dy, wShape, geo, c.opts), convBiasGrad(dy)];
      });
      expect([...y.shape]).toEqual(yShape);
      expect([...dx.shape]).toEqual(c.x);
      expect([...dw.shape]).toEqual(wShape);
      expect([...db.shape]).toEqual([c.cout]);
      expectClose(await y.readF32(), convForwardRef(xd, wd, bd, g), 1e-4, 1e-4);
      expectClose(await dx.readF32(), convInputGradRef(dyd, wd, g), 1e-4, 1e-4);
      expectClose(await dw.readF32(), convWeightGradRef(xd, dyd, g), 2e-4, 1e-4);
      expectClose(await db.readF32(), convBiasGradRef(dyd, c.cout), 1e-4, 1e-4);
      for (const t of [y, dx, dw, db]) t.dispose();
    });
  });
});

describe.each(FAMILIES.slice(0, 2))('conv matches TensorFlow.js (cpu backend) as an independent oracle: $name', (family) => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  const ORACLE: Array<{ x: number[]; k: number; cout: number }> = [
    { x: [2, 6, 7, 3], k: 3, cout: 5 },
    { x: [1, 8, 5, 4], k: 5, cout: 2 },
    { x: [1, 7, 9, 1], k: 7, cout: 4 },
    { x: [2, 4, 5, 6, 3], k: 3, cout: 4 },
    { x: [1, 3, 4, 5, 4], k: 1, cout: 6 },
  ];
  ORACLE.forEach((c, ci) => {
    const dims = c.x.length - 2;
    it(`conv${dims}d x ${JSON.stringify(c.x)} k${c.k} -> ${c.cout}: forward and tf.grads gradients`, async () => {
      const rt = await family.rt();
      const cin = c.x[c.x.length - 1]!;
      const wShape = [...Array(dims).fill(c.k), cin, c.cout];
      const yShape = [...c.x.slice(0, -1), c.cout];
      const xd = randomArray(prod(c.x), 50 + ci);
      const wd = randomArray(prod(wShape), 60 + ci);
      const bd = randomArray(c.cout, 70 + ci);
      const rd = randomArray(prod(yShape), 80 + ci);

      // tfjs: y = conv(x, w) + b, and the gradients of sum(y * r).
      const tfConv = (a: tf.Tensor, b: tf.Tensor) =>
        dims === 2 ? tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same') : tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, 1, 'same');
      const [tx, tw, tb, tr] = [tf.tensor(xd, c.x), tf.tensor(wd, wShape), tf.tensor(bd, [c.cout]), tf.tensor(rd, yShape)];
      const ty = tf.add(tfConv(tx, tw), tb);
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) => tf.sum(tf.mul(tf.add(tfConv(a, b), bias), tr)));
      const [gx, gw, gb] = grads([tx, tw, tb]);
      const want = [await ty.data(), await gx!.data(), await gw!.data(), await gb!.data()];
      tf.dispose([tx, tw, tb, tr, ty, gx!, gw!, gb!]);

      const op = dims === 2 ? conv2d : conv3d;
      const x = Tensor.from(rt, xd, c.x);
      const w = Tensor.from(rt, wd, wShape);
      const b = Tensor.from(rt, bd, [c.cout]);
      const r = Tensor.from(rt, rd, yShape);
      const { output: y, grads: [dx, dw, db] } = tidy(() => vjp(op, [x, w, b], r));
      const got = [await y.readF32(), await dx!.readF32(), await dw!.readF32(), await db!.readF32()];
      for (const [i, name] of ['forward', 'dX', 'dW', 'db'].entries()) {
        expect(got[i]!.length, name).toBe(want[i]!.length);
        expectClose(got[i]!, want[i]!, 2e-4, 2e-4);
      }
      for (const t of [x, w, b, r, y, dx!, dw!, db!]) t.dispose();
    });
  });
});

describe.each(FAMILIES.slice(0, 2))('conv autograd wrappers match finite differences: $name', (family) => {
  it('conv2d with bias, k3', async () => {
    const rt = await family.rt();
    const res = await gradCheck(rt, ([x, w, b]) => conv2d(x!, w!, b!), [
      { data: randomArray(1 * 4 * 5 * 2, 91), shape: [1, 4, 5, 2] },
      { data: randomArray(3 * 3 * 2 * 3, 92), shape: [3, 3, 2, 3] },
      { data: randomArray(3, 93), shape: [3] },
    ], { samples: 8 });
    expect(res.ok, JSON.stringify(res.failures)).toBe(true);
    expect(res.checked).toBeGreaterThanOrEqual(19);
  });

  it('conv3d without bias, k3, batch 2', async () => {
    const rt = await family.rt();
    const res = await gradCheck(rt, ([x, w]) => conv3d(x!, w!), [
      { data: randomArray(2 * 3 * 3 * 4 * 2, 94), shape: [2, 3, 3, 4, 2] },
      { data: randomArray(3 * 3 * 3 * 2 * 3, 95), shape: [3, 3, 3, 2, 3] },
    ], { samples: 8 });
    expect(res.ok, JSON.stringify(res.failures)).toBe(true);
  });
});

describe('conv rejects bad input with a clear error', () => {
  it('names the op and the shapes', async () => {
    const rt = await gpu();
    const x2 = Tensor.from(rt, randomArray(2 * 4 * 4 * 3, 1), [2, 4, 4, 3]);
    const x3 = Tensor.from(rt, randomArray(4 * 4 * 4 * 3, 2), [1, 4, 4, 4, 3]);
    const w2 = Tensor.from(rt, randomArray(3 * 3 * 3 * 5, 3), [3, 3, 3, 5]);
    const wWrongCin = Tensor.from(rt, randomArray(3 * 3 * 4 * 5, 4), [3, 3, 4, 5]);
    const wEven = Tensor.from(rt, randomArray(2 * 2 * 3 * 5, 5), [2, 2, 3, 5]);
    const bWrong = Tensor.from(rt, randomArray(4, 6), [4]);
    const xInt = Tensor.from(rt, new Int32Array(2 * 4 * 4 * 3), [2, 4, 4, 3], 'i32');

    expect(() => conv2d(x2, wWrongCin)).toThrow(ShapeError);
    expect(() => conv2d(x2, wWrongCin)).toThrow(/conv2d: input \[2, 4, 4, 3\] has 3 channels but weights \[3, 3, 4, 5\] expect 4/);
    expect(() => conv2d(x3, w2)).toThrow(/conv2d: input must be \[N, H, W, Cin\], got \[1, 4, 4, 4, 3\]/);
    expect(() => conv3d(x3, w2)).toThrow(/conv3d: weights must be \[KD, KH, KW, Cin, Cout\], got \[3, 3, 3, 5\]/);
    expect(() => conv2d(x2, wEven)).toThrow(/conv2d: kernel sizes must be odd for same padding, got weights \[2, 2, 3, 5\]/);
    expect(() => conv2d(x2, w2, bWrong)).toThrow(/conv2d: bias \[4\] must be \[5\]/);
    expect(() => conv2d(xInt, w2)).toThrow(DtypeError);
    expect(() => conv2d(xInt, w2)).toThrow(/conv2d: expected a f32 tensor, got i32/);

    const gone = Tensor.from(rt, randomArray(2 * 4 * 4 * 3, 7), [2, 4, 4, 3]);
    gone.dispose();
    expect(() => conv2d(gone, w2)).toThrow(DisposedTensorError);
    expect(() => conv2d(gone, w2)).toThrow(/conv2d: tensor #\d+ \[2, 4, 4, 3\] was used after dispose\(\)/);
    for (const t of [x2, x3, w2, wWrongCin, wEven, bWrong, xInt]) t.dispose();
  });
});
