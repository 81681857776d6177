/** Shared test plumbing: one runtime per test file, seeded data, closeness checks. */
import { expect } from 'vitest';
import { Runtime, type RuntimeOptions } from '../../src/gpu/runtime.js';
import type { KernelFamily } from '../../src/gpu/profile.js';
import { mulberry32 } from '../../src/base/random.js';

let shared: Promise<Runtime> | undefined;

/** The test file's runtime (SwiftShader on a machine without a GPU). */
export function gpu(): Promise<Runtime> {
  shared ??= Runtime.create();
  return shared;
}

const forced = new Map<string, Promise<Runtime>>();

/**
 * A runtime whose kernels are forced to one family (every family is tested on
 * SwiftShader), planning as if the device had `computeUnits` of them (a GPU
 * plan on a CPU adapter: 132, an H100's SM count, gives small tiles and many
 * K splits on small shapes). One per (family, units) per test file.
 */
export function gpuFamily(kernels: KernelFamily, computeUnits?: number): Promise<Runtime> {
  const key = `${kernels}/${computeUnits ?? ''}`;
  let rt = forced.get(key);
  if (!rt) {
    const opts: RuntimeOptions = { kernels, ...(computeUnits !== undefined ? { computeUnits } : {}) };
    rt = Runtime.create(opts);
    forced.set(key, rt);
  }
  return rt;
}

/** Uniform random values in [lo, hi), seeded; never all zero. */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** Values bounded away from zero (|v| >= margin), for ops with a kink at 0. */
export function awayFromZero(n: number, seed: number, margin = 0.05): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => {
    const v = margin + (1 - margin) * r();
    return r() < 0.5 ? -v : v;
  });
}

/** Asserts |a - b| <= atol + rtol * |b| elementwise, naming the first miss. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-5, rtol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) - (atol + rtol * Math.abs(expected[i]!));
    if (!(err <= 0) && (worst < 0 || err > worstErr || Number.isNaN(err))) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) {
    expect.fail(`element ${worst}: got ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`);
  }
}
