/**
 * Fused, in-place optimiser updates: one dispatch per parameter tensor reads
 * the weight, its gradient and the optimiser's slot tensors once, and writes
 * the weight and slots back. Coupled L2 regularisation is folded into the
 * gradient (g = ∇ + decay·W, with decay = 2λ for a loss term λ‖W‖²).
 *
 * Each thread updates one vec4. The last vec4 may run past the tensor into the
 * buffer's padding (pool buffers are 256-byte multiples); those lanes are
 * written back unchanged. When a buffer is too small for that, the scalar
 * kernel is used instead.
 */
import { CacnetError, ShapeError, fmtShape } from '../base/errors.js';
import { Tensor } from '../gpu/tensor.js';
import { program, uniformBlock } from '../gpu/program.js';
import { vec4Width } from '../gpu/wgsl.js';

const WG = 256;

type Width = 1 | 4;

/** The shared head of an update kernel: thread index, bounds, lane mask. */
function updateMain(width: Width, body: string): string {
  const vec = width === 4;
  return /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * ${WG}u + lid;
${
  vec
    ? `  if (i >= (p.n + 3u) / 4u) { return; }
  let live = vec4u(i * 4u) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.n);`
    : `  if (i >= p.n) { return; }
  let live = true;`
}
${body}
}`;
}

const arr = (width: Width): string => (width === 4 ? 'array<vec4f>' : 'array<f32>');

export interface SgdVariant {
  momentum: boolean;
  nesterov: boolean;
}

const SGD_UNIFORMS = uniformBlock({ n: 'u32', lr: 'f32', momentum: 'f32', decay: 'f32' });

export function sgdSource(width: Width, v: SgdVariant): string {
  const step = !v.momentum ? 'g' : v.nesterov ? 'g + p.momentum * vn' : 'vn';
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> W: ${arr(width)};
@group(0) @binding(1) var<storage, read> G: ${arr(width)};
${v.momentum ? `@group(0) @binding(2) var<storage, read_write> V: ${arr(width)};` : ''}
${SGD_UNIFORMS.declare(v.momentum ? 3 : 2)}
${updateMain(
  width,
  `  let w = W[i];
  let g = G[i] + p.decay * w;
${v.momentum ? `  let vo = V[i];
  let vn = p.momentum * vo + g;
  V[i] = select(vo, vn, live);` : ''}
  W[i] = select(w, w - p.lr * (${step}), live);`,
)}`;
}

const ADAM_UNIFORMS = uniformBlock({
  n: 'u32', step: 'u32', lr: 'f32', beta1: 'f32', beta2: 'f32', oneMinusBeta1: 'f32', oneMinusBeta2: 'f32',
  eps: 'f32', decay: 'f32', correction1: 'f32', correction2: 'f32',
});

export function adamSource(width: Width): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> W: ${arr(width)};
@group(0) @binding(1) var<storage, read> G: ${arr(width)};
@group(0) @binding(2) var<storage, read_write> M: ${arr(width)};
@group(0) @binding(3) var<storage, read_write> V: ${arr(width)};
${ADAM_UNIFORMS.declare(4)}
${updateMain(
  width,
  `  let w = W[i];
  let g = G[i] + p.decay * w;
  let mo = M[i];
  let vo = V[i];
  let m = p.beta1 * mo + p.oneMinusBeta1 * g;
  let v = p.beta2 * vo + p.oneMinusBeta2 * g * g;
  // Bias-corrected moments: m / (1 − β1^t), v / (1 − β2^t).
  let update = (m / p.correction1) / (sqrt(v / p.correction2) + p.eps);
  M[i] = select(mo, m, live);
  V[i] = select(vo, v, live);
  W[i] = select(w, w - p.lr * update, live);`,
)}`;
}

const SGD = program({
  op: 'sgd',
  uniforms: SGD_UNIFORMS,
  key: (v: { width: Width } & SgdVariant) => `v${v.width}${v.momentum ? (v.nesterov ? '|nesterov' : '|momentum') : ''}`,
  source: (v) => sgdSource(v.width, v),
  workgroupSize: WG,
});

const ADAM = program({ op: 'adam', uniforms: ADAM_UNIFORMS, key: (width: Width) => `v${width}`, source: adamSource, workgroupSize: WG });

/** Checks that a parameter, its gradient and slot tensors fit together. */
function checkUpdate(op: string, w: Tensor, g: Tensor, slots: Tensor[]): void {
  const who = w.name ? `parameter '${w.name}' ${fmtShape(w.shape)}` : `parameter ${fmtShape(w.shape)}`;
  for (const t of [w, g, ...slots]) {
    t.assertLive(`${op} (${who})`);
    t.expectDtype('f32', `${op} (${who})`);
  }
  if (g.size !== w.size) throw new ShapeError(`${op}: gradient ${fmtShape(g.shape)} does not match ${who}`);
  for (const s of slots) if (s.size !== w.size) throw new ShapeError(`${op}: state ${fmtShape(s.shape)} does not match ${who}`);
  const buffers = new Set([w.buffer, g.buffer, ...slots.map((s) => s.buffer)]);
  if (buffers.size !== 2 + slots.length) throw new CacnetError(`${op}: ${who} shares GPU memory with its gradient or optimiser state`);
}

export interface KernelWidthOption {
  /** Force the scalar kernel (tests); default: vec4 whenever the buffers allow. */
  scalar?: boolean;
}

function widthFor(n: number, buffers: GPUBuffer[], opts: KernelWidthOption): Width {
  return opts.scalar ? 1 : vec4Width(n, buffers);
}

export interface SgdUpdate extends KernelWidthOption {
  lr: number;
  /** 0 for plain SGD (no velocity tensor is read). */
  momentum: number;
  nesterov: boolean;
  /** Multiplies W in the gradient: 2λ for a loss term λ‖W‖². */
  decay: number;
}

/** In place: W ← W − lr·step, with v ← μv + g when a velocity tensor is given. */
export function sgdUpdate(w: Tensor, g: Tensor, velocity: Tensor | null, u: SgdUpdate): void {
  const slots = velocity ? [velocity] : [];
  checkUpdate('sgd', w, g, slots);
  const width = widthFor(w.size, [w.buffer, g.buffer, ...slots.map((s) => s.buffer)], u);
  SGD.run(w.rt, { width, momentum: velocity !== null, nesterov: u.nesterov }, {
    buffers: [w.buffer, g.buffer, ...slots.map((s) => s.buffer)],
    uniforms: { n: w.size, lr: u.lr, momentum: u.momentum, decay: u.decay },
    threads: Math.ceil(w.size / width),
  });
}

export interface AdamUpdate extends KernelWidthOption {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  decay: number;
  /** 1-based step count, for the bias correction. */
  step: number;
}

/** In place: one Adam step of W and its first/second moment tensors. */
export function adamUpdate(w: Tensor, g: Tensor, m: Tensor, v: Tensor, u: AdamUpdate): void {
  checkUpdate('adam', w, g, [m, v]);
  const width = widthFor(w.size, [w.buffer, g.buffer, m.buffer, v.buffer], u);
  // Bias corrections in float64 on the host: β2^t in f32 loses digits early on.
  ADAM.run(w.rt, width, {
    buffers: [w.buffer, g.buffer, m.buffer, v.buffer],
    uniforms: {
      n: w.size, step: u.step, lr: u.lr, beta1: u.beta1, beta2: u.beta2, oneMinusBeta1: 1 - u.beta1, oneMinusBeta2: 1 - u.beta2,
      eps: u.eps, decay: u.decay, correction1: 1 - u.beta1 ** u.step, correction2: 1 - u.beta2 ** u.step,
    },
    threads: Math.ceil(w.size / width),
  });
}
