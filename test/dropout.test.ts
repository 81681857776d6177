import { describe, expect, it } from 'vitest';
import { Tensor, tidy } from '../src/gpu/index.js';
import { DisposedTensorError, DtypeError, InputError } from '../src/base/errors.js';
import { backward, requireGrad } from '../src/autograd/tape.js';
import { gradCheck } from '../src/autograd/gradcheck.js';
import { dropout } from '../src/autograd/dropout.js';
import { dropoutMask, keepScale } from '../src/kernels/dropout.js';
import { gpu, randomArray } from './helpers/gpu.js';
import { keptRef } from './reference/dropout.js';

const SHAPES = [[7], [3, 5, 7], [2, 9, 11, 5], [1031]];

describe('dropout', () => {
  for (const shape of SHAPES) {
    for (const scalar of [false, true]) {
      it(`${JSON.stringify(shape)} ${scalar ? 'scalar' : 'vec4'} kernel: mask matches the CPU hash, kept values are x·(1/(1−p))`, async () => {
        const rt = await gpu();
        const n = shape.reduce((a, b) => a * b, 1);
        const p = 0.3, seed = 12345;
        const x = randomArray(n, n, 0.5, 2);
        const xt = Tensor.from(rt, x, shape);
        const y = dropoutMask(xt, p, seed, { scalar });
        const out = await y.readF32();
        const scale = keepScale(p);
        for (let i = 0; i < n; i++) {
          const want = keptRef(seed, i, p) ? Math.fround(x[i]! * scale) : 0;
          if (out[i] !== want) expect.fail(`element ${i}: got ${out[i]}, expected ${want}`);
        }
        // The f32 scale is 1/(1−p) to within one rounding.
        expect(Math.abs(scale * (1 - p) - 1)).toBeLessThan(1e-7);
        xt.dispose();
        y.dispose();
      });
    }
  }

  it('keeps a fraction ≈ 1−p of a large tensor, with no correlation between neighbours', async () => {
    const rt = await gpu();
    const n = 262147;
    const xt = Tensor.from(rt, randomArray(n, 5, 0.5, 1.5), [n]);
    for (const p of [0.1, 0.5, 0.8]) {
      const y = dropout(xt, p, { training: true, seed: 99 + Math.round(p * 10) });
      const out = await y.readF32();
      let kept = 0, pairs = 0;
      for (let i = 0; i < n; i++) {
        if (out[i] !== 0) kept++;
        if (i > 0 && out[i] !== 0 && out[i - 1] !== 0) pairs++;
      }
      const q = 1 - p;
      // 6 standard deviations of a binomial proportion: a false failure is ~1e-9.
      expect(Math.abs(kept / n - q)).toBeLessThan(6 * Math.sqrt((p * q) / n));
      const q2 = q * q;
      expect(Math.abs(pairs / (n - 1) - q2)).toBeLessThan(6 * Math.sqrt((q2 * (1 - q2)) / n) * 2);
      y.dispose();
    }
    xt.dispose();
  });

  it('same seed gives the same mask, another seed a different (independent) one', async () => {
    const rt = await gpu();
    const n = 65537;
    const p = 0.5;
    const xt = Tensor.from(rt, randomArray(n, 8, 0.5, 1.5), [n]);
    const [a, b, c] = tidy(() => [1, 1, 2].map((seed) => dropout(xt, p, { training: true, seed })));
    const [va, vb, vc] = [await a!.readF32(), await b!.readF32(), await c!.readF32()];
    expect(Array.from(va)).toEqual(Array.from(vb));
    let both = 0, differ = 0;
    for (let i = 0; i < n; i++) {
      if (va[i] !== 0 && vc[i] !== 0) both++;
      if ((va[i] !== 0) !== (vc[i] !== 0)) differ++;
    }
    expect(differ).toBeGreaterThan(0);
    // Independent masks overlap on (1−p)² of the elements.
    expect(Math.abs(both / n - 0.25)).toBeLessThan(6 * Math.sqrt((0.25 * 0.75) / n));
    for (const t of [xt, a!, b!, c!]) t.dispose();
  });

  it('is the identity in eval mode and for p = 0 (the input itself, no kernel)', async () => {
    const rt = await gpu();
    const xt = Tensor.from(rt, randomArray(10, 3), [2, 5]);
    const before = rt.counters.dispatches;
    expect(dropout(xt, 0.5, { training: false, seed: 1 })).toBe(xt);
    expect(dropout(xt, 0, { training: true, seed: 1 })).toBe(xt);
    expect(rt.counters.dispatches).toBe(before);
    xt.dispose();
  });

  it('backward applies the forward mask and scale to dL/dy', async () => {
    const rt = await gpu();
    const shape = [3, 7, 5];
    const n = 105;
    const p = 0.4;
    const x = requireGrad(Tensor.from(rt, randomArray(n, 21, 0.5, 2), shape));
    const dyData = randomArray(n, 22, 0.5, 2);
    const y = tidy(() => {
      const out = dropout(x, p, { training: true, seed: 777 });
      backward(out, Tensor.from(rt, dyData, shape));
      return out;
    });
    const fwd = await y.readF32();
    const dx = await x.grad!.readF32();
    const scale = keepScale(p);
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const want = fwd[i] !== 0 ? Math.fround(dyData[i]! * scale) : 0;
      if (fwd[i] !== 0) kept++;
      expect(dx[i]).toBe(want);
    }
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(n);
    x.grad!.dispose();
    x.dispose();
    y.dispose();
  });

  it('gradient matches finite differences with a fixed seed', async () => {
    const rt = await gpu();
    const res = await gradCheck(rt, ([x]) => dropout(x!, 0.35, { training: true, seed: 4242 }), [
      { data: randomArray(2 * 3 * 7, 31), shape: [2, 3, 7] },
    ], { samples: 16 });
    expect(res.ok, JSON.stringify(res.failures)).toBe(true);
  });

  it('rejects a bad probability, a bad seed, a u32 tensor and a disposed tensor, clearly', async () => {
    const rt = await gpu();
    const xt = Tensor.from(rt, randomArray(6, 1), [2, 3]);
    expect(() => dropout(xt, 1, { training: true, seed: 1 })).toThrow(InputError);
    expect(() => dropout(xt, 1, { training: true, seed: 1 })).toThrow(/dropout: p must be a probability in \[0, 1\), got 1/);
    expect(() => dropout(xt, -0.1, { training: false })).toThrow(/dropout: p must be/);
    expect(() => dropout(xt, 0.5, { training: true, seed: 1.5 })).toThrow(/dropout: seed must be an integer/);
    expect(() => dropout(xt, 0.5, { training: true, seed: -1 })).toThrow(InputError);
    const lab = Tensor.from(rt, [1, 2, 3], [3], 'u32');
    expect(() => dropout(lab, 0.5, { training: true, seed: 1 })).toThrow(DtypeError);
    expect(() => dropout(lab, 0.5, { training: true, seed: 1 })).toThrow(/dropout: expected a f32 tensor, got u32 \[3\]/);
    lab.dispose();
    xt.dispose();
    expect(() => dropout(xt, 0.5, { training: true, seed: 1 })).toThrow(DisposedTensorError);
  });
});
