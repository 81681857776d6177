/**
 * Normalisation over groups of channels, the machinery batch norm and group
 * norm share. A channels-last tensor is viewed as [outer, rows, C]; statistics
 * are taken per (slice, group of cg channels) over rows·cg values:
 *
 *   batch norm: outer = 1, rows = N·(D·)H·W, cg = 1
 *   group norm: outer = N, rows = (D·)H·W,   cg = C / G
 *
 * Both keep a `stats` tensor [outer, 4, C]: per (slice, channel) the mean and
 * 1/σ of its group, and the folded affine scale = γ/σ, shift = β − mean·γ/σ,
 * so the forward normalise is one FMA per element and the backward recomputes
 * x̂ from x instead of saving it.
 *
 * Forward:  moment sums (one pass: Σ(x−k), Σ(x−k)², k = the slice's first row,
 *           which keeps f32 cancellation small) → per-channel stats → y.
 * Backward: one pass Σdy, Σdy·x̂ per (slice, channel) → per-group
 *           coefficients → one elementwise pass for dx; dγ, dβ from the sums.
 * An optional fused ReLU applies max(0, ·) after the affine; its backward
 * masks dy by recomputing the pre-activation sign.
 */
import { DtypeError, ShapeError, fmtShape } from '../base/errors.js';
import { Tensor } from '../gpu/tensor.js';
import { program, uniformBlock } from '../gpu/program.js';
import { WG, flatMain, vecType } from '../gpu/wgsl.js';
import { pairSums, sumOverSlices, type ReduceGeometry } from './norm-reduce.js';

export type NormGeometry = ReduceGeometry;

/** Which gradients the tape wants. */
export interface NormGradNeeds {
  x: boolean;
  gamma: boolean;
  beta: boolean;
}

export interface NormGrads {
  dx: Tensor | null;
  dgamma: Tensor | null;
  dbeta: Tensor | null;
}

export interface NormForward {
  y: Tensor;
  /** [outer, 4, C]: mean, 1/σ, scale, shift per (slice, channel); what the backward needs. */
  stats: Tensor;
}

/** Running-statistics update done by the training forward of batch norm. */
export interface RunningUpdate {
  mean: Tensor;
  variance: Tensor;
  momentum: number;
}

function checkTensor(op: string, t: Tensor, what: string): void {
  t.assertLive(op);
  if (t.dtype !== 'f32') throw new DtypeError(`${op}: ${what} must be f32, got ${t.dtype} ${fmtShape(t.shape)}`);
}

/** Checks x (rank 4 NHWC or 5 NDHWC, f32, non-empty) and a per-channel vector; returns C. */
export function checkNormInput(op: string, x: Tensor): number {
  checkTensor(op, x, 'x');
  if (x.rank !== 4 && x.rank !== 5) {
    throw new ShapeError(`${op}: expected x of rank 4 (NHWC) or 5 (NDHWC), got rank ${x.rank} ${fmtShape(x.shape)}`);
  }
  if (x.size === 0) throw new ShapeError(`${op}: x ${fmtShape(x.shape)} is empty`);
  return x.shape[x.rank - 1]!;
}

/** Checks a per-channel parameter (γ, β, running stats): f32 of shape [C]. */
export function checkChannelVector(op: string, t: Tensor, what: string, x: Tensor, c: number): void {
  checkTensor(op, t, what);
  if (t.rt !== x.rt) throw new ShapeError(`${op}: ${what} and x live on different GPU devices`);
  if (t.rank !== 1 || t.shape[0] !== c) {
    throw new ShapeError(`${op}: ${what} has shape ${fmtShape(t.shape)} but x ${fmtShape(x.shape)} has ${c} channels; expected [${c}]`);
  }
}

/** Checks eps: finite and non-negative. */
export function checkEps(op: string, eps: number): void {
  if (!Number.isFinite(eps) || eps < 0) throw new ShapeError(`${op}: eps must be a finite number >= 0, got ${eps}`);
}

/** Checks dy against x for a backward call. */
export function checkGradOutput(op: string, dy: Tensor, x: Tensor): void {
  checkTensor(op, dy, 'dy');
  if (dy.rank !== x.rank || dy.shape.some((d, i) => d !== x.shape[i])) {
    throw new ShapeError(`${op}: gradient ${fmtShape(dy.shape)} does not match x ${fmtShape(x.shape)}`);
  }
}

// ---- forward ---------------------------------------------------------------

const momentLoad = {
  key: 'moments',
  decls: '@group(0) @binding(0) var<storage, read> X: array<V>;',
  body: `  let k = X[o * p.rows * p.cv + cv];
  let v = X[(o * p.rows + row) * p.cv + cv] - k;
  return Pair(v, v * v);`,
};

/** [outer, 2, C]: Σ(x − k) and Σ(x − k)² per (slice, channel), k = the slice's first row. */
export function momentSums(x: Tensor, g: NormGeometry): Tensor {
  return pairSums({ label: 'norm-moments', ...momentLoad, inputs: [x] }, g);
}

const STATS_UNIFORMS = uniformBlock({ n: 'u32', rows: 'u32', c: 'u32', cg: 'u32', eps: 'f32', momentum: 'f32' }, 'Q');

function statsFromSumsSource(running: boolean): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read> GAMMA: array<f32>;
@group(0) @binding(3) var<storage, read> BETA: array<f32>;
@group(0) @binding(4) var<storage, read_write> STATS: array<f32>;
${running ? `@group(0) @binding(5) var<storage, read_write> RM: array<f32>;
@group(0) @binding(6) var<storage, read_write> RV: array<f32>;` : ''}
${STATS_UNIFORMS.declare(running ? 7 : 5, 'q')}
${flatMain(`  if (i >= q.n) { return; }
  let c = i % q.c;
  let o = i / q.c;
  let g0 = (c / q.cg) * q.cg;
  let rows = f32(q.rows);
  let sBase = o * 2u * q.c;
  let xBase = o * q.rows * q.c;
  // Per-channel means (shift + shifted mean), then the group's mean and M2
  // combined exactly from per-channel parts (Chan et al.): no Σx² − (Σx)² of raw values.
  var meanSum = 0.0;
  for (var j = g0; j < g0 + q.cg; j++) {
    meanSum += X[xBase + j] + S[sBase + j] / rows;
  }
  let mean = meanSum / f32(q.cg);
  var m2 = 0.0;
  for (var j = g0; j < g0 + q.cg; j++) {
    let s1 = S[sBase + j];
    let s2 = S[sBase + q.c + j];
    let dm = X[xBase + j] + s1 / rows - mean;
    m2 += max(s2 - s1 * s1 / rows, 0.0) + rows * dm * dm;
  }
  let count = rows * f32(q.cg);
  let variance = m2 / count;
  let invstd = 1.0 / sqrt(variance + q.eps);
  let scale = GAMMA[c] * invstd;
  let st = o * 4u * q.c + c;
  STATS[st] = mean;
  STATS[st + q.c] = invstd;
  STATS[st + 2u * q.c] = scale;
  STATS[st + 3u * q.c] = BETA[c] - mean * scale;
${running ? `  // PyTorch convention: the running variance takes the unbiased estimate.
  RM[c] = (1.0 - q.momentum) * RM[c] + q.momentum * mean;
  RV[c] = (1.0 - q.momentum) * RV[c] + q.momentum * variance * count / (count - 1.0);` : ''}`)}`;
}

const STATS = program({
  op: 'norm-stats',
  uniforms: STATS_UNIFORMS,
  key: (running: boolean) => (running ? 'running' : ''),
  source: statsFromSumsSource,
  workgroupSize: WG,
});

/**
 * Stats [outer, 4, C] from moment sums. With `running` (batch norm only:
 * outer = 1, cg = 1) also updates the running mean and variance in place.
 */
export function statsFromSums(x: Tensor, sums: Tensor, gamma: Tensor, beta: Tensor, g: NormGeometry, eps: number, running?: RunningUpdate): Tensor {
  const stats = Tensor.empty(x.rt, [g.outer, 4, g.c], 'f32', 'norm-stats');
  const buffers = [x.buffer, sums.buffer, gamma.buffer, beta.buffer, stats.buffer];
  if (running) buffers.push(running.mean.buffer, running.variance.buffer);
  STATS.run(x.rt, running !== undefined, {
    buffers,
    uniforms: { n: g.outer * g.c, rows: g.rows, c: g.c, cg: g.cg, eps, momentum: running?.momentum ?? 0 },
    threads: g.outer * g.c,
  });
  return stats;
}

const RUNNING_UNIFORMS = uniformBlock({ c: 'u32', eps: 'f32' }, 'Q');
const STATS_FROM_RUNNING = program({
  op: 'norm-stats-running',
  uniforms: RUNNING_UNIFORMS,
  key: () => '',
  source: () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> GAMMA: array<f32>;
@group(0) @binding(1) var<storage, read> BETA: array<f32>;
@group(0) @binding(2) var<storage, read> RM: array<f32>;
@group(0) @binding(3) var<storage, read> RV: array<f32>;
@group(0) @binding(4) var<storage, read_write> STATS: array<f32>;
${RUNNING_UNIFORMS.declare(5, 'q')}
${flatMain(`  if (i >= q.c) { return; }
  let mean = RM[i];
  let invstd = 1.0 / sqrt(RV[i] + q.eps);
  let scale = GAMMA[i] * invstd;
  STATS[i] = mean;
  STATS[i + q.c] = invstd;
  STATS[i + 2u * q.c] = scale;
  STATS[i + 3u * q.c] = BETA[i] - mean * scale;`)}`,
  workgroupSize: WG,
});

/** Stats [1, 4, C] from running mean and variance (batch norm in eval mode). */
export function statsFromRunning(gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, eps: number): Tensor {
  const c = gamma.size;
  const stats = Tensor.empty(gamma.rt, [1, 4, c], 'f32', 'norm-stats');
  STATS_FROM_RUNNING.run(gamma.rt, undefined, {
    buffers: [gamma.buffer, beta.buffer, mean.buffer, variance.buffer, stats.buffer],
    uniforms: { c, eps },
    threads: c,
  });
  return stats;
}

/** Uniforms of the elementwise passes: vectors in all, vectors per slice, channel vectors per row. */
const ELEMENTWISE_UNIFORMS = uniformBlock({ n: 'u32', sliceVecs: 'u32', cv: 'u32' }, 'E');

function normaliseSource(vec: 1 | 4, relu: boolean): string {
  return /* wgsl */ `
alias V = ${vecType(vec)};
@group(0) @binding(0) var<storage, read> X: array<V>;
@group(0) @binding(1) var<storage, read> STATS: array<V>;
@group(0) @binding(2) var<storage, read_write> Y: array<V>;
${ELEMENTWISE_UNIFORMS.declare(3, 'e')}
${flatMain(`  if (i >= e.n) { return; }
  let cv = i % e.cv;
  let s = (i / e.sliceVecs) * 4u * e.cv + cv;
  let y = X[i] * STATS[s + 2u * e.cv] + STATS[s + 3u * e.cv];
  Y[i] = ${relu ? 'max(y, V(0.0))' : 'y'};`)}`;
}

function elementwiseValues(g: NormGeometry) {
  const cv = g.c / g.vec;
  return { n: g.outer * g.rows * cv, sliceVecs: g.rows * cv, cv };
}

const NORMALISE = program({
  op: 'norm-apply',
  uniforms: ELEMENTWISE_UNIFORMS,
  key: (v: { vec: 1 | 4; relu: boolean }) => `v${v.vec}${v.relu ? '|relu' : ''}`,
  source: (v) => normaliseSource(v.vec, v.relu),
  workgroupSize: WG,
});

/** y = x·scale + shift per (slice, channel), optionally followed by ReLU. */
export function normalise(x: Tensor, stats: Tensor, g: NormGeometry, relu: boolean): Tensor {
  const y = Tensor.empty(x.rt, x.shape, 'f32', 'norm');
  NORMALISE.run(x.rt, { vec: g.vec, relu }, {
    label: relu ? 'norm-apply-relu' : 'norm-apply',
    buffers: [x.buffer, stats.buffer, y.buffer],
    uniforms: elementwiseValues(g),
    threads: x.size / g.vec,
  });
  return y;
}

// ---- backward --------------------------------------------------------------

/** WGSL that masks `d` by the fused ReLU: recomputes the pre-activation from x. */
function reluMask(relu: boolean, st: string, cv: string): string {
  return relu ? `  d = select(V(0.0), d, x * STATS[${st} + 2u * ${cv}] + STATS[${st} + 3u * ${cv}] > V(0.0));` : '';
}

function backwardLoad(relu: boolean) {
  return {
    key: relu ? 'backward-relu' : 'backward',
    decls: `@group(0) @binding(0) var<storage, read> X: array<V>;
@group(0) @binding(1) var<storage, read> DY: array<V>;
@group(0) @binding(2) var<storage, read> STATS: array<V>;`,
    body: `  let idx = (o * p.rows + row) * p.cv + cv;
  let st = o * 4u * p.cv + cv;
  let x = X[idx];
  var d = DY[idx];
${reluMask(relu, 'st', 'p.cv')}
  let xh = (x - STATS[st]) * STATS[st + p.cv];
  return Pair(d, d * xh);`,
  };
}

/** [outer, 2, C]: Σdy and Σdy·x̂ per (slice, channel) (dy masked by the fused ReLU). */
export function backwardSums(dy: Tensor, x: Tensor, stats: Tensor, g: NormGeometry, relu: boolean): Tensor {
  return pairSums({ label: 'norm-backward-sums', ...backwardLoad(relu), inputs: [x, dy, stats] }, g);
}

const COEFFICIENT_UNIFORMS = uniformBlock({ n: 'u32', c: 'u32', cg: 'u32', count: 'f32' }, 'Q');
const COEFFICIENTS = program({
  op: 'norm-coefficients',
  uniforms: COEFFICIENT_UNIFORMS,
  key: () => '',
  source: () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> S: array<f32>;
@group(0) @binding(1) var<storage, read> GAMMA: array<f32>;
@group(0) @binding(2) var<storage, read_write> COEF: array<f32>;
${COEFFICIENT_UNIFORMS.declare(3, 'q')}
${flatMain(`  if (i >= q.n) { return; }
  let c = i % q.c;
  let o = i / q.c;
  let g0 = (c / q.cg) * q.cg;
  let base = o * 2u * q.c;
  // dL/dx̂ = γ·dy, so the group terms are Σγ·dy and Σγ·dy·x̂ over the group's channels.
  var a = 0.0;
  var b = 0.0;
  for (var j = g0; j < g0 + q.cg; j++) {
    a += GAMMA[j] * S[base + j];
    b += GAMMA[j] * S[base + q.c + j];
  }
  COEF[base + c] = a / q.count;
  COEF[base + q.c + c] = b / q.count;`)}`,
  workgroupSize: WG,
});

function inputGradientSource(vec: 1 | 4, relu: boolean, batchStats: boolean): string {
  // With fixed (running) statistics dx = dy·scale; with batch statistics the
  // mean and variance depend on x too, which the group coefficients carry.
  const decls = batchStats
    ? `@group(0) @binding(0) var<storage, read> X: array<V>;
@group(0) @binding(1) var<storage, read> DY: array<V>;
@group(0) @binding(2) var<storage, read> STATS: array<V>;
@group(0) @binding(3) var<storage, read> GAMMA: array<V>;
@group(0) @binding(4) var<storage, read> COEF: array<V>;
@group(0) @binding(5) var<storage, read_write> DX: array<V>;
${ELEMENTWISE_UNIFORMS.declare(6, 'e')}`
    : `@group(0) @binding(0) var<storage, read> DY: array<V>;
@group(0) @binding(1) var<storage, read> STATS: array<V>;
@group(0) @binding(2) var<storage, read_write> DX: array<V>;
${relu ? '@group(0) @binding(3) var<storage, read> X: array<V>;' : ''}
${ELEMENTWISE_UNIFORMS.declare(relu ? 4 : 3, 'e')}`;
  const body = batchStats
    ? `  let k = (i / e.sliceVecs) * 2u * e.cv + cv;
  let invstd = STATS[st + e.cv];
  let xh = (x - STATS[st]) * invstd;
  DX[i] = invstd * (GAMMA[cv] * d - COEF[k] - xh * COEF[k + e.cv]);`
    : `  DX[i] = d * STATS[st + 2u * e.cv];`;
  return /* wgsl */ `
alias V = ${vecType(vec)};
${decls}
${flatMain(`  if (i >= e.n) { return; }
  let cv = i % e.cv;
  let st = (i / e.sliceVecs) * 4u * e.cv + cv;
${batchStats || relu ? '  let x = X[i];' : ''}
  var d = DY[i];
${reluMask(relu, 'st', 'e.cv')}
${body}`)}`;
}

const INPUT_GRADIENT = program({
  op: 'norm-dx',
  uniforms: ELEMENTWISE_UNIFORMS,
  key: (v: { vec: 1 | 4; relu: boolean; batchStats: boolean }) => `v${v.vec}${v.relu ? '|relu' : ''}${v.batchStats ? '|batch' : ''}`,
  source: (v) => inputGradientSource(v.vec, v.relu, v.batchStats),
  workgroupSize: WG,
});

/**
 * dL/dx. `sums` (from backwardSums) is needed when the statistics were batch
 * statistics (training batch norm, group norm); pass null for fixed ones.
 */
export function inputGradient(dy: Tensor, x: Tensor, gamma: Tensor, stats: Tensor, sums: Tensor | null, g: NormGeometry, relu: boolean): Tensor {
  const rt = x.rt;
  const dx = Tensor.empty(rt, x.shape, 'f32', 'norm-dx');
  let buffers: GPUBuffer[];
  let coef: Tensor | null = null;
  if (sums) {
    coef = Tensor.empty(rt, [g.outer, 2, g.c], 'f32', 'norm-coefficients');
    COEFFICIENTS.run(rt, undefined, {
      buffers: [sums.buffer, gamma.buffer, coef.buffer],
      uniforms: { n: g.outer * g.c, c: g.c, cg: g.cg, count: g.rows * g.cg },
      threads: g.outer * g.c,
    });
    buffers = [x.buffer, dy.buffer, stats.buffer, gamma.buffer, coef.buffer, dx.buffer];
  } else {
    buffers = [dy.buffer, stats.buffer, dx.buffer, ...(relu ? [x.buffer] : [])];
  }
  INPUT_GRADIENT.run(rt, { vec: g.vec, relu, batchStats: sums !== null }, { buffers, uniforms: elementwiseValues(g), threads: x.size / g.vec });
  coef?.dispose();
  return dx;
}

/** dγ = Σdy·x̂ and dβ = Σdy per channel, over every slice. */
export function paramGradients(sums: Tensor, g: NormGeometry, need: NormGradNeeds): { dgamma: Tensor | null; dbeta: Tensor | null } {
  const rt = sums.rt;
  const total = g.outer > 1 ? sumOverSlices(sums, g.vec) : sums;
  const bytes = g.c * 4;
  let dgamma: Tensor | null = null;
  let dbeta: Tensor | null = null;
  if (need.beta) {
    dbeta = Tensor.empty(rt, [g.c], 'f32', 'norm-dbeta');
    rt.copy(total.buffer, dbeta.buffer, bytes, 0, 0);
  }
  if (need.gamma) {
    dgamma = Tensor.empty(rt, [g.c], 'f32', 'norm-dgamma');
    rt.copy(total.buffer, dgamma.buffer, bytes, bytes, 0);
  }
  if (total !== sums) total.dispose();
  return { dgamma, dbeta };
}

/**
 * The whole backward: one reduction pass (skipped when nothing needs it), the
 * dx pass, and dγ/dβ read out of the same sums. `batchStats` says whether the
 * forward normalised with statistics of this batch.
 */
export function normBackward(
  dy: Tensor, x: Tensor, gamma: Tensor, stats: Tensor, g: NormGeometry,
  opts: { batchStats: boolean; relu: boolean; need: NormGradNeeds },
): NormGrads {
  const { batchStats, relu, need } = opts;
  const needSums = need.gamma || need.beta || (batchStats && need.x);
  const sums = needSums ? backwardSums(dy, x, stats, g, relu) : null;
  const dx = need.x ? inputGradient(dy, x, gamma, stats, batchStats ? sums : null, g, relu) : null;
  const { dgamma, dbeta } = sums ? paramGradients(sums, g, need) : { dgamma: null, dbeta: null };
  sums?.dispose();
  return { dx, dgamma, dbeta };
}
