/**
 * Fused softmax + multi-class Dice (eq. 3 of the CAC-Net paper), over a
 * channels-last logits tensor [..., C] and its ground truth.
 *
 *   pass 1 (many workgroups): softmax of each voxel's logits, and per class the
 *          partial sums Σ P·G, Σ P², Σ G², reduced in workgroup memory; the
 *          probabilities are never written to memory.
 *   pass 2 (one workgroup):  the totals, per-class Dice (2ΣPG + s)/(ΣP² + ΣG² + s),
 *          the loss Σ_i w_i (1 − Dice_i), and the coefficients the backward needs.
 *   backward (one pass):     recomputes the softmax of each voxel and writes
 *          dL/dlogits directly through the softmax Jacobian.
 *
 * Ground truth: u32 labels shaped like the logits without the channel axis
 * (values 0..C-1; a value ≥ C makes an all-zero one-hot row), or an f32
 * one-hot (or soft) map shaped like the logits.
 */
import { DtypeError, InputError, ShapeError, fmtShape } from '../base/errors.js';
import { Tensor } from '../gpu/tensor.js';
import { program, uniformBlock } from '../gpu/program.js';
import { flatMain, nextPow2 } from '../gpu/wgsl.js';
import { fillTarget, type DeviceProfile } from '../gpu/profile.js';
import { ROW_UNIFORMS, ROW_WG, rowLayout, rowUnitWgsl, softmaxRowWgsl, type RowLayout } from './softmax.js';

/** Most classes the fused kernels accept (each thread holds 3·C running sums). */
export const MAX_DICE_CLASSES = 64;
/** Threads per workgroup in the partial-sum pass. */
const WG = 64;
/**
 * Rows (voxels) each thread of the partial-sum pass visits: 8 on a CPU
 * adapter (fewer workgroups, fewer barriers); on a GPU as few as fill every
 * compute unit (a power of two, 1 to 8).
 */
function rowsPerThread(profile: DeviceProfile, rows: number): number {
  if (profile.family === 'swiftshader') return 8;
  return Math.min(8, nextPow2(Math.ceil(rows / (WG * fillTarget(profile)))));
}
/** Threads of the single finishing workgroup. */
const FINISH_WG = 256;
/** Workgroup memory the partial-sum reduction may use (the portable minimum). */
const WG_MEMORY_BYTES = 16384;

type Truth = 'labels' | 'onehot';

const PARTIAL_UNIFORMS = uniformBlock({ rows: 'u32', groups: 'u32' });
/** Class weights for every class count up to MAX_DICE_CLASSES (the kernel reads the first C). */
const FINISH_UNIFORMS = uniformBlock({ groups: 'u32', smoothing: 'f32', w: ['f32', MAX_DICE_CLASSES] });

/** WGSL for the one-hot unit k of this voxel's ground truth. */
function truthWgsl(l: RowLayout, truth: Truth): string {
  if (truth === 'onehot') return /* wgsl */ `fn truth(row: u32, k: u32) -> U { return T[row * K + k]; }`;
  const cmp = l.unit === 'vec4f' ? 'vec4u(lab) == vec4u(4u * k) + vec4u(0u, 1u, 2u, 3u)' : 'lab == k';
  return /* wgsl */ `fn truth(row: u32, k: u32) -> U {
  let lab = T[row];
  return select(U(0.0), U(1.0), ${cmp});
}`;
}

const truthBinding = (truth: Truth): string => (truth === 'onehot' ? 'array<U>' : 'array<u32>');

function partialSource(l: RowLayout, truth: Truth, perThread: number): string {
  const q = 3 * l.k; // units of running sums per thread: [ΣPG | ΣP² | ΣG²]
  const unitBytes = l.unit === 'vec4f' ? 16 : 4;
  const block = Math.min(q, Math.floor(WG_MEMORY_BYTES / (WG * unitBytes)));
  return /* wgsl */ `${rowUnitWgsl(l)}
const Q = ${q}u;
const B = ${block}u;
@group(0) @binding(0) var<storage, read> Z: array<U>;
@group(0) @binding(1) var<storage, read> T: ${truthBinding(truth)};
@group(0) @binding(2) var<storage, read_write> Part: array<U>;
${PARTIAL_UNIFORMS.declare(3)}
var<workgroup> sh: array<U, ${WG * block}>;
${truthWgsl(l, truth)}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= p.groups) { return; } // uniform per workgroup: barriers below stay legal
  var acc: array<U, Q>;
  for (var t = 0u; t < ${perThread}u; t++) {
    // Consecutive threads take consecutive rows, so loads coalesce.
    let row = (g * ${perThread}u + t) * ${WG}u + lid;
    if (row < p.rows) {
${softmaxRowWgsl('Z', 'row * K')}
      for (var k = 0u; k < K; k++) {
        let gt = truth(row, k);
        acc[k] += r[k] * gt;
        acc[K + k] += r[k] * r[k];
        acc[2u * K + k] += gt * gt;
      }
    }
  }
  // Tree-reduce the running sums B units at a time (bounded workgroup memory).
  for (var b0 = 0u; b0 < Q; b0 += B) {
    for (var j = 0u; j < B; j++) {
      if (b0 + j < Q) { sh[lid * B + j] = acc[b0 + j]; }
    }
    workgroupBarrier();
    for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
      if (lid < s) {
        for (var j = 0u; j < B; j++) { sh[lid * B + j] += sh[(lid + s) * B + j]; }
      }
      workgroupBarrier();
    }
    for (var j = lid; j < B; j += ${WG}u) {
      if (b0 + j < Q) { Part[g * Q + b0 + j] = sh[j]; }
    }
    workgroupBarrier();
  }
}`;
}

function finishSource(c: number): string {
  return /* wgsl */ `
const C = ${c}u;
const Q = ${3 * c}u;
@group(0) @binding(0) var<storage, read> Part: array<f32>;
@group(0) @binding(1) var<storage, read_write> Loss: array<f32>;
@group(0) @binding(2) var<storage, read_write> Dice: array<f32>;
@group(0) @binding(3) var<storage, read_write> Coef: array<f32>;
${FINISH_UNIFORMS.declare(4)}
var<workgroup> red: array<f32, ${FINISH_WG}>;
var<workgroup> total: array<f32, Q>;

fn weight(c: u32) -> f32 { return p.w[c / 4u][c % 4u]; }

@compute @workgroup_size(${FINISH_WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  for (var q = 0u; q < Q; q++) {
    var s = 0.0;
    for (var g = lid; g < p.groups; g += ${FINISH_WG}u) { s += Part[g * Q + q]; }
    red[lid] = s;
    workgroupBarrier();
    for (var h = ${FINISH_WG / 2}u; h > 0u; h = h >> 1u) {
      if (lid < h) { red[lid] += red[lid + h]; }
      workgroupBarrier();
    }
    if (lid == 0u) { total[q] = red[0]; }
    workgroupBarrier();
  }
  if (lid < C) {
    let a = 2.0 * total[lid] + p.smoothing;            // 2ΣPG + s
    let b = total[C + lid] + total[2u * C + lid] + p.smoothing; // ΣP² + ΣG² + s
    let w = weight(lid);
    Dice[lid] = a / b;
    // L = Σ w (1 − a/b)  ⇒  dL/dP = α·G + β·P with
    Coef[lid] = -2.0 * w / b;          // α
    Coef[C + lid] = 2.0 * w * a / (b * b); // β
  }
  if (lid == 0u) {
    var loss = 0.0;
    for (var c = 0u; c < C; c++) {
      let a = 2.0 * total[c] + p.smoothing;
      let b = total[C + c] + total[2u * C + c] + p.smoothing;
      loss += weight(c) * (1.0 - a / b);
    }
    Loss[0] = loss;
  }
}`;
}

function backwardSource(l: RowLayout, truth: Truth): string {
  return /* wgsl */ `${rowUnitWgsl(l)}
@group(0) @binding(0) var<storage, read> Z: array<U>;
@group(0) @binding(1) var<storage, read> T: ${truthBinding(truth)};
@group(0) @binding(2) var<storage, read> Coef: array<U>;
@group(0) @binding(3) var<storage, read> GL: array<f32>;
@group(0) @binding(4) var<storage, read_write> DZ: array<U>;
${ROW_UNIFORMS.declare(5)}
${truthWgsl(l, truth)}
${flatMain(`  if (i >= p.rows) { return; }
${softmaxRowWgsl('Z', 'i * K')}
  let gl = GL[0];
  var gp: array<U, K>; // dL/dP for this voxel
  var dv = U(0.0);
  for (var k = 0u; k < K; k++) {
    gp[k] = gl * (Coef[k] * truth(i, k) + Coef[K + k] * r[k]);
    dv += r[k] * gp[k];
  }
  let d = hsum(dv);
  // Softmax Jacobian: dL/dz_c = P_c (g_c − Σ_k P_k g_k).
  for (var k = 0u; k < K; k++) { DZ[i * K + k] = r[k] * (gp[k] - d); }`, ROW_WG)}`;
}

interface Variant {
  c: number;
  truth: Truth;
}
const variantKey = (v: Variant) => `c${v.c}|${v.truth}`;

const PARTIAL = program({
  op: 'softmaxDiceLoss partial sums',
  uniforms: PARTIAL_UNIFORMS,
  key: (v: Variant & { perThread: number }) => `${variantKey(v)}|r${v.perThread}`,
  source: (v) => partialSource(rowLayout(v.c), v.truth, v.perThread),
});

const FINISH = program({ op: 'softmaxDiceLoss finish', uniforms: FINISH_UNIFORMS, key: (c: number) => `c${c}`, source: finishSource });

const BACKWARD = program({
  op: 'softmaxDiceLoss backward',
  uniforms: ROW_UNIFORMS,
  key: variantKey,
  source: (v: Variant) => backwardSource(rowLayout(v.c), v.truth),
  workgroupSize: ROW_WG,
});

export interface DiceKernelOptions {
  /** Added to numerator and denominator of every class's Dice (eq. 3's smooth). */
  smooth: number;
  /** Per-class weight in the loss (0 drops a class from it); length C. */
  weights: readonly number[];
}

export interface DiceForward {
  /** Σ_i w_i (1 − Dice_i), shape [1]. */
  loss: Tensor;
  /** Dice coefficient of every class (background included), shape [C]. */
  dice: Tensor;
  /** [α_0..α_{C-1}, β_0..β_{C-1}] with dL/dP = α·G + β·P, for the backward. */
  coef: Tensor;
}

/** Checks logits and ground truth; returns the class count and the truth kind. */
export function checkDiceInputs(op: string, logits: Tensor, truth: Tensor): { c: number; rows: number; kind: Truth } {
  logits.assertLive(op);
  truth.assertLive(op);
  logits.expectDtype('f32', `${op} (logits)`);
  if (logits.rank < 2) {
    throw new ShapeError(`${op}: logits must be channels-last [..., C] with at least one spatial/batch axis, got ${fmtShape(logits.shape)}`);
  }
  const c = logits.shape[logits.rank - 1]!;
  if (c < 2 || c > MAX_DICE_CLASSES) {
    throw new ShapeError(`${op}: logits ${fmtShape(logits.shape)} have ${c} classes on the last axis; expected 2..${MAX_DICE_CLASSES}`);
  }
  if (logits.rt !== truth.rt) throw new ShapeError(`${op}: logits and labels live on different GPU devices`);
  const spatial = logits.shape.slice(0, -1);
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  let kind: Truth;
  if (truth.dtype === 'u32') {
    if (!same(truth.shape, spatial)) {
      throw new ShapeError(`${op}: labels ${fmtShape(truth.shape)} must have the logits' shape without the channel axis, ${fmtShape(spatial)} (logits ${fmtShape(logits.shape)})`);
    }
    kind = 'labels';
  } else if (truth.dtype === 'f32') {
    if (!same(truth.shape, logits.shape)) {
      throw new ShapeError(`${op}: an f32 ground truth is a one-hot map and must match the logits ${fmtShape(logits.shape)}, got ${fmtShape(truth.shape)} (pass class indices as a u32 tensor of shape ${fmtShape(spatial)})`);
    }
    kind = 'onehot';
  } else {
    throw new DtypeError(`${op}: labels must be a u32 tensor of class indices ${fmtShape(spatial)} or an f32 one-hot ${fmtShape(logits.shape)}, got ${truth.dtype} ${fmtShape(truth.shape)}`);
  }
  return { c, rows: logits.size / c, kind };
}

/** Both Dice passes; see the file comment. */
export function softmaxDiceForward(logits: Tensor, truth: Tensor, opts: DiceKernelOptions): DiceForward {
  const op = 'softmaxDiceLoss';
  const { c, rows, kind } = checkDiceInputs(op, logits, truth);
  if (!(opts.smooth >= 0) || !Number.isFinite(opts.smooth)) throw new InputError(`${op}: smooth must be a finite number >= 0, got ${opts.smooth}`);
  if (opts.weights.length !== c || opts.weights.some((w) => !Number.isFinite(w))) {
    throw new InputError(`${op}: expected ${c} finite class weights, got [${opts.weights.join(', ')}]`);
  }
  const rt = logits.rt;
  const perThread = rowsPerThread(rt.profile, rows);
  const groups = Math.ceil(rows / (WG * perThread));
  const part = Tensor.empty(rt, [Math.max(groups, 1), 3 * c], 'f32', `${op} partial sums`);
  PARTIAL.run(rt, { c, truth: kind, perThread }, { buffers: [logits.buffer, truth.buffer, part.buffer], uniforms: { rows, groups }, workgroups: groups });

  const loss = Tensor.empty(rt, [1], 'f32', op);
  const dice = Tensor.empty(rt, [c], 'f32', `${op} per-class dice`);
  const coef = Tensor.empty(rt, [2, c], 'f32', `${op} coefficients`);
  FINISH.run(rt, c, {
    buffers: [part.buffer, loss.buffer, dice.buffer, coef.buffer],
    uniforms: { groups, smoothing: opts.smooth, w: opts.weights },
    workgroups: 1,
  });
  part.dispose(); // safe before submit: the pool only reuses it in encoder order
  return { loss, dice, coef };
}

/** dL/dlogits given the forward's coefficients and dL/dloss (a [1] tensor). */
export function softmaxDiceBackward(logits: Tensor, truth: Tensor, coef: Tensor, gradLoss: Tensor): Tensor {
  const op = 'softmaxDiceLoss backward';
  const { c, rows, kind } = checkDiceInputs(op, logits, truth);
  coef.assertLive(op);
  gradLoss.assertLive(op);
  if (coef.size !== 2 * c) throw new ShapeError(`${op}: coefficients ${fmtShape(coef.shape)} do not fit ${c} classes`);
  if (gradLoss.size !== 1) throw new ShapeError(`${op}: the loss gradient must have one element, got ${fmtShape(gradLoss.shape)}`);
  gradLoss.expectDtype('f32', op);
  const dz = Tensor.empty(logits.rt, logits.shape, 'f32', op);
  BACKWARD.run(logits.rt, { c, truth: kind }, {
    buffers: [logits.buffer, truth.buffer, coef.buffer, gradLoss.buffer, dz.buffer],
    uniforms: { rows },
    threads: rows,
  });
  return dz;
}
