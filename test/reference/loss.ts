/** Float64 CPU references for softmax and the multi-class Dice loss (eq. 3). */

/** Softmax over the last axis of rows of c values. */
export function softmaxRef(x: ArrayLike<number>, c: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / c; r++) {
    let m = -Infinity;
    for (let k = 0; k < c; k++) m = Math.max(m, x[r * c + k]!);
    let s = 0;
    for (let k = 0; k < c; k++) s += (y[r * c + k] = Math.exp(x[r * c + k]! - m));
    for (let k = 0; k < c; k++) y[r * c + k]! /= s;
  }
  return y;
}

/** dL/dx of softmax given dL/dy, via the Jacobian diag(y) − y yᵀ. */
export function softmaxGradRef(x: ArrayLike<number>, dy: ArrayLike<number>, c: number): Float64Array {
  const y = softmaxRef(x, c);
  const dx = new Float64Array(x.length);
  for (let r = 0; r < x.length / c; r++) {
    for (let i = 0; i < c; i++) {
      let v = 0;
      for (let k = 0; k < c; k++) v += dy[r * c + k]! * y[r * c + k]! * ((i === k ? 1 : 0) - y[r * c + i]!);
      dx[r * c + i] = v;
    }
  }
  return dx;
}

/** One-hot f64 map from class indices (an index ≥ c gives an all-zero row). */
export function oneHotRef(labels: ArrayLike<number>, c: number): Float64Array {
  const g = new Float64Array(labels.length * c);
  for (let j = 0; j < labels.length; j++) if (labels[j]! < c) g[j * c + labels[j]!] = 1;
  return g;
}

export interface DiceRefOptions {
  smooth?: number;
  includeBackground?: boolean;
  classWeights?: readonly number[];
}

/** Eq. 3 in float64 straight from the formula: per-class Dice and Σ w_i (1 − Dice_i). */
export function diceRef(
  logits: ArrayLike<number>, oneHot: ArrayLike<number>, c: number, opts: DiceRefOptions = {},
): { loss: number; dice: number[] } {
  const s = opts.smooth ?? 1;
  const p = softmaxRef(logits, c);
  const rows = logits.length / c;
  const dice: number[] = [];
  let loss = 0;
  for (let i = 0; i < c; i++) {
    let pg = 0, pp = 0, gg = 0;
    for (let j = 0; j < rows; j++) {
      const P = p[j * c + i]!, G = oneHot[j * c + i]!;
      pg += P * G;
      pp += P * P;
      gg += G * G;
    }
    const d = (2 * pg + s) / (pp + gg + s);
    dice.push(d);
    const w = i === 0 && !opts.includeBackground ? 0 : opts.classWeights?.[i] ?? 1;
    loss += w * (1 - d);
  }
  return { loss, dice };
}

/** dL/dlogits of diceRef by central differences in float64 (independent of the analytic formula). */
export function diceGradRef(logits: ArrayLike<number>, oneHot: ArrayLike<number>, c: number, opts: DiceRefOptions = {}): Float64Array {
  const x = Float64Array.from(logits);
  const g = new Float64Array(x.length);
  const h = 1e-6;
  for (let k = 0; k < x.length; k++) {
    const v = x[k]!;
    x[k] = v + h;
    const up = diceRef(x, oneHot, c, opts).loss;
    x[k] = v - h;
    const down = diceRef(x, oneHot, c, opts).loss;
    x[k] = v;
    g[k] = (up - down) / (2 * h);
  }
  return g;
}
