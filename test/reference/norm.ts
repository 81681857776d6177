/**
 * Float64 references for batch norm and group norm over channels-last tensors,
 * written plainly (two-pass mean and variance, explicit loops) so they share no
 * numerical tricks with the kernels.
 */

export interface NormRef {
  y: Float64Array;
  /** Per statistics set (channel for batch norm, (n, g) for group norm). */
  mean: Float64Array;
  /** Biased variance per set. */
  variance: Float64Array;
}

export interface NormGradRef {
  dx: Float64Array;
  dgamma: Float64Array;
  dbeta: Float64Array;
}

/** Which statistics set element i belongs to, given a layout. */
type SetOf = (i: number) => number;

function bnSets(shape: readonly number[]): { sets: number; setOf: SetOf; c: number } {
  const c = shape[shape.length - 1]!;
  return { sets: c, setOf: (i) => i % c, c };
}

function gnSets(shape: readonly number[], groups: number): { sets: number; setOf: SetOf; c: number } {
  const n = shape[0]!;
  const c = shape[shape.length - 1]!;
  const perSample = shape.slice(1).reduce((a, b) => a * b, 1);
  const cg = c / groups;
  return { sets: n * groups, setOf: (i) => Math.floor(i / perSample) * groups + Math.floor((i % c) / cg), c };
}

function moments(x: ArrayLike<number>, sets: number, setOf: SetOf): { mean: Float64Array; variance: Float64Array; count: Float64Array } {
  const mean = new Float64Array(sets);
  const variance = new Float64Array(sets);
  const count = new Float64Array(sets);
  for (let i = 0; i < x.length; i++) {
    mean[setOf(i)] += x[i]!;
    count[setOf(i)]++;
  }
  for (let s = 0; s < sets; s++) mean[s] /= count[s]!;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - mean[setOf(i)]!;
    variance[setOf(i)] += d * d;
  }
  for (let s = 0; s < sets; s++) variance[s] /= count[s]!;
  return { mean, variance, count };
}

function apply(x: ArrayLike<number>, c: number, setOf: SetOf, mean: ArrayLike<number>, variance: ArrayLike<number>,
  gamma: ArrayLike<number>, beta: ArrayLike<number>, eps: number, relu: boolean): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const s = setOf(i);
    const v = ((x[i]! - mean[s]!) / Math.sqrt(variance[s]! + eps)) * gamma[i % c]! + beta[i % c]!;
    y[i] = relu ? Math.max(v, 0) : v;
  }
  return y;
}

/** Batch norm with batch statistics (training mode). */
export function batchNormRef(x: ArrayLike<number>, shape: readonly number[], gamma: ArrayLike<number>, beta: ArrayLike<number>, eps: number, relu = false): NormRef {
  const { sets, setOf, c } = bnSets(shape);
  const { mean, variance } = moments(x, sets, setOf);
  return { y: apply(x, c, setOf, mean, variance, gamma, beta, eps, relu), mean, variance };
}

/** Batch norm with given (running) statistics (eval mode). */
export function batchNormEvalRef(x: ArrayLike<number>, shape: readonly number[], gamma: ArrayLike<number>, beta: ArrayLike<number>,
  runningMean: ArrayLike<number>, runningVar: ArrayLike<number>, eps: number, relu = false): Float64Array {
  const { setOf, c } = bnSets(shape);
  return apply(x, c, setOf, runningMean, runningVar, gamma, beta, eps, relu);
}

/** PyTorch's running-statistics update: unbiased variance, momentum weights the batch. */
export function runningUpdateRef(x: ArrayLike<number>, shape: readonly number[], runningMean: ArrayLike<number>, runningVar: ArrayLike<number>, momentum: number): { mean: Float64Array; variance: Float64Array } {
  const { sets, setOf } = bnSets(shape);
  const { mean, variance, count } = moments(x, sets, setOf);
  const m = new Float64Array(sets);
  const v = new Float64Array(sets);
  for (let s = 0; s < sets; s++) {
    m[s] = (1 - momentum) * runningMean[s]! + momentum * mean[s]!;
    v[s] = (1 - momentum) * runningVar[s]! + momentum * variance[s]! * count[s]! / (count[s]! - 1);
  }
  return { mean: m, variance: v };
}

/** Group norm: statistics per (sample, group of C/G consecutive channels). */
export function groupNormRef(x: ArrayLike<number>, shape: readonly number[], groups: number, gamma: ArrayLike<number>, beta: ArrayLike<number>, eps: number, relu = false): NormRef {
  const { sets, setOf, c } = gnSets(shape, groups);
  const { mean, variance } = moments(x, sets, setOf);
  return { y: apply(x, c, setOf, mean, variance, gamma, beta, eps, relu), mean, variance };
}

/**
 * Gradients when y = x̂·γ + β (then ReLU) and x̂ = (x − μ_s)/σ_s. With batch
 * statistics μ and σ depend on x: dx = (1/σ)(dx̂ − mean_s(dx̂) − x̂·mean_s(dx̂·x̂));
 * with fixed statistics dx = dx̂/σ.
 */
function gradients(x: ArrayLike<number>, c: number, sets: number, setOf: SetOf, mean: ArrayLike<number>, variance: ArrayLike<number>,
  gamma: ArrayLike<number>, beta: ArrayLike<number>, dy: ArrayLike<number>, eps: number, batchStats: boolean, relu: boolean): NormGradRef {
  const n = x.length;
  const xh = new Float64Array(n);
  const g = new Float64Array(n);
  const dgamma = new Float64Array(c);
  const dbeta = new Float64Array(c);
  const sumD = new Float64Array(sets);
  const sumDX = new Float64Array(sets);
  const count = new Float64Array(sets);
  for (let i = 0; i < n; i++) {
    const s = setOf(i);
    const ch = i % c;
    xh[i] = (x[i]! - mean[s]!) / Math.sqrt(variance[s]! + eps);
    g[i] = relu && xh[i]! * gamma[ch]! + beta[ch]! <= 0 ? 0 : dy[i]!;
    dgamma[ch] += g[i]! * xh[i]!;
    dbeta[ch] += g[i]!;
    const dxh = g[i]! * gamma[ch]!;
    sumD[s] += dxh;
    sumDX[s] += dxh * xh[i]!;
    count[s]++;
  }
  const dx = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = setOf(i);
    const dxh = g[i]! * gamma[i % c]!;
    const inv = 1 / Math.sqrt(variance[s]! + eps);
    dx[i] = batchStats ? inv * (dxh - sumD[s]! / count[s]! - xh[i]! * sumDX[s]! / count[s]!) : inv * dxh;
  }
  return { dx, dgamma, dbeta };
}

/** Batch norm gradients; eval mode when `running` is given. */
export function batchNormGradRef(x: ArrayLike<number>, shape: readonly number[], gamma: ArrayLike<number>, beta: ArrayLike<number>, dy: ArrayLike<number>, eps: number,
  opts: { running?: { mean: ArrayLike<number>; variance: ArrayLike<number> }; relu?: boolean } = {}): NormGradRef {
  const { sets, setOf, c } = bnSets(shape);
  const st = opts.running ?? moments(x, sets, setOf);
  return gradients(x, c, sets, setOf, st.mean, st.variance, gamma, beta, dy, eps, !opts.running, opts.relu ?? false);
}

export function groupNormGradRef(x: ArrayLike<number>, shape: readonly number[], groups: number, gamma: ArrayLike<number>, beta: ArrayLike<number>, dy: ArrayLike<number>, eps: number, relu = false): NormGradRef {
  const { sets, setOf, c } = gnSets(shape, groups);
  const st = moments(x, sets, setOf);
  return gradients(x, c, sets, setOf, st.mean, st.variance, gamma, beta, dy, eps, true, relu);
}
