/** Float64 references of the optimiser updates, step by step, straight from their definitions. */

export interface SgdRefOptions {
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  /** λ of a λ‖W‖² loss term. */
  weightDecay?: number;
}

/** Runs SGD over a sequence of gradients; returns the weights and velocity after each step. */
export function sgdRef(w0: ArrayLike<number>, grads: ArrayLike<number>[], o: SgdRefOptions): { w: Float64Array; v: Float64Array }[] {
  const w = Float64Array.from(w0);
  const v = new Float64Array(w.length);
  const mu = o.momentum ?? 0;
  const lambda = o.weightDecay ?? 0;
  const out: { w: Float64Array; v: Float64Array }[] = [];
  for (const grad of grads) {
    for (let i = 0; i < w.length; i++) {
      const g = grad[i]! + 2 * lambda * w[i]!; // d/dW of λ‖W‖² is 2λW
      if (mu > 0) {
        v[i] = mu * v[i]! + g;
        w[i] = w[i]! - o.lr * (o.nesterov ? g + mu * v[i]! : v[i]!);
      } else {
        w[i] = w[i]! - o.lr * g;
      }
    }
    out.push({ w: Float64Array.from(w), v: Float64Array.from(v) });
  }
  return out;
}

export interface AdamRefOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** Runs Adam (with bias correction) over a sequence of gradients. */
export function adamRef(
  w0: ArrayLike<number>, grads: ArrayLike<number>[], o: AdamRefOptions, startStep = 0, m0?: ArrayLike<number>, v0?: ArrayLike<number>,
): { w: Float64Array; m: Float64Array; v: Float64Array }[] {
  const w = Float64Array.from(w0);
  const m = m0 ? Float64Array.from(m0) : new Float64Array(w.length);
  const v = v0 ? Float64Array.from(v0) : new Float64Array(w.length);
  const out: { w: Float64Array; m: Float64Array; v: Float64Array }[] = [];
  let t = startStep;
  for (const grad of grads) {
    t++;
    for (let i = 0; i < w.length; i++) {
      const g = grad[i]! + 2 * o.weightDecay * w[i]!;
      m[i] = o.beta1 * m[i]! + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i]! + (1 - o.beta2) * g * g;
      const mh = m[i]! / (1 - o.beta1 ** t);
      const vh = v[i]! / (1 - o.beta2 ** t);
      w[i] = w[i]! - (o.lr * mh) / (Math.sqrt(vh) + o.eps);
    }
    out.push({ w: Float64Array.from(w), m: Float64Array.from(m), v: Float64Array.from(v) });
  }
  return out;
}
