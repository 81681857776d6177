/**
 * Finite-difference gradient checking. The scalar probed is L = Σ R ⊙ f(x)
 * with a fixed random R, computed in float64 on the host, so the check does not
 * trust any GPU op but the one under test.
 */
import type { Runtime } from '../gpu/runtime.js';
import { tidy } from '../gpu/scope.js';
import { Tensor, sizeOf, type Shape } from '../gpu/tensor.js';
import { backward, noGrad, requireGrad } from './tape.js';
import { mulberry32 } from '../base/random.js';

export interface GradCheckInput {
  data: Float32Array;
  shape: Shape;
  /** Leave false for inputs that are not differentiated (labels, indices). */
  differentiable?: boolean;
}

export interface GradCheckOptions {
  eps?: number;
  /** Coordinates probed per input (randomly chosen, seeded). */
  samples?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

export interface GradCheckFailure {
  input: number;
  index: number;
  analytic: number;
  numeric: number;
}

export interface GradCheckResult {
  ok: boolean;
  checked: number;
  maxError: number;
  failures: GradCheckFailure[];
}


export async function gradCheck(
  rt: Runtime,
  f: (xs: Tensor[]) => Tensor,
  inputs: GradCheckInput[],
  opts: GradCheckOptions = {},
): Promise<GradCheckResult> {
  const eps = opts.eps ?? 1e-2;
  const atol = opts.atol ?? 2e-3;
  const rtol = opts.rtol ?? 2e-2;
  const rand = mulberry32(opts.seed ?? 1234);

  // Output shape and probe weights.
  const outShape = tidy(() => noGrad(() => [...f(inputs.map((i) => Tensor.from(rt, i.data, i.shape))).shape]));
  const R = new Float64Array(sizeOf(outShape)).map(() => rand() * 2 - 1);
  const loss = async (datas: Float32Array[]): Promise<number> => {
    const out = noGrad(() => tidy(() => {
      const y = f(datas.map((d, k) => Tensor.from(rt, d, inputs[k]!.shape)));
      return y;
    }));
    const v = await out.readF32();
    out.dispose();
    let s = 0;
    for (let j = 0; j < v.length; j++) s += R[j]! * v[j]!;
    return s;
  };

  // Analytic gradients.
  const params = inputs.map((i) => Tensor.from(rt, i.data, i.shape));
  params.forEach((p, k) => {
    if (inputs[k]!.differentiable !== false) requireGrad(p);
  });
  tidy(() => {
    const y = f(params);
    backward(y, Tensor.from(rt, Float32Array.from(R), y.shape));
  });
  const analytic: Array<Float32Array | null> = [];
  for (const p of params) analytic.push(p.grad ? await p.grad.readF32() : null);
  for (const p of params) {
    p.grad?.dispose();
    p.dispose();
  }

  const failures: GradCheckFailure[] = [];
  let maxError = 0;
  let checked = 0;
  for (let k = 0; k < inputs.length; k++) {
    const inp = inputs[k]!;
    if (inp.differentiable === false) continue;
    const a = analytic[k];
    const n = inp.data.length;
    const count = Math.min(n, opts.samples ?? 12);
    const picks = new Set<number>();
    while (picks.size < count) picks.add(Math.floor(rand() * n));
    for (const idx of picks) {
      const datas = inputs.map((i) => Float32Array.from(i.data));
      datas[k]![idx] = inp.data[idx]! + eps;
      const up = await loss(datas);
      datas[k]![idx] = inp.data[idx]! - eps;
      const down = await loss(datas);
      const numeric = (up - down) / (2 * eps);
      const an = a ? a[idx]! : 0;
      const err = Math.abs(an - numeric);
      maxError = Math.max(maxError, err);
      checked++;
      if (err > atol + rtol * Math.max(Math.abs(an), Math.abs(numeric))) failures.push({ input: k, index: idx, analytic: an, numeric });
    }
  }
  return { ok: failures.length === 0, checked, maxError, failures };
}
