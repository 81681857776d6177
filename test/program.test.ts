/**
 * Kernel programs: uniform blocks (WGSL struct and packing from one field
 * list) and the pipeline cache keyed by program keys, whose WGSL is built once
 * per key.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, tidy } from '../src/gpu/index.js';
import { uniformBlock } from '../src/gpu/program.js';
import type { DispatchSpec } from '../src/gpu/runtime.js';
import { conv3d } from '../src/autograd/conv.js';
import { backward } from '../src/autograd/tape.js';
import { sum } from '../src/autograd/ops.js';
import { maxPool3d } from '../src/autograd/pool.js';
import { gpu, gpuFamily, randomArray } from './helpers/gpu.js';
import { describeProfile, familyFromEnv } from '../src/gpu/profile.js';
import { InputError } from '../src/base/errors.js';

describe('uniform blocks', () => {
  it('declare the WGSL struct and pack values by name at the same offsets', () => {
    const block = uniformBlock({ n: 'u32', eps: 'f32', shift: 'i32', w: ['f32', 5] });
    expect(block.struct).toBe('struct P { n: u32, eps: f32, shift: i32, w: array<vec4f, 2> }');
    expect(block.declare(3, 'q')).toBe('struct P { n: u32, eps: f32, shift: i32, w: array<vec4f, 2> }\n@group(0) @binding(3) var<uniform> q: P;');
    // n at 0, eps at 4, shift at 8, the list aligned to 16: 16 + 2 vec4 = 48 bytes.
    expect(block.bytes).toBe(48);
    const view = new DataView(block.pack({ w: [1, 2, 3, 4, 5], shift: -7, eps: 0.5, n: 9 }));
    expect(view.byteLength).toBe(48);
    expect(view.getUint32(0, true)).toBe(9);
    expect(view.getFloat32(4, true)).toBe(0.5);
    expect(view.getInt32(8, true)).toBe(-7);
    expect(view.getUint32(12, true)).toBe(0);
    expect([0, 1, 2, 3, 4].map((k) => view.getFloat32(16 + 4 * k, true))).toEqual([1, 2, 3, 4, 5]);
    expect(view.getFloat32(36, true)).toBe(0);
  });

  it('pads a small block to 16 bytes and refuses a missing value', () => {
    const block = uniformBlock({ rows: 'u32' }, 'R');
    expect(block.struct).toBe('struct R { rows: u32 }');
    expect(block.pack({ rows: 3 }).byteLength).toBe(16);
    expect(() => block.pack({} as { rows: number })).toThrow(/uniform 'rows' needs a number/);
  });
});

describe('pipeline cache by program key', () => {
  it('builds each WGSL source once per key, and shapes that share a key share the pipeline', async () => {
    const rt = await gpu();
    const keys = new Set<string>();
    const dispatch = rt.dispatch.bind(rt);
    (rt as unknown as { dispatch: (s: DispatchSpec) => void }).dispatch = (s: DispatchSpec) => {
      keys.add(s.key ?? '(literal source)');
      dispatch(s);
    };
    // A conv3d forward + backward (dX, dW, db) and a max pool, on two geometries with the same widths.
    const step = (x: number[], seed: number) =>
      tidy(() => {
        const xt = Tensor.from(rt, randomArray(x.reduce((a, b) => a * b, 1), seed), x);
        const w = Tensor.from(rt, randomArray(3 * 3 * 3 * 4 * 4, seed + 1), [3, 3, 3, 4, 4]);
        const b = Tensor.from(rt, randomArray(4, seed + 2), [4]);
        for (const t of [xt, w, b]) t.requiresGrad = true;
        const y = conv3d(xt, w, b);
        backward(sum(maxPool3d(y)));
      });
    const builds0 = rt.counters.sourceBuilds;
    const pipelines0 = rt.counters.pipelines;
    step([1, 4, 6, 5, 4], 1);
    await rt.sync();
    const builds = rt.counters.sourceBuilds - builds0;
    expect(keys.has('(literal source)')).toBe(false);
    expect(builds).toBe(keys.size);
    expect(rt.counters.pipelines - pipelines0).toBe(keys.size);
    expect(builds).toBeGreaterThanOrEqual(6);

    // Same call again, and another geometry with the same channel widths: nothing new is built.
    step([1, 4, 6, 5, 4], 4);
    step([1, 2, 4, 7, 4], 7);
    await rt.sync();
    expect(rt.counters.sourceBuilds - builds0).toBe(builds);
    expect(rt.counters.pipelines - pipelines0).toBe(builds);
    expect(keys.size).toBe(builds);
    for (const k of keys) expect(k.length, k).toBeLessThan(80);
    delete (rt as unknown as { dispatch?: unknown }).dispatch;
  });
});

describe('device profile', () => {
  it('reads CACNET_KERNELS, refusing anything but a family name', () => {
    expect(familyFromEnv({})).toBeUndefined();
    expect(familyFromEnv({ CACNET_KERNELS: '' })).toBeUndefined();
    expect(familyFromEnv({ CACNET_KERNELS: 'gpu' })).toBe('gpu');
    expect(familyFromEnv({ CACNET_KERNELS: 'swiftshader' })).toBe('swiftshader');
    expect(() => familyFromEnv({ CACNET_KERNELS: 'cuda' })).toThrow(InputError);
    expect(() => familyFromEnv({ CACNET_KERNELS: 'cuda' })).toThrow(/CACNET_KERNELS must be one of gpu, swiftshader, got 'cuda'/);
  });

  it('picks the family from the adapter unless forced, with the adapter\'s limits', async () => {
    const rt = await gpu();
    const p = rt.profile;
    if (!process.env.CACNET_KERNELS) {
      expect(p.family).toBe(p.software ? 'swiftshader' : 'gpu');
      expect(p.forced).toBe(false);
    }
    expect(p.maxWorkgroupStorageBytes).toBe(rt.device.limits.maxComputeWorkgroupStorageSize);
    expect(p.maxInvocationsPerWorkgroup).toBe(rt.device.limits.maxComputeInvocationsPerWorkgroup);
    expect(p.features.subgroups).toBe(rt.has('subgroups'));
    expect(p.computeUnits).toBeGreaterThanOrEqual(1);
    const forced = await gpuFamily('gpu', 132);
    expect(forced.profile.family).toBe('gpu');
    expect(forced.profile.forced).toBe(true);
    expect(forced.profile.computeUnits).toBe(132);
    expect(describeProfile(forced.profile)).toMatch(/^gpu kernels \(forced\) on a (software|hardware) adapter .*132 compute units/);
  });
});
