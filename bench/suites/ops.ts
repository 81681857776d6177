/**
 * Op rows other than convolution, at CAC-Net's real shapes: the demo network
 * (DEMO_CONFIG) on the shipped training patch 16x64x64, batch 1. Each op is
 * timed forward alone and forward+backward (what a training step runs); every
 * engine reads all its outputs back to the host before the clock stops.
 *
 * Where tfjs has no such op we compose it from tfjs ops as a tfjs user would,
 * and the row's note says so.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { Tensor } from '../../src/gpu/tensor.js';
import { tidy } from '../../src/gpu/scope.js';
import { backward, requireGrad } from '../../src/autograd/tape.js';
import { maxPool3d } from '../../src/autograd/pool.js';
import { upsampleBilinear2d, upsampleTrilinear3d } from '../../src/autograd/resize.js';
import { batchNorm, groupNorm } from '../../src/autograd/norm.js';
import { softmaxDice } from '../../src/autograd/loss.js';
import type { Row, Work } from '../lib/harness.js';
import { fmtShape, ours, prod, randomArray, randomTensor, tfjsPair, type BenchContext } from '../lib/context.js';
import type { Tf } from '../lib/tfjs.js';

const F32 = 4;

/** Reads leaves' gradients back (first one returned), then drops them. */
async function readGrads(ts: readonly Tensor[]): Promise<Float32Array> {
  let first: Float32Array | null = null;
  for (const t of ts) {
    const g = await t.grad!.readF32();
    first ??= g;
    t.grad!.dispose();
    t.grad = null;
  }
  return first!;
}

async function readTf(tf: Tf, ts: TF.Tensor | readonly TF.Tensor[]): Promise<Float32Array> {
  const list = Array.isArray(ts) ? (ts as TF.Tensor[]) : [ts as TF.Tensor];
  let first: Float32Array | null = null;
  for (const t of list) {
    const d = (await t.data()) as Float32Array;
    first ??= d;
  }
  tf.dispose(list);
  return first!;
}

/**
 * Trilinear resize (half-pixel centres) composed from tfjs ops, as a tfjs user
 * has to: tfjs has no 3D resize. H and W by tf.image.resizeBilinear on
 * [N*D, H, W, C]; D by two gathers and a lerp on a [N, D, OH*OW*C] view. (A
 * second resizeBilinear over a [N, D, OH*OW, C] "image" would be shorter, but
 * tfjs-cpu 4.22's ResizeBilinearGrad returns a wrong shape for non-square
 * images, and rank-5 broadcasts fail to compile in tfjs-webgpu 4.22, hence 3D.)
 */
export function tfTrilinear(tf: Tf, x: TF.Tensor, size: readonly [number, number, number]): TF.Tensor {
  const [n, d, h, w, c] = x.shape as [number, number, number, number, number];
  const [od, oh, ow] = size;
  const hw = tf.image.resizeBilinear(tf.reshape(x, [n * d, h, w, c]) as TF.Tensor4D, [oh, ow], false, true);
  const v = tf.reshape(hw, [n, d, oh * ow * c]);
  const i0: number[] = [];
  const i1: number[] = [];
  const wt: number[] = [];
  for (let o = 0; o < od; o++) {
    const src = Math.max(0, ((o + 0.5) * d) / od - 0.5);
    const lo = Math.min(Math.floor(src), d - 1);
    i0.push(lo);
    i1.push(Math.min(lo + 1, d - 1));
    wt.push(src - lo);
  }
  const a = tf.gather(v, tf.tensor1d(i0, 'int32'), 1);
  const b = tf.gather(v, tf.tensor1d(i1, 'int32'), 1);
  const t = tf.tensor3d(wt, [1, od, 1]);
  return tf.reshape(tf.add(a, tf.mul(tf.sub(b, a), t)), [n, od, oh, ow, c]);
}

/** y * gamma + beta per channel, on a [-1, C] view (rank-5 broadcasts do not compile in tfjs-webgpu 4.22). */
export function tfChannelAffine(tf: Tf, y: TF.Tensor, gamma: TF.Tensor | null, beta: TF.Tensor | null): TF.Tensor {
  const c = y.shape[y.rank - 1]!;
  let v = tf.reshape(y, [-1, c]);
  if (gamma) v = tf.mul(v, gamma);
  if (beta) v = tf.add(v, beta);
  return tf.reshape(v, y.shape);
}

/** Group norm composed from tfjs ops (tfjs has none). Channels-last, groups of consecutive channels. */
export function tfGroupNorm(tf: Tf, x: TF.Tensor, gamma: TF.Tensor, beta: TF.Tensor, groups: number, eps = 1e-5): TF.Tensor {
  const shape = x.shape;
  const c = shape[shape.length - 1]!;
  const n = shape[0]!;
  const g = tf.reshape(x, [n, -1, groups, c / groups]);
  const { mean, variance } = tf.moments(g, [1, 3], true);
  const xhat = tf.mul(tf.sub(g, mean), tf.rsqrt(tf.add(variance, eps)));
  return tfChannelAffine(tf, tf.reshape(xhat, shape), gamma, beta);
}

/** Batch norm in training mode as tfjs users write it: moments over every axis but channels, then tf.batchNorm. */
export function tfBatchNorm(tf: Tf, x: TF.Tensor, gamma: TF.Tensor, beta: TF.Tensor, eps = 1e-5): { y: TF.Tensor; mean: TF.Tensor; variance: TF.Tensor } {
  const c = x.shape[x.rank - 1]!;
  const v = x.rank === 4 ? x : tf.reshape(x, [1, 1, -1, c]);
  const { mean, variance } = tf.moments(v, [0, 1, 2]);
  const y = tf.batchNorm(v, mean, variance, beta, gamma, eps);
  return { y: x.rank === 4 ? y : tf.reshape(y, x.shape), mean, variance };
}

/**
 * Softmax over channels and the multi-class Dice loss of eq. 3 (background left
 * out, smooth added to numerator and denominator), composed from tfjs ops on a
 * [voxels, C] view.
 */
export function tfSoftmaxDice(tf: Tf, logits: TF.Tensor, labels: TF.Tensor, classes: number, smooth = 1, weights?: TF.Tensor): TF.Tensor {
  const p = tf.softmax(tf.reshape(logits, [-1, classes]) as TF.Tensor2D);
  const onehot = tf.oneHot(tf.reshape(labels, [-1]) as TF.Tensor1D, classes);
  const inter = tf.sum(tf.mul(p, onehot), 0);
  const pp = tf.sum(tf.square(p), 0);
  const gg = tf.sum(onehot, 0); // one-hot: G² = G
  const dice = tf.div(tf.add(tf.mul(inter, 2), smooth), tf.add(tf.add(pp, gg), smooth));
  const w = weights ?? tf.tensor1d(Array.from({ length: classes }, (_, i) => (i === 0 ? 0 : 1)));
  return tf.sum(tf.mul(tf.sub(1, dice), w));
}

export function opRows(ctx: BenchContext): Row[] {
  const { rt } = ctx;
  const rows: Row[] = [];
  const group = 'ops (demo network, patch 16x64x64)';

  // ---- max pooling 3D: 3D U-Net level 0 -> 1 --------------------------------
  {
    const xs = [1, 16, 64, 64, 4];
    const n = prod(xs);
    const ys = [1, 8, 32, 32, 4];
    const x = randomArray(n, 11);
    const dy = randomArray(n / 8, 12);
    const shape = `${fmtShape(xs)} -> ${fmtShape(ys)}, 2x2x2`;
    rows.push({
      group, name: 'maxPool3d forward', spec: { op: 'maxpool3d', pass: 'forward', x: xs }, shape,
      roof: { kind: 'bandwidth', amount: F32 * (n + n / 8) },
      contenders: [
        ours(() => {
          const tx = Tensor.from(rt, x, xs);
          return { run: async () => { const y = tidy(() => maxPool3d(tx)); const o = await y.readF32(); y.dispose(); return o; }, free: () => tx.dispose() };
        }),
        ...tfjsPair(ctx, (tf) => {
          const tx = tf.tensor5d(x, xs as [number, number, number, number, number]);
          return { run: () => readTf(tf, tf.maxPool3d(tx, 2, 2, 'valid')), free: () => tx.dispose() };
        }),
      ],
    });
    rows.push({
      group, name: 'maxPool3d forward+backward', spec: { op: 'maxpool3d', pass: 'forward_backward', x: xs }, shape,
      roof: { kind: 'bandwidth', amount: F32 * (2 * n + n / 8) },
      contenders: [
        ours(() => {
          const tx = requireGrad(Tensor.from(rt, x, xs));
          const tdy = Tensor.from(rt, dy, ys);
          return {
            run: async () => { tidy(() => backward(maxPool3d(tx), tdy)); return readGrads([tx]); },
            free: () => { tx.dispose(); tdy.dispose(); },
          };
        }),
        ...tfjsPair(ctx, (tf) => {
          const tx = tf.tensor5d(x, xs as [number, number, number, number, number]);
          const tdy = tf.tensor(dy, ys);
          const g = tf.grads((a: TF.Tensor) => tf.maxPool3d(a as TF.Tensor5D, 2, 2, 'valid'));
          return { run: () => readTf(tf, g([tx], tdy)), free: () => tf.dispose([tx, tdy]) };
        }),
      ],
    });
  }

  // ---- bilinear x2: U-DenseNet up path, 32x32 -> 64x64, width 24 -------------
  {
    const xs = [16, 32, 32, 24];
    const ys = [16, 64, 64, 24];
    const nIn = prod(xs);
    const nOut = prod(ys);
    const x = randomArray(nIn, 21);
    const dy = randomArray(nOut, 22);
    const shape = `${fmtShape(xs)} -> ${fmtShape(ys)}, half-pixel`;
    rows.push({
      group, name: 'bilinear up-sampling forward', spec: { op: 'bilinear', pass: 'forward', x: xs, size: [64, 64] }, shape,
      roof: { kind: 'bandwidth', amount: F32 * (nIn + nOut) },
      contenders: [
        ours(() => {
          const tx = Tensor.from(rt, x, xs);
          return { run: async () => { const y = tidy(() => upsampleBilinear2d(tx, { scale: 2 })); const o = await y.readF32(); y.dispose(); return o; }, free: () => tx.dispose() };
        }),
        ...tfjsPair(ctx, (tf) => {
          const tx = tf.tensor4d(x, xs as [number, number, number, number]);
          return { run: () => readTf(tf, tf.image.resizeBilinear(tx, [64, 64], false, true)), free: () => tx.dispose() };
        }),
      ],
    });
    rows.push({
      group, name: 'bilinear up-sampling forward+backward', spec: { op: 'bilinear', pass: 'forward_backward', x: xs, size: [64, 64] }, shape,
      roof: { kind: 'bandwidth', amount: F32 * (2 * nIn + nOut) },
      note: "tfjs 4.22's ResizeBilinearGrad ignores halfPixelCenters, so its gradient is not that of its own forward (the diff column shows it)",
      contenders: [
        ours(() => {
          const tx = requireGrad(Tensor.from(rt, x, xs));
          const tdy = Tensor.from(rt, dy, ys);
          return {
            run: async () => { tidy(() => backward(upsampleBilinear2d(tx, { scale: 2 }), tdy)); return readGrads([tx]); },
            free: () => { tx.dispose(); tdy.dispose(); },
          };
        }),
        ...tfjsPair(ctx, (tf) => {
          const tx = tf.tensor4d(x, xs as [number, number, number, number]);
          const tdy = tf.tensor(dy, ys);
          const g = tf.grads((a: TF.Tensor) => tf.image.resizeBilinear(a as TF.Tensor4D, [64, 64], false, true));
          return { run: () => readTf(tf, g([tx], tdy)), free: () => tf.dispose([tx, tdy]) };
        }),
      ],
    });
  }

  // ---- trilinear x2: 3D U-Net decoder level 1 -> 0, width 8 ------------------
  {
    const xs = [1, 8, 32, 32, 8];
    const ys = [1, 16, 64, 64, 8];
    const nIn = prod(xs);
    const nOut = prod(ys);
    const x = randomArray(nIn, 31);
    const dy = randomArray(nOut, 32);
    const shape = `${fmtShape(xs)} -> ${fmtShape(ys)}, half-pixel`;
    const note = 'tfjs has no trilinear resize: composed as resizeBilinear over (H,W), then two gathers and a lerp over D';
    rows.push({
      group, name: 'trilinear up-sampling forward', spec: { op: 'trilinear', pass: 'forward', x: xs, size: [16, 64, 64] }, shape, note,
      roof: { kind: 'bandwidth', amount: F32 * (nIn + nOut) },
      contenders: [
        ours(() => {
          const tx = Tensor.from(rt, x, xs);
          return { run: async () => { const y = tidy(() => upsampleTrilinear3d(tx, { scale: 2 })); const o = await y.readF32(); y.dispose(); return o; }, free: () => tx.dispose() };
        }),
        ...tfjsPair(ctx, (tf) => {
          const tx = tf.tensor(x, xs);
          return { run: () => readTf(tf, tf.tidy(() => tfTrilinear(tf, tx, [16, 64, 64]))), free: () => tx.dispose() };
        }),
      ],
    });
    rows.push({
      group, name: 'trilinear up-sampling forward+backward', spec: { op: 'trilinear', pass: 'forward_backward', x: xs, size: [16, 64, 64] }, shape, note: `${note}; tf.grads through it (its bilinear part has the ResizeBilinearGrad mapping bug, see bilinear)`,
      roof: { kind: 'bandwidth', amount: F32 * (2 * nIn + nOut) },
      contenders: [
        ours(() => {
          const tx = requireGrad(Tensor.from(rt, x, xs));
          const tdy = Tensor.from(rt, dy, ys);
          return {
            run: async () => { tidy(() => backward(upsampleTrilinear3d(tx, { scale: 2 }), tdy)); return readGrads([tx]); },
            free: () => { tx.dispose(); tdy.dispose(); },
          };
        }),
        ...tfjsPair(ctx, (tf) => {
          const tx = tf.tensor(x, xs);
          const tdy = tf.tensor(dy, ys);
          const g = tf.grads((a: TF.Tensor) => tfTrilinear(tf, a, [16, 64, 64]));
          return { run: () => readTf(tf, g([tx], tdy)), free: () => tf.dispose([tx, tdy]) };
        }),
      ],
    });
  }

  // ---- batch norm (training): U-DenseNet dense block 0, layer 1 input -------
  {
    const xs = [16, 64, 64, 16];
    const c = 16;
    const n = prod(xs);
    const x = randomArray(n, 41, -2, 3);
    const dy = randomArray(n, 42);
    const gamma = randomArray(c, 43, 0.5, 1.5);
    const beta = randomArray(c, 44);
    const shape = `${fmtShape(xs)}, batch statistics`;
    const note = 'tfjs: tf.moments + tf.batchNorm (no running-average update on either side of this row)';
    const oursNorm = (train: boolean) => ours(() => {
      const tx = Tensor.from(rt, x, xs);
      const tg = Tensor.from(rt, gamma, [c]);
      const tb = Tensor.from(rt, beta, [c]);
      const state = { runningMean: Tensor.from(rt, new Float32Array(c), [c]), runningVar: Tensor.from(rt, new Float32Array(c).fill(1), [c]), momentum: 0.1, eps: 1e-5 };
      const free = () => [tx, tg, tb, state.runningMean, state.runningVar].forEach((t) => t.dispose());
      if (!train) return { run: async () => { const y = tidy(() => batchNorm(tx, tg, tb, state, true)); const o = await y.readF32(); y.dispose(); return o; }, free };
      [tx, tg, tb].forEach((t) => requireGrad(t));
      const tdy = Tensor.from(rt, dy, xs);
      return {
        run: async () => { tidy(() => backward(batchNorm(tx, tg, tb, state, true), tdy)); return readGrads([tx, tg, tb]); },
        free: () => { free(); tdy.dispose(); },
      };
    });
    rows.push({
      group, name: 'batch norm forward', spec: { op: 'batchnorm', pass: 'forward', x: xs }, shape, note,
      roof: { kind: 'bandwidth', amount: F32 * 2 * n },
      contenders: [
        oursNorm(false),
        ...tfjsPair(ctx, (tf) => {
          const [tx, tg, tb] = [tf.tensor(x, xs), tf.tensor1d(gamma), tf.tensor1d(beta)];
          return { run: () => readTf(tf, tf.tidy(() => tfBatchNorm(tf, tx, tg, tb).y)), free: () => tf.dispose([tx, tg, tb]) };
        }),
      ],
    });
    rows.push({
      group, name: 'batch norm forward+backward', spec: { op: 'batchnorm', pass: 'forward_backward', x: xs }, shape, note: `${note}; gradients to x, gamma, beta`,
      roof: { kind: 'bandwidth', amount: F32 * 3 * n },
      contenders: [
        oursNorm(true),
        ...tfjsPair(ctx, (tf) => {
          const [tx, tg, tb, tdy] = [tf.tensor(x, xs), tf.tensor1d(gamma), tf.tensor1d(beta), tf.tensor(dy, xs)];
          const g = tf.grads((a: TF.Tensor, b: TF.Tensor, d: TF.Tensor) => tfBatchNorm(tf, a, b, d).y);
          return { run: () => readTf(tf, g([tx, tg, tb], tdy)), free: () => tf.dispose([tx, tg, tb, tdy]) };
        }),
      ],
    });
  }

  // ---- group norm: 3D U-Net level 0, 4 channels in 2 groups -----------------
  {
    const xs = [1, 16, 64, 64, 4];
    const c = 4;
    const groups = 2;
    const n = prod(xs);
    const x = randomArray(n, 51, -2, 3);
    const dy = randomArray(n, 52);
    const gamma = randomArray(c, 53, 0.5, 1.5);
    const beta = randomArray(c, 54);
    const shape = `${fmtShape(xs)}, ${groups} groups`;
    const note = 'tfjs has no group norm: composed from reshape + tf.moments + arithmetic (per-channel affine on a [-1, C] view: rank-5 broadcasts do not compile in tfjs-webgpu 4.22)';
    const oursGn = (train: boolean) => ours(() => {
      const tx = Tensor.from(rt, x, xs);
      const tg = Tensor.from(rt, gamma, [c]);
      const tb = Tensor.from(rt, beta, [c]);
      const free = () => [tx, tg, tb].forEach((t) => t.dispose());
      if (!train) return { run: async () => { const y = tidy(() => groupNorm(tx, tg, tb, groups)); const o = await y.readF32(); y.dispose(); return o; }, free };
      [tx, tg, tb].forEach((t) => requireGrad(t));
      const tdy = Tensor.from(rt, dy, xs);
      return {
        run: async () => { tidy(() => backward(groupNorm(tx, tg, tb, groups), tdy)); return readGrads([tx, tg, tb]); },
        free: () => { free(); tdy.dispose(); },
      };
    });
    rows.push({
      group, name: 'group norm forward', spec: { op: 'groupnorm', pass: 'forward', x: xs, groups }, shape, note,
      roof: { kind: 'bandwidth', amount: F32 * 2 * n },
      contenders: [
        oursGn(false),
        ...tfjsPair(ctx, (tf) => {
          const [tx, tg, tb] = [tf.tensor(x, xs), tf.tensor1d(gamma), tf.tensor1d(beta)];
          return { run: () => readTf(tf, tf.tidy(() => tfGroupNorm(tf, tx, tg, tb, groups))), free: () => tf.dispose([tx, tg, tb]) };
        }),
      ],
    });
    rows.push({
      group, name: 'group norm forward+backward', spec: { op: 'groupnorm', pass: 'forward_backward', x: xs, groups }, shape, note: `${note}; gradients to x, gamma, beta`,
      roof: { kind: 'bandwidth', amount: F32 * 3 * n },
      contenders: [
        oursGn(true),
        ...tfjsPair(ctx, (tf) => {
          const [tx, tg, tb, tdy] = [tf.tensor(x, xs), tf.tensor1d(gamma), tf.tensor1d(beta), tf.tensor(dy, xs)];
          const g = tf.grads((a: TF.Tensor, b: TF.Tensor, d: TF.Tensor) => tfGroupNorm(tf, a, b, d, groups));
          return { run: () => readTf(tf, g([tx, tg, tb], tdy)), free: () => tf.dispose([tx, tg, tb, tdy]) };
        }),
      ],
    });
  }

  // ---- softmax + multi-class Dice: the 3D U-Net's final logits ---------------
  {
    const ls = [1, 16, 64, 64, 4];
    const classes = 4;
    const voxels = prod(ls) / classes;
    const logits = randomArray(voxels * classes, 61, -3, 3);
    const r = randomArray(voxels, 62, 0, 1);
    const labels = Uint32Array.from(r, (v) => (v < 0.9 ? 0 : 1 + Math.floor((v - 0.9) * 30) % 3));
    const shape = `logits ${fmtShape(ls)}, u32 labels`;
    const note = 'tfjs: softmax, oneHot and sums composed on a [voxels, C] view (eq. 3, background left out, smooth 1)';
    const oursDice = (train: boolean) => ours(() => {
      const tl = Tensor.from(rt, logits, ls);
      const ty = Tensor.from(rt, labels, ls.slice(0, -1), 'u32');
      if (!train) {
        return {
          run: async () => { const l = tidy(() => { const d = softmaxDice(tl, ty); d.dice.dispose(); return d.loss; }); const o = await l.readF32(); l.dispose(); return o; },
          free: () => { tl.dispose(); ty.dispose(); },
        };
      }
      requireGrad(tl);
      return {
        run: async () => { tidy(() => backward(softmaxDice(tl, ty).loss)); return readGrads([tl]); },
        free: () => { tl.dispose(); ty.dispose(); },
      };
    });
    const tfDice = (train: boolean) => tfjsPair(ctx, (tf) => {
      const tl = tf.tensor(logits, ls);
      const ty = tf.tensor(Int32Array.from(labels), ls.slice(0, -1), 'int32');
      if (!train) return { run: () => readTf(tf, tf.tidy(() => tfSoftmaxDice(tf, tl, ty, classes))), free: () => tf.dispose([tl, ty]) };
      const g = tf.grads((a: TF.Tensor) => tfSoftmaxDice(tf, a, ty, classes));
      return { run: () => readTf(tf, g([tl])), free: () => tf.dispose([tl, ty]) };
    });
    rows.push({
      group, name: 'softmax + Dice loss forward', spec: { op: 'softmax_dice', pass: 'forward', x: ls, classes }, shape, note,
      roof: { kind: 'bandwidth', amount: F32 * (voxels * classes + voxels) },
      contenders: [oursDice(false), ...tfDice(false)],
    });
    rows.push({
      group, name: 'softmax + Dice loss forward+backward', spec: { op: 'softmax_dice', pass: 'forward_backward', x: ls, classes }, shape, note,
      roof: { kind: 'bandwidth', amount: F32 * (2 * voxels * classes + voxels) },
      contenders: [oursDice(true), ...tfDice(true)],
    });
  }
  return rows;
}

/** For other suites: a cacnet Work that reads one tensor produced in a scope. */
export function readOne(make: () => Tensor): Work['run'] {
  return async () => {
    const y = tidy(make);
    const o = await y.readF32();
    y.dispose();
    return o;
  };
}

export { randomTensor };
