import { describe, expect, it } from 'vitest';
import { Runtime, Tensor, tidy, keep, scopeDepth } from '../src/gpu/index.js';
import { add, matmul, mean, mul, relu, square, sub, sum } from '../src/autograd/ops.js';
import { backward, noGrad, requireGrad, tapeStats, vjp } from '../src/autograd/tape.js';
import { accumulateInPlace } from '../src/kernels/elementwise.js';
import { DeviceLostError, DisposedTensorError, DtypeError, GpuUnavailableError } from '../src/base/errors.js';
import { expectClose, gpu, randomArray } from './helpers/gpu.js';

describe('reverse-mode tape', () => {
  it('diamond graph: a tensor used twice gets both gradients, each node walked once', async () => {
    const rt = await gpu();
    const xv = randomArray(6, 1, 0.5, 2);
    const x = requireGrad(Tensor.from(rt, xv, [2, 3]));
    tidy(() => {
      // y = relu(x); z = y * y + y; loss = sum(z). dL/dx = (2y + 1) where x > 0.
      const y = relu(x);
      const z = add(mul(y, y), y);
      const loss = sum(z);
      const before = tapeStats.nodesWalked;
      backward(loss);
      expect(tapeStats.nodesWalked - before).toBe(4); // relu, mul, add, sum
    });
    expectClose(await x.grad!.readF32(), Array.from(xv, (v) => 2 * v + 1), 1e-5, 1e-5);
    x.grad!.dispose();
    x.dispose();
  });

  it('a skip connection shared by many paths is walked once per node', async () => {
    const rt = await gpu();
    const x = requireGrad(Tensor.from(rt, randomArray(4, 2, 0.1, 1), [4]));
    tidy(() => {
      // A ladder: h_{k+1} = h_k + h_k, 20 levels: naive recursion would walk 2^20 paths.
      let h = x;
      for (let k = 0; k < 20; k++) h = add(h, h);
      const before = tapeStats.nodesWalked;
      backward(sum(h));
      expect(tapeStats.nodesWalked - before).toBe(21);
    });
    expectClose(await x.grad!.readF32(), [2 ** 20, 2 ** 20, 2 ** 20, 2 ** 20], 0, 1e-6);
    x.grad!.dispose();
    x.dispose();
  });

  it('accumulates gradients over two backward passes and leaves shared grads independent', async () => {
    const rt = await gpu();
    const a = requireGrad(Tensor.from(rt, [1, 2, 3], [3]));
    const b = requireGrad(Tensor.from(rt, [4, 5, 6], [3]));
    tidy(() => backward(sum(add(a, b))));
    tidy(() => backward(sum(mul(a, b))));
    expectClose(await a.grad!.readF32(), [1 + 4, 1 + 5, 1 + 6]);
    expectClose(await b.grad!.readF32(), [1 + 1, 1 + 2, 1 + 3]);
    for (const t of [a.grad!, b.grad!, a, b]) t.dispose();
  });

  it('vjp: dy times the Jacobian for each input, parameters untouched, the walk stopping at the inputs', async () => {
    const rt = await gpu();
    const av = [1, -2, 3], bv = [0.5, 4, -1], dyv = [2, 3, -1];
    const p = requireGrad(Tensor.from(rt, [10, 20, 30], [3])); // a parameter fn uses
    const a = Tensor.from(rt, av, [3]);
    const b = Tensor.from(rt, bv, [3]);
    const dy = Tensor.from(rt, dyv, [3]);
    // f(a, b) = a·b + a·p: ∂f/∂a = b + p, ∂f/∂b = a (elementwise).
    const { output, grads } = tidy(() => vjp((x, y) => add(mul(x, y), mul(x, p)), [a, b], dy));
    expectClose(await output.readF32(), av.map((v, i) => v * bv[i]! + v * [10, 20, 30][i]!));
    expectClose(await grads[0]!.readF32(), dyv.map((g, i) => g * (bv[i]! + [10, 20, 30][i]!)));
    expectClose(await grads[1]!.readF32(), dyv.map((g, i) => g * av[i]!));
    expect(p.grad).toBeNull();
    expect([a.requiresGrad, b.requiresGrad]).toEqual([false, false]);
    // An input that a recorded op produced: its producer is not walked.
    const h = tidy(() => relu(p));
    const before = tapeStats.nodesWalked;
    const r = tidy(() => vjp((x) => square(x), [h], dy));
    expect(tapeStats.nodesWalked - before).toBe(1);
    expectClose(await r.grads[0]!.readF32(), dyv.map((g, i) => 2 * [10, 20, 30][i]! * g));
    expect(p.grad).toBeNull();
    for (const t of [output, ...grads, r.output, ...r.grads, h, p, a, b, dy]) t!.dispose();
  });

  it('records nothing under noGrad, and only for tensors that require grad', async () => {
    const rt = await gpu();
    const x = requireGrad(Tensor.from(rt, [1, 2], [2]));
    const c = Tensor.from(rt, [3, 4], [2]);
    const y = noGrad(() => mul(x, c));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradNode).toBeNull();
    const z = mul(c, c);
    expect(z.requiresGrad).toBe(false);
    expect(() => backward(sum(z))).toThrow(/does not depend on any tensor that requires grad/);
    for (const t of [x, c, y, z]) t.dispose();
  });
});

describe('scoped memory', () => {
  it('tidy disposes everything not returned, and returned tensors survive', async () => {
    const rt = await gpu();
    const live0 = rt.memory().liveTensors;
    const kept = tidy(() => {
      const a = Tensor.from(rt, [1, 2, 3], [3]);
      const b = add(a, a);
      const c = mul(b, b);
      return { c };
    });
    expect(rt.memory().liveTensors).toBe(live0 + 1);
    expectClose(await kept.c.readF32(), [4, 16, 36]);
    kept.c.dispose();
    expect(rt.memory().liveTensors).toBe(live0);
    expect(scopeDepth()).toBe(0);
  });

  it('live GPU bytes after 200 training steps equal those after step 1', async () => {
    const rt = await gpu();
    // A two-layer regression net trained with plain SGD: y = relu(x W1) W2.
    const x = Tensor.from(rt, randomArray(32 * 8, 1), [32, 8]);
    const target = Tensor.from(rt, randomArray(32 * 2, 2), [32, 2]);
    const w1 = requireGrad(Tensor.from(rt, randomArray(8 * 16, 3, -0.3, 0.3), [8, 16]));
    const w2 = requireGrad(Tensor.from(rt, randomArray(16 * 2, 4, -0.3, 0.3), [16, 2]));
    const step = async () => {
      const loss = tidy(() => {
        const pred = matmul(relu(matmul(x, w1)), w2);
        const l = mean(square(sub(pred, target)));
        backward(l);
        return l;
      });
      for (const w of [w1, w2]) {
        accumulateInPlace(w, w.grad!, -0.05);
        w.grad!.dispose();
        w.grad = null;
      }
      const v = await loss.item();
      loss.dispose();
      return v;
    };
    const first = await step();
    const after1 = rt.memory();
    let last = first;
    for (let i = 1; i < 200; i++) last = await step();
    const after200 = rt.memory();
    expect(after200.liveBytes).toBe(after1.liveBytes);
    expect(after200.liveTensors).toBe(after1.liveTensors);
    expect(after200.allocatedBytes).toBe(after1.allocatedBytes); // the pool recycled everything
    expect(last).toBeLessThan(first * 0.8);
    for (const t of [x, target, w1, w2]) t.dispose();
  });
});

describe('bad input', () => {
  it('a disposed tensor names itself and the op', async () => {
    const rt = await gpu();
    const a = Tensor.from(rt, [1, 2], [2]);
    a.dispose();
    expect(() => relu(a)).toThrow(DisposedTensorError);
    expect(() => relu(a)).toThrow(/relu: tensor #\d+ \[2\] was used after dispose\(\)/);
  });

  it('a wrong dtype is a clear error', async () => {
    const rt = await gpu();
    const a = Tensor.from(rt, [1, 2], [2], 'u32');
    expect(() => relu(a)).toThrow(DtypeError);
    expect(() => relu(a)).toThrow(/relu: expected a f32 tensor, got u32 \[2\]/);
    a.dispose();
  });

  it('data that does not fill the shape is a clear error', async () => {
    const rt = await gpu();
    expect(() => Tensor.from(rt, [1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\]/);
  });

  it('no adapter at all is a GpuUnavailableError with what to do', async () => {
    await expect(Runtime.create({ adapter: 'swiftshader', icdSearchDirs: [] })).rejects.toThrow(GpuUnavailableError);
    await expect(Runtime.create({ adapter: 'swiftshader', icdSearchDirs: [] })).rejects.toThrow(/setup\.sh/);
  });

  it('a lost device is a DeviceLostError, not a crash', async () => {
    const rt = await Runtime.create();
    const a = Tensor.from(rt, [1, 2], [2]);
    rt.device.destroy();
    await rt.device.lost;
    expect(() => relu(a)).toThrow(DeviceLostError);
    expect(() => relu(a)).toThrow(/device was lost/);
  });

  it('keep() exempts a tensor from its scope', async () => {
    const rt = await gpu();
    const live0 = rt.memory().liveTensors;
    let kept: Tensor | undefined;
    tidy(() => {
      kept = keep(Tensor.from(rt, [5], [1]));
      Tensor.from(rt, [6], [1]);
    });
    expect(rt.memory().liveTensors).toBe(live0 + 1);
    expect(await kept!.item()).toBe(5);
    kept!.dispose();
  });
});
