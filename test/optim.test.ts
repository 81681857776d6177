import { describe, expect, it } from 'vitest';
import { Tensor, tidy } from '../src/gpu/index.js';
import { CacnetError, DisposedTensorError, InputError, ShapeError } from '../src/base/errors.js';
import { backward, requireGrad } from '../src/autograd/tape.js';
import { square, sub, sum } from '../src/autograd/ops.js';
import { Adam, Sgd, type AdamOptions, type SgdOptions } from '../src/autograd/optim.js';
import { adamUpdate, sgdUpdate } from '../src/kernels/optim.js';
import { expectClose, gpu, randomArray } from './helpers/gpu.js';
import { adamRef, sgdRef } from './reference/optim.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
// Odd sizes (a partial last vec4), exact vec4s, batch-like 5D, past one workgroup of 256 vec4s.
const SHAPES = [[7], [3, 5, 7], [2, 3, 3, 3, 8], [1031, 1]];
const STEPS = 5;

function gradsFor(n: number, seed: number): Float32Array[] {
  return Array.from({ length: STEPS }, (_, t) => randomArray(n, seed * 31 + t, -1, 1));
}

function setGrad(p: Tensor, g: Float32Array): void {
  p.grad?.dispose();
  p.grad = Tensor.from(p.rt, g, p.shape);
}

describe('Sgd', () => {
  const VARIANTS: SgdOptions[] = [
    { lr: 0.1 },
    { lr: 0.05, weightDecay: 0.01 },
    { lr: 0.05, momentum: 0.9 },
    { lr: 0.02, momentum: 0.8, weightDecay: 0.005 },
    { lr: 0.02, momentum: 0.9, nesterov: true, weightDecay: 0.02 },
  ];
  for (const o of VARIANTS) {
    it(`${JSON.stringify(o)}: ${STEPS} steps over several parameter shapes match float64`, async () => {
      const rt = await gpu();
      const w0 = SHAPES.map((s, k) => randomArray(size(s), 100 + k, -2, 2));
      const params = SHAPES.map((s, k) => requireGrad(Tensor.from(rt, w0[k]!, s)));
      const grads = SHAPES.map((s, k) => gradsFor(size(s), k + 1));
      const opt = new Sgd(params, o);
      for (let t = 0; t < STEPS; t++) {
        params.forEach((p, k) => setGrad(p, grads[k]![t]!));
        opt.step();
      }
      for (let k = 0; k < params.length; k++) {
        const want = sgdRef(w0[k]!, grads[k]!, o)[STEPS - 1]!;
        expectClose(await params[k]!.readF32(), want.w, 1e-6, 1e-5);
      }
      if (o.momentum) {
        const st = opt.state();
        expectClose(await st.slots['velocity']![1]!.readF32(), sgdRef(w0[1]!, grads[1]!, o)[STEPS - 1]!.v, 1e-6, 1e-5);
        for (const t of st.slots['velocity']!) t.dispose();
      }
      opt.zeroGrad();
      opt.dispose();
      for (const p of params) p.dispose();
    });
  }
});

describe('Adam', () => {
  const VARIANTS: AdamOptions[] = [
    {},
    { lr: 0.01, weightDecay: 0.01 },
    { lr: 0.003, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1 },
  ];
  for (const o of VARIANTS) {
    it(`${JSON.stringify(o)}: ${STEPS} steps (bias correction, L2) match float64`, async () => {
      const rt = await gpu();
      const full = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, ...o };
      const w0 = SHAPES.map((s, k) => randomArray(size(s), 200 + k, -2, 2));
      const params = SHAPES.map((s, k) => requireGrad(Tensor.from(rt, w0[k]!, s)));
      const grads = SHAPES.map((s, k) => gradsFor(size(s), k + 11));
      const opt = new Adam(params, o);
      for (let t = 0; t < STEPS; t++) {
        params.forEach((p, k) => setGrad(p, grads[k]![t]!));
        opt.step();
        // Every step, not just the last: the first steps are where bias correction matters.
        const want = adamRef(w0[0]!, grads[0]!.slice(0, t + 1), full)[t]!;
        expectClose(await params[0]!.readF32(), want.w, 1e-6, 1e-5);
      }
      expect(opt.stepCount).toBe(STEPS);
      const st = opt.state();
      for (let k = 0; k < params.length; k++) {
        const want = adamRef(w0[k]!, grads[k]!, full)[STEPS - 1]!;
        expectClose(await params[k]!.readF32(), want.w, 1e-6, 1e-5);
        expectClose(await st.slots['m']![k]!.readF32(), want.m, 1e-6, 1e-5);
        expectClose(await st.slots['v']![k]!.readF32(), want.v, 1e-7, 1e-5);
      }
      for (const t of [...st.slots['m']!, ...st.slots['v']!]) t.dispose();
      opt.zeroGrad();
      opt.dispose();
      for (const p of params) p.dispose();
    });
  }

  it('the scalar and vec4 kernels agree with float64 on an odd size', async () => {
    const rt = await gpu();
    const n = 37;
    const w0 = randomArray(n, 1, -1, 1);
    const g = randomArray(n, 2, -1, 1);
    for (const scalar of [false, true]) {
      const w = Tensor.from(rt, w0, [n]);
      const grad = Tensor.from(rt, g, [n]);
      const m = Tensor.from(rt, new Float32Array(n), [n]);
      const v = Tensor.from(rt, new Float32Array(n), [n]);
      const vel = Tensor.from(rt, new Float32Array(n), [n]);
      const w2 = Tensor.from(rt, w0, [n]);
      adamUpdate(w, grad, m, v, { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, decay: 0.02, step: 1, scalar });
      sgdUpdate(w2, grad, vel, { lr: 0.1, momentum: 0.9, nesterov: false, decay: 0.02, scalar });
      expectClose(await w.readF32(), adamRef(w0, [g], { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 })[0]!.w, 1e-6, 1e-5);
      expectClose(await w2.readF32(), sgdRef(w0, [g], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 })[0]!.w, 1e-6, 1e-5);
      for (const t of [w, grad, m, v, vel, w2]) t.dispose();
    }
  });
});

describe('optimiser lifecycle', () => {
  it('trains through the tape, skips parameters without a gradient and leaks nothing', async () => {
    const rt = await gpu();
    const target = Tensor.from(rt, randomArray(24, 5, -1, 1), [2, 3, 4]);
    const w = requireGrad(Tensor.from(rt, randomArray(24, 6, -1, 1), [2, 3, 4]), 'w');
    const unused = requireGrad(Tensor.from(rt, randomArray(5, 7), [5]), 'unused');
    const before = await unused.readF32();
    const opt = tidy(() => new Adam([w, unused], { lr: 0.05 })); // slots survive the scope (keep())
    const loss = async () => (await tidy(() => sum(square(sub(w, target)))).item());
    const first = await loss();
    let live = -1;
    for (let step = 0; step < 40; step++) {
      tidy(() => backward(sum(square(sub(w, target)))));
      opt.step();
      opt.zeroGrad();
      if (step === 0) live = rt.liveTensors;
      expect(rt.liveTensors).toBe(live);
    }
    expect(await loss()).toBeLessThan(first * 0.2);
    expect(Array.from(await unused.readF32())).toEqual(Array.from(before));
    expect(w.grad).toBeNull();
    const liveBefore = rt.liveTensors;
    opt.dispose();
    expect(rt.liveTensors).toBe(liveBefore - 4); // m and v of two parameters
    expect(() => opt.step()).toThrow(/adam.step: the optimiser was disposed/);
    for (const t of [target, w, unused]) t.dispose();
  });

  it('state() / loadState() resume training exactly (from tensors or host arrays)', async () => {
    const rt = await gpu();
    const w0 = randomArray(13, 9, -1, 1);
    const grads = gradsFor(13, 9);
    const o = { lr: 0.01, weightDecay: 0.003 };
    const run = (opt: Adam, p: Tensor, from: number, to: number) => {
      for (let t = from; t < to; t++) {
        setGrad(p, grads[t]!);
        opt.step();
      }
    };
    const pa = requireGrad(Tensor.from(rt, w0, [13]));
    const a = new Adam([pa], o);
    run(a, pa, 0, 3);
    const snap = a.state();
    expect(snap.step).toBe(3);
    const host = { kind: 'adam' as const, step: snap.step, slots: { m: [await snap.slots['m']![0]!.readF32()], v: [await snap.slots['v']![0]!.readF32()] } };
    const checkpointW = await pa.readF32();
    run(a, pa, 3, 5);
    const want = adamRef(w0, grads, { beta1: 0.9, beta2: 0.999, eps: 1e-8, ...o })[4]!.w;
    expectClose(await pa.readF32(), want, 1e-6, 1e-5);
    for (const source of [snap, host]) {
      const pb = requireGrad(Tensor.from(rt, checkpointW, [13]));
      const b = new Adam([pb], o);
      b.loadState(source);
      expect(b.stepCount).toBe(3);
      run(b, pb, 3, 5);
      expect(Array.from(await pb.readF32())).toEqual(Array.from(await pa.readF32()));
      b.dispose();
      pb.grad!.dispose();
      pb.dispose();
    }
    // A momentum-free Sgd has no state slots; its state is just the step.
    const s = new Sgd([pa], { lr: 0.1 });
    expect(s.state().slots).toEqual({});
    expect(() => s.loadState(snap)).toThrow(/sgd loadState: the state is for adam, not sgd/);
    expect(() => a.loadState({ ...host, slots: { m: host.slots.m } })).toThrow(/expected state slots \[m, v\], got \[m\]/);
    expect(() => a.loadState({ ...host, slots: { m: [new Float32Array(3)], v: host.slots.v } })).toThrow(ShapeError);
    expect(() => a.loadState({ ...host, slots: { m: [], v: [] } })).toThrow(/slot 'm' has 0 tensors for 1 parameters/);
    for (const t of [...snap.slots['m']!, ...snap.slots['v']!]) t.dispose();
    a.dispose();
    s.dispose();
    pa.grad!.dispose();
    pa.dispose();
  });

  it('rejects bad parameters, hyperparameters and gradients, clearly', async () => {
    const rt = await gpu();
    const p = requireGrad(Tensor.from(rt, randomArray(6, 1), [2, 3]), 'conv1.weight');
    const plain = Tensor.from(rt, randomArray(6, 2), [2, 3]);
    expect(() => new Adam([])).toThrow(/adam: no parameters given/);
    expect(() => new Adam([plain])).toThrow(InputError);
    expect(() => new Adam([plain])).toThrow(/adam: parameter 0 \[2, 3\] does not require grad \(call requireGrad on it\)/);
    expect(() => new Sgd([p, p], { lr: 0.1 })).toThrow(/sgd: parameter 1 \[2, 3\] is given twice/);
    expect(() => new Adam([p], { lr: -1 })).toThrow(/adam: lr must be in \[0, Infinity\), got -1/);
    expect(() => new Adam([p], { beta1: 1 })).toThrow(/adam: beta1 must be in \[0, 1\), got 1/);
    expect(() => new Adam([p], { eps: 0 })).toThrow(/adam: eps must be > 0/);
    expect(() => new Sgd([p], { lr: 0.1, momentum: 1 })).toThrow(/sgd: momentum must be in \[0, 1\), got 1/);
    expect(() => new Sgd([p], { lr: 0.1, nesterov: true })).toThrow(/nesterov needs a momentum > 0/);
    expect(() => new Sgd([p], { lr: 0.1, weightDecay: Number.NaN })).toThrow(/weightDecay must be/);
    const opt = new Sgd([p], { lr: 0.1, momentum: 0.5 });
    p.grad = Tensor.from(rt, randomArray(5, 3), [5]);
    expect(() => opt.step()).toThrow(ShapeError);
    expect(() => opt.step()).toThrow(/sgd: gradient \[5\] does not match parameter 'conv1.weight' \[2, 3\]/);
    p.grad.dispose();
    expect(() => opt.step()).toThrow(DisposedTensorError);
    p.grad = p;
    expect(() => opt.step()).toThrow(CacnetError);
    expect(() => opt.step()).toThrow(/shares GPU memory with its gradient/);
    p.grad = null;
    opt.lr = Number.NaN;
    expect(() => opt.step()).toThrow(/sgd: lr must be/);
    opt.dispose();
    p.dispose();
    plain.dispose();
    expect(() => new Adam([p])).toThrow(DisposedTensorError);
  });
});
