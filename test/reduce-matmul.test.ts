import { describe, expect, it } from 'vitest';
import { Tensor, tidy } from '../src/gpu/index.js';
import { concat, matmul, mean, reshape, sum } from '../src/autograd/ops.js';
import { gradCheck } from '../src/autograd/gradcheck.js';
import { ShapeError } from '../src/base/errors.js';
import { expectClose, gpu, gpuFamily, randomArray } from './helpers/gpu.js';
import { matmulRef, sumAxesRef } from './reference/elementwise.js';
import { matmul as matmulKernel } from '../src/kernels/matmul.js';

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

describe('sum and mean', () => {
  const cases: Array<[number[], number[] | undefined]> = [
    [[7], undefined],
    [[3, 5, 7], [1]],
    [[3, 5, 7], [0, 2]],
    [[2, 3, 4, 5], [1, 2]],
    [[2, 3, 4, 5], [3]],
    [[5000, 3], [0]], // long axis: two passes
    [[3, 9000], [1]],
    [[40, 50, 60], undefined], // full sum of 120000
  ];
  for (const [shape, axes] of cases) {
    it(`sum ${JSON.stringify(shape)} over ${JSON.stringify(axes ?? 'all')} matches float64`, async () => {
      const rt = await gpu();
      const x = randomArray(prod(shape), 11);
      const y = sum(Tensor.from(rt, x, shape), axes, true);
      const want = sumAxesRef(x, shape, axes ?? shape.map((_, i) => i));
      expect([...y.shape]).toEqual(want.shape);
      expectClose(await y.readF32(), want.data, 2e-4, 1e-4);
      y.dispose();
    });
  }

  it('mean drops reduced axes unless keepDims', async () => {
    const rt = await gpu();
    const x = randomArray(60, 3);
    const t = Tensor.from(rt, x, [3, 4, 5]);
    const m = mean(t, [0, 2]);
    expect([...m.shape]).toEqual([4]);
    const want = sumAxesRef(x, [3, 4, 5], [0, 2]).data.map((v) => v / 15);
    expectClose(await m.readF32(), want, 1e-6, 1e-5);
    t.dispose();
  });

  it('gradients of sum and mean match finite differences', async () => {
    const rt = await gpu();
    for (const f of [(x: Tensor) => sum(x, [1]), (x: Tensor) => mean(x, [0, 2], true), (x: Tensor) => sum(x)]) {
      const res = await gradCheck(rt, ([x]) => f(x!), [{ data: randomArray(30, 4), shape: [2, 3, 5] }]);
      expect(res.ok, JSON.stringify(res.failures)).toBe(true);
    }
  });
});

describe('matmul', () => {
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1],
    [3, 5, 7],
    [17, 33, 9],
    [64, 64, 64],
    [130, 70, 65], // several tiles, ragged edges
  ];
  for (const [M, K, N] of shapes) {
    it(`[${M},${K}]x[${K},${N}] matches float64`, async () => {
      const rt = await gpu();
      const a = randomArray(M * K, M + K);
      const b = randomArray(K * N, N + 1);
      const c = tidy(() => matmul(Tensor.from(rt, a, [M, K]), Tensor.from(rt, b, [K, N])));
      expectClose(await c.readF32(), matmulRef(a, b, M, K, N), 1e-4, 1e-4);
      c.dispose();
    });
  }

  // Transposed operands (the backward's Aᵀ·G and G·Bᵀ), vec4 and ragged shapes, on the
  // adapter's plan and on a big GPU's (small tiles).
  for (const units of [undefined, 132]) {
    for (const [M, K, N] of [[64, 36, 20], [33, 70, 9]] as const) {
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        it(`op(A)·op(B), A${ta ? 'ᵀ' : ''} [${M},${K}], B${tb ? 'ᵀ' : ''} [${K},${N}], ${units ?? 'adapter'} units, matches float64`, async () => {
          const rt = units ? await gpuFamily('gpu', units) : await gpu();
          const a = randomArray(M * K, M + K + 3);
          const b = randomArray(K * N, N + 5);
          const stored = (x: Float32Array, r: number, c: number, t: boolean) => (t ? Float32Array.from({ length: r * c }, (_, i) => x[(i % r) * c + Math.floor(i / r)]!) : x);
          const c = tidy(() => matmulKernel(Tensor.from(rt, stored(a, M, K, ta), ta ? [K, M] : [M, K]), Tensor.from(rt, stored(b, K, N, tb), tb ? [N, K] : [K, N]), ta, tb));
          expectClose(await c.readF32(), matmulRef(a, b, M, K, N), 1e-4, 1e-4);
          c.dispose();
        });
      }
    }
  }

  it('gradient matches finite differences', async () => {
    const rt = await gpu();
    const res = await gradCheck(rt, ([a, b]) => matmul(a!, b!), [
      { data: randomArray(15, 1), shape: [3, 5] },
      { data: randomArray(20, 2), shape: [5, 4] },
    ]);
    expect(res.ok, JSON.stringify(res.failures)).toBe(true);
  });

  it('names the shapes when inner dimensions differ', async () => {
    const rt = await gpu();
    const a = Tensor.from(rt, randomArray(6, 1), [2, 3]);
    const b = Tensor.from(rt, randomArray(8, 1), [4, 2]);
    expect(() => matmul(a, b)).toThrow(/matmul: inner dimensions differ: \[2, 3\] · \[4, 2\]/);
    a.dispose();
    b.dispose();
  });
});

describe('concat and reshape', () => {
  it('concatenates along channels (NDHWC) and splits gradients back', async () => {
    const rt = await gpu();
    const a = randomArray(2 * 3 * 4 * 5 * 3, 1);
    const b = randomArray(2 * 3 * 4 * 5 * 5, 2);
    const y = concat([Tensor.from(rt, a, [2, 3, 4, 5, 3]), Tensor.from(rt, b, [2, 3, 4, 5, 5])]);
    expect([...y.shape]).toEqual([2, 3, 4, 5, 8]);
    const out = await y.readF32();
    const want = new Float32Array(out.length);
    for (let r = 0; r < 120; r++) {
      for (let c = 0; c < 3; c++) want[r * 8 + c] = a[r * 3 + c]!;
      for (let c = 0; c < 5; c++) want[r * 8 + 3 + c] = b[r * 5 + c]!;
    }
    expectClose(out, want, 0, 0);
    const res = await gradCheck(rt, ([x, z]) => concat([x!, z!]), [
      { data: randomArray(12, 3), shape: [2, 2, 3] },
      { data: randomArray(4, 4), shape: [2, 2, 1] },
    ]);
    expect(res.ok, JSON.stringify(res.failures)).toBe(true);
  });

  it('τ: a volume [N,D,H,W,C] is a free view as slices [N·D,H,W,C]', async () => {
    const rt = await gpu();
    const x = Tensor.from(rt, randomArray(2 * 3 * 4 * 4 * 2, 9), [2, 3, 4, 4, 2]);
    const s = reshape(x, [-1, 4, 4, 2]);
    expect([...s.shape]).toEqual([6, 4, 4, 2]);
    expect(s.buffer).toBe(x.buffer);
    expect(() => reshape(x, [5, -1])).toThrow(ShapeError);
    const res = await gradCheck(rt, ([v]) => reshape(v!, [3, 4]), [{ data: randomArray(12, 5), shape: [2, 6] }]);
    expect(res.ok).toBe(true);
    s.dispose();
    x.dispose();
  });

  it('rejects concat of tensors that differ outside the channel axis', async () => {
    const rt = await gpu();
    const a = Tensor.from(rt, randomArray(6, 1), [2, 3]);
    const b = Tensor.from(rt, randomArray(9, 1), [3, 3]);
    expect(() => concat([a, b])).toThrow(/concat: shapes \[2, 3\], \[3, 3\] differ outside the channel axis/);
    a.dispose();
    b.dispose();
  });
});
