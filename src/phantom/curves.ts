/** Smooth curves through control points, and their arc lengths. */

import { add, len, scale, sub, type Vec3 } from './vec.js';

/** Centripetal Catmull-Rom through `pts` (no overshoot loops), sampled about every `step` mm. */
export function catmullRom(pts: readonly Vec3[], step: number): Vec3[] {
  const out: Vec3[] = [];
  const n = pts.length;
  for (let i = 0; i + 1 < n; i++) {
    const p1 = pts[i]!;
    const p2 = pts[i + 1]!;
    const p0 = i > 0 ? pts[i - 1]! : sub(scale(p1, 2), p2);
    const p3 = i + 2 < n ? pts[i + 2]! : sub(scale(p2, 2), p1);
    const knot = (a: Vec3, b: Vec3) => Math.max(1e-6, Math.sqrt(len(sub(b, a))));
    const t0 = 0;
    const t1 = t0 + knot(p0, p1);
    const t2 = t1 + knot(p1, p2);
    const t3 = t2 + knot(p2, p3);
    const lerp = (a: Vec3, b: Vec3, ta: number, tb: number, t: number): Vec3 =>
      add(scale(a, (tb - t) / (tb - ta)), scale(b, (t - ta) / (tb - ta)));
    const m = Math.max(1, Math.ceil(len(sub(p2, p1)) / step));
    for (let s = 0; s < m; s++) {
      const t = t1 + ((t2 - t1) * s) / m;
      const a1 = lerp(p0, p1, t0, t1, t);
      const a2 = lerp(p1, p2, t1, t2, t);
      const a3 = lerp(p2, p3, t2, t3, t);
      const b1 = lerp(a1, a2, t0, t2, t);
      const b2 = lerp(a2, a3, t1, t3, t);
      out.push(lerp(b1, b2, t1, t2, t));
    }
  }
  out.push(pts[n - 1]!);
  return out;
}

/** Cumulative arc length (mm) at each point of a polyline. */
export function arcLengths(points: readonly Vec3[]): number[] {
  const arc = [0];
  for (let i = 1; i < points.length; i++) arc.push(arc[i - 1]! + len(sub(points[i]!, points[i - 1]!)));
  return arc;
}
