import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core alone registers no gradients; tf.grad needs them.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { Tensor, tidy } from '../src/gpu/index.js';
import { DisposedTensorError, DtypeError, InputError, ShapeError } from '../src/base/errors.js';
import { backward, requireGrad } from '../src/autograd/tape.js';
import { gradCheck } from '../src/autograd/gradcheck.js';
import { mulberry32 } from '../src/base/random.js';
import { l2Penalty, softmaxDice, softmaxDiceLoss, weightedSum } from '../src/autograd/loss.js';
import { softmax } from '../src/autograd/softmax.js';
import { softmaxBackward, softmaxForward } from '../src/kernels/softmax.js';
import type { Runtime } from '../src/gpu/runtime.js';
import { expectClose, gpu, gpuFamily, randomArray } from './helpers/gpu.js';
import { diceGradRef, diceRef, oneHotRef, softmaxGradRef, softmaxRef, type DiceRefOptions } from './reference/loss.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function randomLabels(n: number, c: number, seed: number): Uint32Array {
  const r = mulberry32(seed);
  return Uint32Array.from({ length: n }, () => Math.floor(r() * c));
}

/** Reads x.grad, then frees the gradient and x. */
async function takeGrad(x: Tensor): Promise<Float32Array> {
  const g = await x.grad!.readF32();
  x.grad!.dispose();
  x.grad = null;
  x.dispose();
  return g;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('softmax', () => {
  // [shape, force the workgroup-per-row kernel?]: scalar and vec4 rows, odd
  // sizes, batch > 1, more rows than one workgroup, channels past 32.
  const CASES: Array<[number[], boolean | undefined]> = [
    [[7, 3], undefined],
    [[2, 5, 7, 5], undefined],
    [[3, 4, 4], undefined],
    [[2, 3, 5, 7, 4], undefined],
    [[300, 8], undefined],
    [[2, 3, 33], undefined],
    [[5, 64], undefined],
    [[67, 3], true],
    [[9, 12], true],
  ];
  for (const [shape, wide] of CASES) {
    it(`${JSON.stringify(shape)}${wide ? ' (workgroup per row)' : ''}: forward and backward match float64`, async () => {
      const rt = await gpu();
      const c = shape[shape.length - 1]!;
      const x = randomArray(size(shape), size(shape) + c, -4, 4);
      const dy = randomArray(size(shape), 7 * c, -1, 1);
      const [y, dx] = tidy(() => {
        const yt = softmaxForward(Tensor.from(rt, x, shape), { wide });
        return [yt, softmaxBackward(yt, Tensor.from(rt, dy, shape), { wide })];
      });
      expectClose(await y!.readF32(), softmaxRef(x, c), 1e-6, 1e-5);
      expectClose(await dx!.readF32(), softmaxGradRef(x, dy, c), 1e-6, 1e-4);
      y!.dispose();
      dx!.dispose();
    });
  }

  it('stays finite and exact for huge logits (row maximum subtracted)', async () => {
    const rt = await gpu();
    const x = Float32Array.from([1000, -1000, 0, 999, 88, 89, 90, -87, -3e4, 3e4, 0, 1]);
    const y = softmax(Tensor.from(rt, x, [3, 4]));
    expectClose(await y.readF32(), softmaxRef(x, 4), 1e-7, 1e-5);
    y.dispose();
  });

  it('matches tfjs-cpu (tf.softmax and its gradient)', async () => {
    const rt = await gpu();
    for (const shape of [[2, 3, 5, 6], [4, 7, 4]]) {
      const x = randomArray(size(shape), 40 + shape.length, -3, 3);
      const r = randomArray(size(shape), 41 + shape.length);
      const xt = requireGrad(Tensor.from(rt, x, shape));
      const y = tidy(() => {
        const out = softmax(xt);
        backward(out, Tensor.from(rt, r, shape));
        return out;
      });
      const tx = tf.tensor(x, shape);
      const tr = tf.tensor(r, shape);
      const want = tf.softmax(tx);
      const wantGrad = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.softmax(v), tr)))(tx);
      expectClose(await y.readF32(), await want.data(), 1e-6, 1e-5);
      expectClose(await takeGrad(xt), await wantGrad.data(), 1e-6, 1e-4);
      y.dispose();
      tf.dispose([tx, tr, want, wantGrad]);
    }
  });

  it('gradient matches finite differences', async () => {
    const rt = await gpu();
    const res = await gradCheck(rt, ([x]) => softmax(x!), [{ data: randomArray(2 * 3 * 5, 50, -2, 2), shape: [2, 3, 5] }], { samples: 16 });
    expect(res.ok, JSON.stringify(res.failures)).toBe(true);
  });

  it('rejects bad input with a clear error', async () => {
    const rt = await gpu();
    const lab = Tensor.from(rt, [0, 1], [2], 'u32');
    expect(() => softmax(lab)).toThrow(DtypeError);
    expect(() => softmax(lab)).toThrow(/softmax: expected a f32 tensor, got u32 \[2\]/);
    const empty = Tensor.empty(rt, [3, 0]);
    expect(() => softmax(empty)).toThrow(/softmax: the channel \(last\) axis of \[3, 0\] is empty/);
    const x = Tensor.from(rt, [1, 2], [1, 2]);
    x.dispose();
    expect(() => softmax(x)).toThrow(DisposedTensorError);
    lab.dispose();
    empty.dispose();
  });
});

describe('softmaxDiceLoss', () => {
  // Shapes: 2D NHWC and 3D NDHWC, C = 2..8 (scalar and vec4 rows), batch > 1,
  // and more voxels than one workgroup's 512 rows.
  const CASES: Array<[number[], DiceRefOptions]> = [
    [[2, 3, 5, 7, 4], {}],
    [[3, 5, 7, 3], { includeBackground: true }],
    [[1, 9, 13, 11, 4], { smooth: 1e-3 }],
    [[2, 7, 7, 6], { classWeights: [5, 1, 2, 0.5, 3, 1] }],
    [[2, 5, 9, 8], { includeBackground: true, smooth: 0.5, classWeights: [0.25, 1, 1, 2, 1, 1, 1, 4] }],
    [[17, 2], {}],
  ];
  // The adapter's plan, and a big GPU's (132 compute units: fewer rows a thread, more workgroups).
  const plans: Array<[string, () => Promise<Runtime>]> = [['', gpu], [', big-GPU plan', () => gpuFamily('gpu', 132)]];
  for (const [plan, family] of plans) for (const [shape, opts] of plan ? CASES.slice(2, 5) : CASES) {
    for (const truth of ['labels', 'onehot'] as const) {
      it(`${JSON.stringify(shape)} ${JSON.stringify(opts)} with ${truth}${plan}: loss, per-class Dice and gradient match float64`, async () => {
        const rt = await family();
        const c = shape[shape.length - 1]!;
        const n = size(shape);
        const z = randomArray(n, n + c, -3, 3);
        const labels = randomLabels(n / c, c, n);
        const g = oneHotRef(labels, c);
        const truthT = truth === 'labels' ? Tensor.from(rt, labels, shape.slice(0, -1), 'u32') : Tensor.from(rt, g, shape);
        const zt = requireGrad(Tensor.from(rt, z, shape));
        const { loss, dice } = tidy(() => {
          const r = softmaxDice(zt, truthT, opts);
          backward(r.loss);
          return r;
        });
        const want = diceRef(z, g, c, opts);
        expect([...loss.shape]).toEqual([1]);
        expectClose(await loss.readF32(), [want.loss], 1e-5, 1e-5);
        expectClose(await dice.readF32(), want.dice, 1e-6, 1e-5);
        const wantGrad = diceGradRef(z, g, c, opts);
        const scale = Math.max(...wantGrad.map(Math.abs));
        expectClose(await takeGrad(zt), wantGrad, 1e-4 * scale, 1e-3);
        for (const t of [loss, dice, truthT]) t.dispose();
      });
    }
  }

  it('a hand-computed example: uniform predictions over two voxels', async () => {
    const rt = await gpu();
    // P = 0.5 everywhere; labels [1, 0]. Per class: ΣPG = 0.5, ΣP² = 0.5,
    // ΣG² = 1, so Dice = (2·0.5 + 1) / (0.5 + 1 + 1) = 0.8.
    const z = requireGrad(Tensor.from(rt, [0, 0, 0, 0], [2, 2]));
    const lab = Tensor.from(rt, [1, 0], [2], 'u32');
    const { loss, dice } = tidy(() => {
      const r = softmaxDice(z, lab);
      backward(r.loss);
      return r;
    });
    expectClose(await loss.readF32(), [0.2], 1e-7, 1e-6);
    expectClose(await dice.readF32(), [0.8, 0.8], 1e-7, 1e-6);
    // dL/dP₁ = −2(G·B − A·P)/B² with A = 2, B = 2.5: voxel 0 → −0.48, voxel 1 → 0.32.
    // Through softmax (P = ½): dz₁ = ¼·dL/dP₁, dz₀ = −¼·dL/dP₁.
    expectClose(await takeGrad(z), [0.12, -0.12, -0.08, 0.08], 1e-7, 1e-5);
    const withBg = softmaxDiceLoss(Tensor.from(rt, [0, 0, 0, 0], [2, 2]), lab, { includeBackground: true });
    expectClose(await withBg.readF32(), [0.4], 1e-7, 1e-6);
    for (const t of [loss, dice, lab, withBg]) t.dispose();
  });

  it('is ≈ 0 for a perfect (huge-logit) prediction, with and without background', async () => {
    const rt = await gpu();
    const shape = [2, 6, 5, 7, 4];
    const n = size(shape) / 4;
    const labels = randomLabels(n, 4, 77);
    const z = new Float32Array(n * 4).fill(-200);
    labels.forEach((l, j) => (z[j * 4 + l] = 200));
    const zt = Tensor.from(rt, z, shape);
    const lt = Tensor.from(rt, labels, shape.slice(0, -1), 'u32');
    for (const includeBackground of [false, true]) {
      const { loss, dice } = softmaxDice(zt, lt, { includeBackground });
      expect(Math.abs(await loss.item())).toBeLessThan(1e-6);
      expectClose(await dice.readF32(), [1, 1, 1, 1], 1e-6, 0);
      loss.dispose();
      dice.dispose();
    }
    // And the worst prediction (every voxel confidently wrong) costs ≈ K − 1 without background.
    const wrong = new Float32Array(n * 4).fill(-200);
    labels.forEach((l, j) => (wrong[j * 4 + ((l + 1) % 4)] = 200));
    const wt = Tensor.from(rt, wrong, shape);
    const bad = softmaxDiceLoss(wt, lt, { smooth: 1e-6 });
    expect(await bad.item()).toBeCloseTo(3, 4);
    for (const t of [zt, lt, wt, bad]) t.dispose();
  });

  it('matches a Dice loss composed from tfjs-cpu ops, value and gradient', async () => {
    const rt = await gpu();
    const shape = [2, 4, 5, 3, 4];
    const c = 4;
    const z = randomArray(size(shape), 88, -2, 2);
    const labels = randomLabels(size(shape) / c, c, 89);
    const zt = requireGrad(Tensor.from(rt, z, shape));
    const lt = Tensor.from(rt, labels, shape.slice(0, -1), 'u32');
    const loss = tidy(() => {
      const l = softmaxDiceLoss(zt, lt, { smooth: 1 });
      backward(l);
      return l;
    });
    const g = tf.reshape(tf.oneHot(tf.tensor(Array.from(labels), undefined, 'int32'), c), [-1, c]);
    const diceLoss = (v: tf.Tensor) => {
      const p = tf.softmax(tf.reshape(v, [-1, c]));
      const num = tf.add(tf.mul(2, tf.sum(tf.mul(p, g), 0)), 1);
      const den = tf.add(tf.add(tf.sum(tf.mul(p, p), 0), tf.sum(tf.mul(g, g), 0)), 1);
      const perClass = tf.slice(tf.sub(1, tf.div(num, den)), [1], [c - 1]); // background excluded
      return tf.sum(perClass);
    };
    const tz = tf.tensor(z, shape);
    const want = diceLoss(tz);
    const wantGrad = tf.grad(diceLoss)(tz);
    expectClose(await loss.readF32(), await want.data(), 1e-5, 1e-5);
    const wg = await wantGrad.data();
    expectClose(await takeGrad(zt), wg, 1e-4 * Math.max(...Array.from(wg, Math.abs)), 1e-3);
    loss.dispose();
    lt.dispose();
    tf.dispose([g, tz, want, wantGrad]);
  });

  it('gradient matches finite differences (labels and one-hot truth)', async () => {
    const rt = await gpu();
    const shape = [2, 3, 2, 4];
    const labels = randomLabels(12, 4, 5);
    const lt = Tensor.from(rt, labels, [2, 3, 2], 'u32');
    const oh = Tensor.from(rt, oneHotRef(labels, 4), shape);
    for (const truth of [lt, oh]) {
      const res = await gradCheck(rt, ([z]) => softmaxDiceLoss(z!, truth, { includeBackground: true }), [
        { data: randomArray(size(shape), 6, -2, 2), shape },
      ], { samples: 16 });
      expect(res.ok, JSON.stringify(res.failures)).toBe(true);
    }
    lt.dispose();
    oh.dispose();
  });

  it('frees its temporaries: without grad only the loss survives the scope', async () => {
    const rt = await gpu();
    const z = Tensor.from(rt, randomArray(2 * 5 * 4, 9), [2, 5, 4]);
    const lt = Tensor.from(rt, randomLabels(10, 4, 9), [2, 5], 'u32');
    const before = rt.liveTensors;
    const loss = softmaxDiceLoss(z, lt);
    expect(rt.liveTensors).toBe(before + 1);
    loss.dispose();
    const zg = requireGrad(Tensor.from(rt, randomArray(2 * 5 * 4, 10), [2, 5, 4]));
    const base = rt.liveTensors;
    for (let step = 0; step < 3; step++) {
      tidy(() => backward(softmaxDiceLoss(zg, lt)));
      expect(rt.liveTensors).toBe(base + 1); // + zg.grad
    }
    zg.grad!.dispose();
    for (const t of [z, lt, zg]) t.dispose();
  });

  it('rejects mismatched shapes, wrong dtypes, bad options and disposed tensors, clearly', async () => {
    const rt = await gpu();
    const z = Tensor.from(rt, randomArray(2 * 3 * 4, 1), [2, 3, 4]);
    const labWrong = Tensor.from(rt, [0, 1, 2, 3, 0, 1, 2, 3], [2, 4], 'u32');
    expect(() => softmaxDiceLoss(z, labWrong)).toThrow(ShapeError);
    expect(() => softmaxDiceLoss(z, labWrong)).toThrow(/softmaxDiceLoss: labels \[2, 4\] must have the logits' shape without the channel axis, \[2, 3\]/);
    const labI32 = Tensor.from(rt, [0, 1, 2, 3, 0, 1], [2, 3], 'i32');
    expect(() => softmaxDiceLoss(z, labI32)).toThrow(DtypeError);
    expect(() => softmaxDiceLoss(z, labI32)).toThrow(/labels must be a u32 tensor of class indices \[2, 3\].*got i32/);
    const labF32 = Tensor.from(rt, [0, 1, 2, 3, 0, 1], [2, 3]);
    expect(() => softmaxDiceLoss(z, labF32)).toThrow(/an f32 ground truth is a one-hot map and must match the logits \[2, 3, 4\]/);
    const lab = Tensor.from(rt, [0, 1, 2, 3, 0, 1], [2, 3], 'u32');
    expect(() => softmaxDiceLoss(lab, lab)).toThrow(/softmaxDiceLoss \(logits\): expected a f32 tensor, got u32/);
    const one = Tensor.from(rt, [1, 2, 3], [3, 1]);
    const lab3 = Tensor.from(rt, [0, 0, 0], [3], 'u32');
    expect(() => softmaxDiceLoss(one, lab3)).toThrow(/softmaxDiceLoss: logits \[3, 1\] have 1 classes on the last axis; expected 2\.\.64/);
    const flat = Tensor.from(rt, [1, 2], [2]);
    expect(() => softmaxDiceLoss(flat, lab3)).toThrow(/logits must be channels-last \[\.\.\., C\]/);
    expect(() => softmaxDiceLoss(z, lab, { classWeights: [1, 1] })).toThrow(InputError);
    expect(() => softmaxDiceLoss(z, lab, { classWeights: [1, 1] })).toThrow(/2 class weights given for 4 classes/);
    expect(() => softmaxDiceLoss(z, lab, { smooth: -1 })).toThrow(/smooth must be a finite number >= 0, got -1/);
    expect(() => weightedSum([], [])).toThrow(/weightedSum: no losses given/);
    expect(() => weightedSum([one], [1, 2])).toThrow(/weightedSum: 1 losses but 2 weights/);
    expect(() => weightedSum([one, flat], [1, 2])).toThrow(/weightedSum: loss 1 has shape \[2\], loss 0 has \[3, 1\]/);
    lab.dispose();
    expect(() => softmaxDiceLoss(z, lab)).toThrow(DisposedTensorError);
    for (const t of [z, labWrong, labI32, labF32, one, lab3, flat]) t.dispose();
  });
});

describe('weightedSum and l2Penalty', () => {
  it('deep supervision: Σ w_t L_t of several Dice losses, value and gradient', async () => {
    const rt = await gpu();
    const shapes = [[2, 6, 6, 4], [2, 3, 3, 4]];
    const weights = [1, 0.5];
    const zs = shapes.map((s, k) => randomArray(size(s), 60 + k, -2, 2));
    const labs = shapes.map((s, k) => randomLabels(size(s) / 4, 4, 70 + k));
    const lts = shapes.map((s, k) => Tensor.from(rt, labs[k]!, s.slice(0, -1), 'u32'));
    const zts = shapes.map((s, k) => requireGrad(Tensor.from(rt, zs[k]!, s)));
    const total = tidy(() => {
      const t = weightedSum(zts.map((z, k) => softmaxDiceLoss(z, lts[k]!)), weights);
      backward(t);
      return t;
    });
    const refs = shapes.map((_, k) => diceRef(zs[k]!, oneHotRef(labs[k]!, 4), 4));
    expectClose(await total.readF32(), [weights[0]! * refs[0]!.loss + weights[1]! * refs[1]!.loss], 1e-5, 1e-5);
    for (let k = 0; k < 2; k++) {
      const want = diceGradRef(zs[k]!, oneHotRef(labs[k]!, 4), 4).map((v) => v * weights[k]!);
      expectClose(await takeGrad(zts[k]!), want, 1e-4 * Math.max(...want.map(Math.abs)), 1e-3);
    }
    total.dispose();
    for (const t of lts) t.dispose();
    const res = await gradCheck(rt, ([a, b]) => weightedSum([a!, b!], [0.3, -2]), [
      { data: randomArray(3, 1), shape: [3] },
      { data: randomArray(3, 2), shape: [3] },
    ]);
    expect(res.ok, JSON.stringify(res.failures)).toBe(true);
  });

  it('l2Penalty is λ Σ‖W‖² with gradient 2λW', async () => {
    const rt = await gpu();
    const a = randomArray(7, 3), b = randomArray(2 * 3 * 5, 4);
    const wa = requireGrad(Tensor.from(rt, a, [7]));
    const wb = requireGrad(Tensor.from(rt, b, [2, 3, 5]));
    const lambda = 0.05;
    const pen = tidy(() => {
      const p = l2Penalty([wa, wb], lambda);
      backward(p);
      return p;
    });
    let sq = 0;
    for (const v of [...a, ...b]) sq += v * v;
    expect([...pen.shape]).toEqual([1]);
    expectClose(await pen.readF32(), [lambda * sq], 1e-6, 1e-5);
    expectClose(await takeGrad(wa), Array.from(a, (v) => 2 * lambda * v), 1e-7, 1e-5);
    expectClose(await takeGrad(wb), Array.from(b, (v) => 2 * lambda * v), 1e-7, 1e-5);
    pen.dispose();
  });
});
