import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core alone registers no gradients; tf.grads needs them.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { Tensor, tidy } from '../src/gpu/index.js';
import type { Runtime } from '../src/gpu/runtime.js';
import { DisposedTensorError, DtypeError, ShapeError } from '../src/base/errors.js';
import { batchNorm, groupNorm, type BatchNormState } from '../src/autograd/norm.js';
import { backward, requireGrad } from '../src/autograd/tape.js';
import { gradCheck } from '../src/autograd/gradcheck.js';
import { expectClose, gpu, gpuFamily, randomArray } from './helpers/gpu.js';
import { batchNormEvalRef, batchNormGradRef, batchNormRef, groupNormGradRef, groupNormRef, runningUpdateRef } from './reference/norm.js';

const EPS = 1e-5;
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Per-channel offsets and spreads, so channels differ and the mean is not ~0. */
function channelData(shape: readonly number[], seed: number, offset = 2): Float32Array {
  const c = shape[shape.length - 1]!;
  const base = randomArray(size(shape), seed);
  return base.map((v, i) => offset * Math.sin(i % c) + v * (1 + (i % c) / c));
}

function bnState(rt: Runtime, c: number, seed: number, momentum = 0.1): { state: BatchNormState; mean: Float32Array; variance: Float32Array } {
  const mean = randomArray(c, seed, -0.5, 0.5);
  const variance = randomArray(c, seed + 1, 0.5, 2);
  return {
    state: { runningMean: Tensor.from(rt, mean, [c]), runningVar: Tensor.from(rt, variance, [c]), momentum, eps: EPS },
    mean,
    variance,
  };
}

function disposeState(s: BatchNormState): void {
  s.runningMean.dispose();
  s.runningVar.dispose();
}

/** Runs op forward and backward with dL/dy = dy; returns y and the three gradients. */
async function forwardBackward(rt: Runtime, shape: number[], x: Float32Array, gamma: Float32Array, beta: Float32Array, dy: Float32Array,
  op: (x: Tensor, g: Tensor, b: Tensor) => Tensor): Promise<{ y: Float32Array; dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array }> {
  const c = shape[shape.length - 1]!;
  const xt = requireGrad(Tensor.from(rt, x, shape));
  const gt = requireGrad(Tensor.from(rt, gamma, [c]));
  const bt = requireGrad(Tensor.from(rt, beta, [c]));
  const y = tidy(() => {
    const out = op(xt, gt, bt);
    backward(out, Tensor.from(rt, dy, shape));
    return out;
  });
  const result = { y: await y.readF32(), dx: await xt.grad!.readF32(), dgamma: await gt.grad!.readF32(), dbeta: await bt.grad!.readF32() };
  for (const t of [y, xt.grad!, gt.grad!, bt.grad!, xt, gt, bt]) t.dispose();
  return result;
}

const BN_SHAPES: number[][] = [
  [2, 5, 7, 3], // odd sizes, C not a multiple of 4 (scalar path)
  [2, 3, 5, 8], // vec4 path
  [2, 30, 50, 5], // N·H·W = 3000: several partial chunks, then a combine pass
  [1, 40, 75, 4], // 3000 rows on the vec4 path
  [2, 3, 4, 5, 6], // NDHWC, stats over N·D·H·W
  [1, 3, 5, 67], // more channels than one workgroup's lanes (scalar)
  [2, 2, 3, 260], // more channel vectors than one workgroup's lanes (vec4)
];

/**
 * The adapter's reduction plan, and a big GPU's (132 compute units: short
 * register runs, many chunks, several combine passes), forced on this adapter.
 */
const PLANS: Array<[string, () => Promise<Runtime>]> = [
  ['', gpu],
  [', big-GPU plan', () => gpuFamily('gpu', 132)],
];

describe('batch norm forward', () => {
  for (const shape of BN_SHAPES) {
    it(`training ${JSON.stringify(shape)} matches float64, running stats updated (PyTorch convention)`, async () => {
      const rt = await gpu();
      const c = shape[shape.length - 1]!;
      const x = channelData(shape, 1);
      const gamma = randomArray(c, 2, 0.5, 1.5);
      const beta = randomArray(c, 3);
      const { state, mean, variance } = bnState(rt, c, 4, 0.3);
      const y = tidy(() => batchNorm(Tensor.from(rt, x, shape), Tensor.from(rt, gamma, [c]), Tensor.from(rt, beta, [c]), state, true));
      expectClose(await y.readF32(), batchNormRef(x, shape, gamma, beta, EPS).y, 1e-4, 1e-4);
      const want = runningUpdateRef(x, shape, mean, variance, 0.3);
      expectClose(await state.runningMean.readF32(), want.mean, 1e-5, 1e-5);
      expectClose(await state.runningVar.readF32(), want.variance, 1e-5, 1e-4);
      y.dispose();
      disposeState(state);
    });
  }

  it('eval mode uses the running statistics and leaves them alone', async () => {
    const rt = await gpu();
    for (const shape of [[2, 5, 7, 3], [2, 3, 4, 5, 8]]) {
      const c = shape[shape.length - 1]!;
      const x = channelData(shape, 5);
      const gamma = randomArray(c, 6, 0.5, 1.5);
      const beta = randomArray(c, 7);
      const { state, mean, variance } = bnState(rt, c, 8);
      const y = tidy(() => batchNorm(Tensor.from(rt, x, shape), Tensor.from(rt, gamma, [c]), Tensor.from(rt, beta, [c]), state, false));
      expectClose(await y.readF32(), batchNormEvalRef(x, shape, gamma, beta, mean, variance, EPS), 1e-5, 1e-5);
      expectClose(await state.runningMean.readF32(), mean, 0, 0);
      expectClose(await state.runningVar.readF32(), variance, 0, 0);
      y.dispose();
      disposeState(state);
    }
  });

  it('fused ReLU matches relu(batch norm) in training and eval', async () => {
    const rt = await gpu();
    for (const shape of [[2, 5, 7, 3], [2, 3, 5, 8]]) {
      const c = shape[shape.length - 1]!;
      const x = channelData(shape, 9);
      const gamma = randomArray(c, 10, 0.5, 1.5);
      const beta = randomArray(c, 11);
      for (const training of [true, false]) {
        const { state, mean, variance } = bnState(rt, c, 12);
        const y = tidy(() => batchNorm(Tensor.from(rt, x, shape), Tensor.from(rt, gamma, [c]), Tensor.from(rt, beta, [c]), state, training, { relu: true }));
        const want = training ? batchNormRef(x, shape, gamma, beta, EPS, true).y : batchNormEvalRef(x, shape, gamma, beta, mean, variance, EPS, true);
        expectClose(await y.readF32(), want, 1e-4, 1e-4);
        y.dispose();
        disposeState(state);
      }
    }
  });

  it('keeps f32 accuracy when the mean is large against the spread', async () => {
    // Σx² − (Σx)²/n of raw values would lose every digit here; shifted sums do not.
    const rt = await gpu();
    const shape = [2, 30, 50, 4];
    const x = randomArray(size(shape), 13).map((v) => 1000 + v);
    const gamma = new Float32Array(4).fill(1);
    const beta = new Float32Array(4);
    const { state } = bnState(rt, 4, 14);
    const y = tidy(() => batchNorm(Tensor.from(rt, x, shape), Tensor.from(rt, gamma, [4]), Tensor.from(rt, beta, [4]), state, true));
    // x itself carries only ~6e-5 absolute precision at 1000, i.e. ~1e-4 after dividing by σ ≈ 0.58.
    expectClose(await y.readF32(), batchNormRef(x, shape, gamma, beta, EPS).y, 5e-4, 1e-4);
    y.dispose();
    disposeState(state);
  });

  it('two training steps compound the running statistics', async () => {
    const rt = await gpu();
    const shape = [2, 4, 5, 6];
    const x1 = channelData(shape, 15);
    const x2 = channelData(shape, 16, 4);
    const ones = new Float32Array(6).fill(1);
    const zeros = new Float32Array(6);
    const { state, mean, variance } = bnState(rt, 6, 17, 0.1);
    for (const x of [x1, x2]) tidy(() => batchNorm(Tensor.from(rt, x, shape), Tensor.from(rt, ones, [6]), Tensor.from(rt, zeros, [6]), state, true));
    const step1 = runningUpdateRef(x1, shape, mean, variance, 0.1);
    const step2 = runningUpdateRef(x2, shape, step1.mean, step1.variance, 0.1);
    expectClose(await state.runningMean.readF32(), step2.mean, 1e-5, 1e-5);
    expectClose(await state.runningVar.readF32(), step2.variance, 1e-5, 1e-4);
    disposeState(state);
  });
});

describe('batch norm backward', () => {
  const cases: Array<[number[], boolean, boolean]> = [
    // shape, training, relu
    [[2, 5, 7, 3], true, false],
    [[2, 3, 5, 8], true, false],
    [[2, 30, 50, 5], true, false],
    [[2, 3, 4, 5, 6], true, false],
    [[2, 5, 7, 3], false, false],
    [[2, 3, 5, 8], false, false],
    [[2, 5, 7, 3], true, true],
    [[2, 3, 5, 8], true, true],
    [[2, 3, 5, 8], false, true],
  ];
  for (const [plan, family] of PLANS) for (const [shape, training, relu] of plan ? cases.filter(([, t]) => t) : cases) {
    it(`${training ? 'training' : 'eval'}${relu ? ' +relu' : ''} ${JSON.stringify(shape)}${plan}: dx, dγ, dβ match float64`, async () => {
      const rt = await family();
      const c = shape[shape.length - 1]!;
      const x = channelData(shape, 20);
      const gamma = randomArray(c, 21, 0.5, 1.5);
      const beta = randomArray(c, 22);
      const dy = randomArray(size(shape), 23);
      const { state, mean, variance } = bnState(rt, c, 24);
      const got = await forwardBackward(rt, shape, x, gamma, beta, dy, (xt, gt, bt) => batchNorm(xt, gt, bt, state, training, { relu }));
      const want = batchNormGradRef(x, shape, gamma, beta, dy, EPS, { relu, ...(training ? {} : { running: { mean, variance } }) });
      expectClose(got.dx, want.dx, 1e-4, 1e-3);
      expectClose(got.dgamma, want.dgamma, 1e-3, 1e-4);
      expectClose(got.dbeta, want.dbeta, 1e-3, 1e-4);
      disposeState(state);
    });
  }

  it('training gradients for x, γ, β match finite differences (NHWC and NDHWC)', async () => {
    const rt = await gpu();
    for (const shape of [[2, 3, 3, 5], [2, 2, 2, 3, 4]]) {
      const c = shape[shape.length - 1]!;
      const { state } = bnState(rt, c, 30);
      const res = await gradCheck(rt, ([x, g, b]) => batchNorm(x!, g!, b!, state, true), [
        { data: channelData(shape, 31), shape },
        { data: randomArray(c, 32, 0.5, 1.5), shape: [c] },
        { data: randomArray(c, 33), shape: [c] },
      ]);
      expect(res.ok, `${JSON.stringify(shape)}: ${JSON.stringify(res.failures)}`).toBe(true);
      expect(res.checked).toBeGreaterThanOrEqual(20);
      disposeState(state);
    }
  });

  it('eval gradients for x, γ, β match finite differences', async () => {
    const rt = await gpu();
    const shape = [2, 3, 3, 5];
    const { state } = bnState(rt, 5, 34);
    const res = await gradCheck(rt, ([x, g, b]) => batchNorm(x!, g!, b!, state, false), [
      { data: channelData(shape, 35), shape },
      { data: randomArray(5, 36, 0.5, 1.5), shape: [5] },
      { data: randomArray(5, 37), shape: [5] },
    ]);
    expect(res.ok, JSON.stringify(res.failures)).toBe(true);
    disposeState(state);
  });

  it('computes only the gradients asked for, and frees its temporaries', async () => {
    const rt = await gpu();
    const shape = [2, 3, 5, 8];
    const { state } = bnState(rt, 8, 38);
    const before = rt.memory().liveTensors;
    const x = requireGrad(Tensor.from(rt, channelData(shape, 39), shape));
    const gamma = Tensor.from(rt, randomArray(8, 40), [8]);
    const beta = requireGrad(Tensor.from(rt, randomArray(8, 41), [8]));
    tidy(() => backward(batchNorm(x, gamma, beta, state, true), Tensor.from(rt, randomArray(size(shape), 42), shape)));
    expect(gamma.grad).toBeNull();
    expect(x.grad).not.toBeNull();
    expect(beta.grad).not.toBeNull();
    for (const t of [x.grad!, beta.grad!, x, gamma, beta]) t.dispose();
    await rt.sync();
    expect(rt.memory().liveTensors).toBe(before);
    // Without grad the stats are released at once, even outside any scope.
    const x2 = Tensor.from(rt, channelData(shape, 43), shape);
    const g2 = Tensor.from(rt, randomArray(8, 44), [8]);
    const b2 = Tensor.from(rt, randomArray(8, 45), [8]);
    const y = batchNorm(x2, g2, b2, state, true);
    expect(rt.memory().liveTensors).toBe(before + 4);
    for (const t of [y, x2, g2, b2]) t.dispose();
    disposeState(state);
  });
});

const GN_CASES: Array<[number[], number]> = [
  [[2, 3, 4, 5, 6], 3], // NDHWC, 2 channels per group, scalar path
  [[2, 5, 7, 8], 2], // NHWC, vec4, 4 channels per group
  [[2, 5, 7, 8], 4], // vec4 lanes straddle two groups
  [[2, 3, 5, 6], 6], // one channel per group (instance norm)
  [[2, 3, 5, 6], 1], // one group (layer norm over H·W·C)
  [[2, 10, 15, 20, 4], 2], // 3000 positions per sample: multi-pass reduction
  [[3, 3, 4, 5, 10], 5], // batch 3
];

describe('group norm', () => {
  for (const [plan, family] of PLANS) for (const [shape, groups] of GN_CASES) {
    it(`forward ${JSON.stringify(shape)} G=${groups}${plan} matches float64`, async () => {
      const rt = await family();
      const c = shape[shape.length - 1]!;
      const x = channelData(shape, 50);
      const gamma = randomArray(c, 51, 0.5, 1.5);
      const beta = randomArray(c, 52);
      const y = tidy(() => groupNorm(Tensor.from(rt, x, shape), Tensor.from(rt, gamma, [c]), Tensor.from(rt, beta, [c]), groups, EPS));
      expectClose(await y.readF32(), groupNormRef(x, shape, groups, gamma, beta, EPS).y, 1e-4, 1e-4);
      y.dispose();
    });
  }

  for (const [plan, family] of PLANS) for (const [shape, groups, relu] of [[[2, 3, 4, 5, 6], 3, false], [[2, 5, 7, 8], 4, false], [[2, 10, 15, 20, 4], 2, false], [[2, 5, 7, 8], 2, true], [[2, 3, 4, 5, 6], 2, true]] as Array<[number[], number, boolean]>) {
    it(`backward${relu ? ' +relu' : ''} ${JSON.stringify(shape)} G=${groups}${plan}: dx, dγ, dβ match float64`, async () => {
      const rt = await family();
      const c = shape[shape.length - 1]!;
      const x = channelData(shape, 53);
      const gamma = randomArray(c, 54, 0.5, 1.5);
      const beta = randomArray(c, 55);
      const dy = randomArray(size(shape), 56);
      const got = await forwardBackward(rt, shape, x, gamma, beta, dy, (xt, gt, bt) => groupNorm(xt, gt, bt, groups, EPS, { relu }));
      expectClose(got.y, groupNormRef(x, shape, groups, gamma, beta, EPS, relu).y, 1e-4, 1e-4);
      const want = groupNormGradRef(x, shape, groups, gamma, beta, dy, EPS, relu);
      expectClose(got.dx, want.dx, 1e-4, 1e-3);
      expectClose(got.dgamma, want.dgamma, 1e-3, 1e-4);
      expectClose(got.dbeta, want.dbeta, 1e-3, 1e-4);
    });
  }

  // SwiftShader runs ~2.5k reduction workgroups a second, so 65,600 of them (twice)
  // take about a minute: run on hardware adapters, or with CACNET_SLOW_TESTS=1.
  it('splits reduction grids past 65535 workgroups (one workgroup per sample here)', async (ctx) => {
    const rt = await gpu();
    if (rt.description.isSoftware && !process.env.CACNET_SLOW_TESTS) ctx.skip();
    const shape = [65600, 1, 1, 1, 2];
    const x = randomArray(size(shape), 60);
    const gamma = Float32Array.of(1.5, 0.5);
    const beta = Float32Array.of(0.25, -0.5);
    const dy = randomArray(size(shape), 61);
    const got = await forwardBackward(rt, shape, x, gamma, beta, dy, (xt, gt, bt) => groupNorm(xt, gt, bt, 1, EPS));
    expectClose(got.y, groupNormRef(x, shape, 1, gamma, beta, EPS).y, 1e-3, 1e-3);
    const want = groupNormGradRef(x, shape, 1, gamma, beta, dy, EPS);
    expectClose(got.dx, want.dx, 1e-3, 1e-3);
    expectClose(got.dgamma, want.dgamma, 1e-2, 1e-4);
    expectClose(got.dbeta, want.dbeta, 1e-2, 1e-4);
  }, 300_000);

  it('gradients for x, γ, β match finite differences (scalar and vec4 paths)', async () => {
    const rt = await gpu();
    for (const [shape, groups] of [[[2, 2, 3, 6], 3], [[2, 2, 2, 2, 8], 4]] as Array<[number[], number]>) {
      const c = shape[shape.length - 1]!;
      const res = await gradCheck(rt, ([x, g, b]) => groupNorm(x!, g!, b!, groups), [
        { data: channelData(shape, 57), shape },
        { data: randomArray(c, 58, 0.5, 1.5), shape: [c] },
        { data: randomArray(c, 59), shape: [c] },
      ]);
      expect(res.ok, `${JSON.stringify(shape)}: ${JSON.stringify(res.failures)}`).toBe(true);
    }
  });
});

describe('tfjs-cpu oracle', () => {
  /** Reads a tf tensor and disposes it. */
  const data = (t: tf.Tensor) => {
    const d = t.dataSync();
    t.dispose();
    return d;
  };

  it('batch norm forward (tf.moments + tf.batchNorm) in training and eval', async () => {
    await tf.setBackend('cpu');
    const rt = await gpu();
    for (const shape of [[2, 5, 7, 3], [2, 30, 50, 8]] as Array<[number, number, number, number]>) {
      const c = shape[3];
      const x = channelData(shape, 60);
      const gamma = randomArray(c, 61, 0.5, 1.5);
      const beta = randomArray(c, 62);
      const { state, mean, variance } = bnState(rt, c, 63);
      // Eval first: the training call then updates the running statistics.
      const { evalY, train } = tidy(() => {
        const args = [Tensor.from(rt, x, shape), Tensor.from(rt, gamma, [c]), Tensor.from(rt, beta, [c])] as const;
        return { evalY: batchNorm(...args, state, false), train: batchNorm(...args, state, true) };
      });
      const want = tf.tidy(() => {
        const xt = tf.tensor4d(x, shape);
        const m = tf.moments(xt, [0, 1, 2]);
        return [
          tf.batchNorm(xt, m.mean, m.variance, tf.tensor1d(beta), tf.tensor1d(gamma), EPS),
          tf.batchNorm(xt, tf.tensor1d(mean), tf.tensor1d(variance), tf.tensor1d(beta), tf.tensor1d(gamma), EPS),
        ];
      });
      expectClose(await train.readF32(), data(want[0]!), 1e-4, 1e-4);
      expectClose(await evalY.readF32(), data(want[1]!), 1e-4, 1e-4);
      train.dispose();
      evalY.dispose();
      disposeState(state);
    }
  });

  it('batch norm training gradients (tf.grads through tf.moments)', async () => {
    await tf.setBackend('cpu');
    const rt = await gpu();
    for (const shape of [[2, 5, 7, 3], [2, 30, 50, 8]] as Array<[number, number, number, number]>) {
      const c = shape[3];
      const x = channelData(shape, 64);
      const gamma = randomArray(c, 65, 0.5, 1.5);
      const beta = randomArray(c, 66);
      const dy = randomArray(size(shape), 67);
      const { state } = bnState(rt, c, 68);
      const got = await forwardBackward(rt, shape, x, gamma, beta, dy, (xt, gt, bt) => batchNorm(xt, gt, bt, state, true));
      const grads = tf.tidy(() => {
        const r = tf.tensor4d(dy, shape);
        const f = (xt: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
          const m = tf.moments(xt, [0, 1, 2]);
          return tf.sum(tf.mul(r, tf.add(tf.mul(tf.div(tf.sub(xt, m.mean), tf.sqrt(tf.add(m.variance, EPS))), g), b)));
        };
        return tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)([tf.tensor4d(x, shape), tf.tensor1d(gamma), tf.tensor1d(beta)]);
      });
      expectClose(got.dx, data(grads[0]!), 1e-4, 1e-3);
      expectClose(got.dgamma, data(grads[1]!), 1e-3, 1e-4);
      expectClose(got.dbeta, data(grads[2]!), 1e-3, 1e-4);
      disposeState(state);
    }
  });

  it('group norm forward and gradients (composed from tf.reshape + tf.moments)', async () => {
    await tf.setBackend('cpu');
    const rt = await gpu();
    for (const [shape, groups] of [[[2, 5, 7, 6], 3], [[2, 3, 4, 5, 8], 2]] as Array<[number[], number]>) {
      const n = shape[0]!;
      const c = shape[shape.length - 1]!;
      const x = channelData(shape, 70);
      const gamma = randomArray(c, 71, 0.5, 1.5);
      const beta = randomArray(c, 72);
      const dy = randomArray(size(shape), 73);
      const got = await forwardBackward(rt, shape, x, gamma, beta, dy, (xt, gt, bt) => groupNorm(xt, gt, bt, groups, EPS));
      const gn = (xt: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const grouped = tf.reshape(xt, [n, -1, groups, c / groups]);
        const m = tf.moments(grouped, [1, 3], true);
        const xh = tf.reshape(tf.div(tf.sub(grouped, m.mean), tf.sqrt(tf.add(m.variance, EPS))), shape);
        return tf.add(tf.mul(xh, g), b);
      };
      const inputs = () => [tf.tensor(x, shape), tf.tensor1d(gamma), tf.tensor1d(beta)] as const;
      const y = tf.tidy(() => gn(...inputs()));
      const grads = tf.tidy(() => {
        const r = tf.tensor(dy, shape);
        return tf.grads(((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(r, gn(a, g, b)))) as (...a: tf.Tensor[]) => tf.Tensor)([...inputs()]);
      });
      expectClose(got.y, data(y), 1e-4, 1e-4);
      expectClose(got.dx, data(grads[0]!), 1e-4, 1e-3);
      expectClose(got.dgamma, data(grads[1]!), 1e-3, 1e-4);
      expectClose(got.dbeta, data(grads[2]!), 1e-3, 1e-4);
    }
  });
});

describe('bad input', () => {
  it('names the op and the shapes', async () => {
    const rt = await gpu();
    const t = (shape: number[], dtype: 'f32' | 'u32' = 'f32') => Tensor.from(rt, new Array(size(shape)).fill(1), shape, dtype);
    tidy(() => {
      const x = t([2, 3, 5, 6]);
      const g6 = t([6]);
      const b6 = t([6]);
      const { state } = bnState(rt, 6, 80);
      expect(() => batchNorm(x, t([4]), b6, state, true)).toThrow(ShapeError);
      expect(() => batchNorm(x, t([4]), b6, state, true)).toThrow(/batchNorm: gamma has shape \[4\] but x \[2, 3, 5, 6\] has 6 channels/);
      expect(() => batchNorm(x, g6, t([6, 1]), state, true)).toThrow(/batchNorm: beta has shape \[6, 1\]/);
      expect(() => batchNorm(x, g6, b6, { ...state, runningVar: t([5]) }, true)).toThrow(/batchNorm: runningVar has shape \[5\]/);
      expect(() => batchNorm(t([3, 6]), g6, b6, state, true)).toThrow(/batchNorm: expected x of rank 4 \(NHWC\) or 5 \(NDHWC\), got rank 2 \[3, 6\]/);
      expect(() => batchNorm(t([1, 1, 1, 1, 1, 6]), g6, b6, state, false)).toThrow(/rank 6/);
      expect(() => batchNorm(t([1, 1, 1, 6]), g6, b6, state, true)).toThrow(/batchNorm: training needs more than one value per channel/);
      expect(() => batchNorm(t([2, 3, 5, 6], 'u32'), g6, b6, state, true)).toThrow(DtypeError);
      expect(() => batchNorm(t([2, 3, 5, 6], 'u32'), g6, b6, state, true)).toThrow(/batchNorm: x must be f32, got u32/);
      expect(() => batchNorm(x, g6, b6, { ...state, momentum: 2 }, true)).toThrow(/batchNorm: momentum must be in \[0, 1\]/);
      expect(() => batchNorm(x, g6, b6, { ...state, eps: -1 }, true)).toThrow(/batchNorm: eps must be/);
      expect(() => groupNorm(x, g6, b6, 4)).toThrow(/groupNorm: 6 channels of x \[2, 3, 5, 6\] do not split into 4 groups/);
      expect(() => groupNorm(x, g6, b6, 0)).toThrow(/groupNorm: groups must be a positive integer/);
      expect(() => groupNorm(x, t([3]), b6, 3)).toThrow(/groupNorm: gamma has shape \[3\] but x \[2, 3, 5, 6\] has 6 channels/);
      expect(() => groupNorm(t([2, 6]), g6, b6, 3)).toThrow(/groupNorm: expected x of rank 4 \(NHWC\) or 5 \(NDHWC\)/);
      const gone = t([2, 3, 5, 6]);
      gone.dispose();
      expect(() => groupNorm(gone, g6, b6, 3)).toThrow(DisposedTensorError);
      expect(() => batchNorm(gone, g6, b6, state, true)).toThrow(/batchNorm: tensor #\d+ \[2, 3, 5, 6\] was used after dispose/);
      disposeState(state);
    });
  });
});
