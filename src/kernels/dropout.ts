/**
 * Inverted dropout with a stateless, counter-based mask: element i is kept
 * when hash(seed, i) ≥ p·2³², and kept values are scaled by 1/(1−p). The mask
 * is never stored; the backward pass is the same kernel applied to dL/dy with
 * the same seed, which regenerates the same mask.
 *
 * The hash is the PCG output permutation (O'Neill's "pcg_hash", a fast,
 * well-mixed 32-bit integer hash) applied twice: to the element index, then to
 * that mixed with a hash of the seed.
 */
import { InputError } from '../base/errors.js';
import { Tensor } from '../gpu/tensor.js';
import { program, uniformBlock } from '../gpu/program.js';
import { vec4Width } from '../gpu/wgsl.js';

/** Threads per workgroup; each thread handles one vec4 (or one scalar). */
const WG = 256;

/** The threshold on the 32-bit hash below which an element is dropped. */
export function dropThreshold(p: number): number {
  return Math.min(0xffffffff, Math.floor(p * 2 ** 32));
}

/** f32 scale applied to kept elements (1/(1−p), rounded once, on the host). */
export function keepScale(p: number): number {
  return Math.fround(1 / (1 - p));
}

const UNIFORMS = uniformBlock({ n: 'u32', seed: 'u32', threshold: 'u32', scale: 'f32' });

export function dropoutSource(width: 1 | 4): string {
  const vec = width === 4;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<${vec ? 'vec4f' : 'f32'}>;
@group(0) @binding(1) var<storage, read_write> Y: array<${vec ? 'vec4f' : 'f32'}>;
${UNIFORMS.declare(2)}

fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

fn kept(key: u32, idx: u32) -> bool {
  return pcg(pcg(idx) ^ key) >= p.threshold;
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * ${WG}u + lid;
  let key = pcg(p.seed);
${
  vec
    ? `  if (i >= (p.n + 3u) / 4u) { return; }
  let e = i * 4u;
  // Lanes past n (the tail of the last vec4) lie in the buffer's padding: write 0 there.
  let keep = vec4<bool>(kept(key, e) && e < p.n, kept(key, e + 1u) && e + 1u < p.n,
                        kept(key, e + 2u) && e + 2u < p.n, kept(key, e + 3u) && e + 3u < p.n);
  Y[i] = select(vec4f(0.0), X[i] * p.scale, keep);`
    : `  if (i >= p.n) { return; }
  Y[i] = select(0.0, X[i] * p.scale, kept(key, i));`
}
}`;
}

const DROPOUT = program({
  op: 'dropout',
  uniforms: UNIFORMS,
  key: (width: 1 | 4) => `v${width}`,
  source: dropoutSource,
  workgroupSize: WG,
});

export interface DropoutKernelOptions {
  /** Force the scalar kernel (tests); default: vec4 whenever the buffers allow. */
  scalar?: boolean;
}

/**
 * y = mask(seed) ⊙ x / (1 − p). Applied to dL/dy with the same p and seed it
 * is also the backward.
 */
export function dropoutMask(x: Tensor, p: number, seed: number, opts: DropoutKernelOptions = {}): Tensor {
  const op = 'dropout';
  x.assertLive(op);
  x.expectDtype('f32', op);
  checkDropoutArgs(p, seed);
  const y = Tensor.empty(x.rt, x.shape, 'f32', op);
  const width = opts.scalar ? 1 : vec4Width(x.size, [x.buffer, y.buffer]);
  DROPOUT.run(x.rt, width, {
    buffers: [x.buffer, y.buffer],
    uniforms: { n: x.size, seed, threshold: dropThreshold(p), scale: keepScale(p) },
    threads: Math.ceil(x.size / width),
  });
  return y;
}

/** Clear errors for a drop probability outside [0, 1) or a seed that is not a u32. */
export function checkDropoutArgs(p: number, seed: number): void {
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new InputError(`dropout: p must be a probability in [0, 1), got ${p}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InputError(`dropout: seed must be an integer in [0, 2^32), got ${seed}`);
}
