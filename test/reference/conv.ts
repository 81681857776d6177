/**
 * Float64 direct convolutions (stride 1, same padding, odd kernels), NDHWC with
 * weights [KD, KH, KW, Cin, Cout]: forward, input, weight and bias gradients.
 * 2D callers pass D = KD = 1.
 */

export interface RefGeometry {
  n: number; d: number; h: number; w: number; cin: number; cout: number; kd: number; kh: number; kw: number;
}

/** Visits every (output voxel, tap) pair whose input voxel is inside the volume. */
function forEachTap(g: RefGeometry, f: (outVoxel: number, inVoxel: number, tap: number) => void): void {
  const [pd, ph, pw] = [(g.kd - 1) / 2, (g.kh - 1) / 2, (g.kw - 1) / 2];
  for (let n = 0; n < g.n; n++) for (let z = 0; z < g.d; z++) for (let y = 0; y < g.h; y++) for (let x = 0; x < g.w; x++) {
    const out = ((n * g.d + z) * g.h + y) * g.w + x;
    for (let a = 0; a < g.kd; a++) {
      const zz = z + a - pd;
      if (zz < 0 || zz >= g.d) continue;
      for (let b = 0; b < g.kh; b++) {
        const yy = y + b - ph;
        if (yy < 0 || yy >= g.h) continue;
        for (let c = 0; c < g.kw; c++) {
          const xx = x + c - pw;
          if (xx < 0 || xx >= g.w) continue;
          f(out, ((n * g.d + zz) * g.h + yy) * g.w + xx, (a * g.kh + b) * g.kw + c);
        }
      }
    }
  }
}

export function convForwardRef(x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | null, g: RefGeometry): Float64Array {
  const y = new Float64Array(g.n * g.d * g.h * g.w * g.cout);
  forEachTap(g, (out, inp, tap) => {
    for (let ci = 0; ci < g.cin; ci++) {
      const xv = x[inp * g.cin + ci]!;
      const wb = (tap * g.cin + ci) * g.cout;
      for (let co = 0; co < g.cout; co++) y[out * g.cout + co] += xv * w[wb + co]!;
    }
  });
  if (bias) for (let i = 0; i < y.length; i++) y[i] += bias[i % g.cout]!;
  return y;
}

export function convInputGradRef(dy: ArrayLike<number>, w: ArrayLike<number>, g: RefGeometry): Float64Array {
  const dx = new Float64Array(g.n * g.d * g.h * g.w * g.cin);
  forEachTap(g, (out, inp, tap) => {
    for (let ci = 0; ci < g.cin; ci++) {
      const wb = (tap * g.cin + ci) * g.cout;
      let s = 0;
      for (let co = 0; co < g.cout; co++) s += dy[out * g.cout + co]! * w[wb + co]!;
      dx[inp * g.cin + ci] += s;
    }
  });
  return dx;
}

export function convWeightGradRef(x: ArrayLike<number>, dy: ArrayLike<number>, g: RefGeometry): Float64Array {
  const dw = new Float64Array(g.kd * g.kh * g.kw * g.cin * g.cout);
  forEachTap(g, (out, inp, tap) => {
    for (let ci = 0; ci < g.cin; ci++) {
      const xv = x[inp * g.cin + ci]!;
      const wb = (tap * g.cin + ci) * g.cout;
      for (let co = 0; co < g.cout; co++) dw[wb + co] += xv * dy[out * g.cout + co]!;
    }
  });
  return dw;
}

export function convBiasGradRef(dy: ArrayLike<number>, cout: number): Float64Array {
  const db = new Float64Array(cout);
  for (let i = 0; i < dy.length; i++) db[i % cout] += dy[i]!;
  return db;
}
