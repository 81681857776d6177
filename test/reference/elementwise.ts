/** Float64 CPU references for elementwise ops, reductions and matmul. */

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** NumPy-broadcast binary op in float64. */
export function broadcastBinary(
  a: ArrayLike<number>, as: readonly number[], b: ArrayLike<number>, bs: readonly number[], f: (x: number, y: number) => number,
): { data: Float64Array; shape: number[] } {
  const rank = Math.max(as.length, bs.length);
  const pa = [...new Array(rank - as.length).fill(1), ...as];
  const pb = [...new Array(rank - bs.length).fill(1), ...bs];
  const shape = pa.map((d, i) => Math.max(d, pb[i]!));
  const sa = strides(pa);
  const sb = strides(pb);
  const n = shape.reduce((x, y) => x * y, 1);
  const out = new Float64Array(n);
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    let rem = i;
    for (let k = rank - 1; k >= 0; k--) {
      idx[k] = rem % shape[k]!;
      rem = Math.floor(rem / shape[k]!);
    }
    let ia = 0;
    let ib = 0;
    for (let k = 0; k < rank; k++) {
      if (pa[k] !== 1) ia += idx[k]! * sa[k]!;
      if (pb[k] !== 1) ib += idx[k]! * sb[k]!;
    }
    out[i] = f(a[ia]!, b[ib]!);
  }
  return { data: out, shape };
}

/** Sum over axes (keepDims shape returned) in float64. */
export function sumAxesRef(x: ArrayLike<number>, shape: readonly number[], axes: readonly number[]): { data: Float64Array; shape: number[] } {
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const os = strides(outShape);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let rem = i;
    for (let k = shape.length - 1; k >= 0; k--) {
      idx[k] = rem % shape[k]!;
      rem = Math.floor(rem / shape[k]!);
    }
    let o = 0;
    for (let k = 0; k < shape.length; k++) if (!axes.includes(k)) o += idx[k]! * os[k]!;
    out[o] += x[i]!;
  }
  return { data: out, shape: outShape };
}

export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, M: number, K: number, N: number): Float64Array {
  const c = new Float64Array(M * N);
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) {
    const av = a[m * K + k]!;
    for (let n = 0; n < N; n++) c[m * N + n] += av * b[k * N + n]!;
  }
  return c;
}
