import { describe, expect, it } from 'vitest';
import { Tensor, tidy } from '../src/gpu/index.js';
import { add, affine, mul, relu, square, sub } from '../src/autograd/ops.js';
import { gradCheck } from '../src/autograd/gradcheck.js';
import { ShapeError } from '../src/base/errors.js';
import { awayFromZero, expectClose, gpu, randomArray } from './helpers/gpu.js';
import { broadcastBinary } from './reference/elementwise.js';

const BINARY = [
  ['add', add, (x: number, y: number) => x + y],
  ['sub', sub, (x: number, y: number) => x - y],
  ['mul', mul, (x: number, y: number) => x * y],
] as const;

const SHAPES: Array<[number[], number[]]> = [
  [[7], [7]],
  [[3, 5, 7], [3, 5, 7]],
  [[2, 3, 4, 5], [5]],
  [[2, 1, 4, 3], [1, 5, 1, 3]],
  [[257, 3], [257, 1]],
  [[1000, 17], [17]],
];

describe('elementwise ops', () => {
  for (const [name, op, ref] of BINARY) {
    for (const [sa, sb] of SHAPES) {
      it(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)} matches float64`, async () => {
        const rt = await gpu();
        const a = randomArray(sa.reduce((x, y) => x * y, 1), 1);
        const b = randomArray(sb.reduce((x, y) => x * y, 1), 2);
        const y = tidy(() => op(Tensor.from(rt, a, sa), Tensor.from(rt, b, sb)));
        const want = broadcastBinary(a, sa, b, sb, ref);
        expect([...y.shape]).toEqual(want.shape);
        expectClose(await y.readF32(), want.data, 1e-6, 1e-6);
        y.dispose();
      });
    }
  }

  it('relu, affine and square match float64 past one workgroup', async () => {
    const rt = await gpu();
    const x = randomArray(1031, 3, -2, 2);
    const t = Tensor.from(rt, x, [1031]);
    const r = relu(t), f = affine(t, -1.5, 0.25), s = square(t);
    expectClose(await r.readF32(), Array.from(x, (v) => Math.max(v, 0)));
    expectClose(await f.readF32(), Array.from(x, (v) => -1.5 * v + 0.25));
    expectClose(await s.readF32(), Array.from(x, (v) => v * v));
    for (const z of [t, r, f, s]) z.dispose();
  });

  it('splits grids past 65535 workgroups', async () => {
    const rt = await gpu();
    const n = 65536 * 256 + 777; // 65539 workgroups of 256
    const a = new Float32Array(n).map((_, i) => (i % 1013) - 500);
    const t = Tensor.from(rt, a, [n]);
    const y = affine(t, 2, 1);
    const out = await y.readF32();
    for (const i of [0, 1, 65535 * 256 - 1, 65535 * 256, 65535 * 256 + 5, n - 1]) expect(out[i]).toBe(2 * a[i]! + 1);
    let bad = 0;
    for (let i = 0; i < n; i++) if (out[i] !== 2 * a[i]! + 1) bad++;
    expect(bad).toBe(0);
    t.dispose();
    y.dispose();
  });

  it('gradients of add/sub/mul with broadcasting match finite differences', async () => {
    const rt = await gpu();
    for (const [name, op] of BINARY) {
      const res = await gradCheck(rt, ([a, b]) => op(a!, b!), [
        { data: randomArray(24, 5), shape: [2, 3, 4] },
        { data: randomArray(4, 6), shape: [1, 4] },
      ]);
      expect(res.ok, `${name}: ${JSON.stringify(res.failures)}`).toBe(true);
      expect(res.checked).toBeGreaterThan(10);
    }
  });

  it('relu gradient matches finite differences', async () => {
    const rt = await gpu();
    const res = await gradCheck(rt, ([x]) => relu(x!), [{ data: awayFromZero(50, 7), shape: [5, 10] }]);
    expect(res.ok, JSON.stringify(res.failures)).toBe(true);
  });

  it('rejects shapes that do not broadcast, naming the op and shapes', async () => {
    const rt = await gpu();
    const a = Tensor.from(rt, randomArray(6, 1), [2, 3]);
    const b = Tensor.from(rt, randomArray(8, 1), [2, 4]);
    expect(() => add(a, b)).toThrow(ShapeError);
    expect(() => add(a, b)).toThrow(/add: shapes \[2, 3\] and \[2, 4\] do not broadcast/);
    a.dispose();
    b.dispose();
  });
});
