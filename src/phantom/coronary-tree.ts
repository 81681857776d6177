/**
 * The coronary tree: centrelines on the heart surface from the aortic root,
 * densely sampled, with tapering radii.
 */

import type { Rng } from '../base/rng.js';
import type { Heart } from './heart.js';
import { TubeSet, type TubeSegment } from './tubes.js';
import { add, len, normalize, scale, smoothstep, sub, type Vec3 } from './vec.js';

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

/** A coronary centreline, densely sampled. */
export interface Vessel {
  /** 'LAD' (with the left main at its start), 'D1', 'LCX', 'OM1' or 'RCA' (with the PDA at its end). */
  name: string;
  /** Label of the artery it belongs to: 1 LAD, 2 LCX, 3 RCA. */
  artery: 1 | 2 | 3;
  points: Vec3[];
  radii: number[];
  /** Cumulative arc length (mm) at each point. */
  arc: number[];
  /** Arc length where the vessel leaves the aortic root (plaques start there). */
  ostiumMm: number;
  /** For the LAD: arc length of the left main bifurcation; 0 otherwise. */
  leftMainMm: number;
}

/** Point, unit tangent and radius at arc length s (nearest sample). */
export function vesselAt(v: Vessel, s: number): { p: Vec3; t: Vec3; r: number; index: number } {
  let i = 0;
  while (i + 1 < v.arc.length && v.arc[i + 1]! <= s) i++;
  const a = v.points[Math.max(0, i - 1)]!;
  const b = v.points[Math.min(v.points.length - 1, i + 1)]!;
  return { p: v.points[i]!, t: normalize(sub(b, a)), r: v.radii[i]!, index: i };
}

function arcLengths(points: readonly Vec3[]): number[] {
  const arc = [0];
  for (let i = 1; i < points.length; i++) arc.push(arc[i - 1]! + len(sub(points[i]!, points[i - 1]!)));
  return arc;
}

/**
 * The coronary tree on the heart surface, as (t, phi) control points (see
 * Heart.surface): t = -1 at the base, 1 at the apex; phi = 0 faces the
 * anterior (right-ventricular) surface, +90 the acute margin, 180 the
 * posterior left-ventricular wall, -90 the left (obtuse) margin. The left main
 * and right coronary start at the aortic root; the LCX runs in the left
 * atrioventricular groove, the LAD in the anterior interventricular groove, the
 * RCA in the right AV groove and on as the posterior descending artery.
 */
function buildCoronaries(h: Heart, rootC: Vec3, rootR: number, bif: Vec3, r: Rng): Vessel[] {
  const j = (x: number) => x + r.uniform(-1, 1) * 0.04; // small per-phantom wobble in t
  const p = (x: number) => x + r.uniform(-6, 6); // and in phi (degrees)
  const S = (t: number, phi: number) => h.surface(j(t), p(phi));

  const make = (name: string, artery: 1 | 2 | 3, ctrl: Vec3[], r0: number, r1: number, fromRoot: boolean): Vessel => {
    const raw = catmullRom(ctrl, 0.5);
    const rawArc = arcLengths(raw);
    const total = rawArc[rawArc.length - 1]!;
    const radii = rawArc.map((s) => r0 + ((r1 - r0) * s) / total);
    const points = raw.map((q, i) => {
      const onSurface = h.project(q, radii[i]! + 0.6);
      // Near the aortic root the vessel leaves the surface to join the root.
      const w = fromRoot ? smoothstep((len(sub(q, rootC)) - rootR) / 6) : 1;
      return add(scale(q, 1 - w), scale(onSurface, w));
    });
    const arc = arcLengths(points);
    let ostium = 0;
    if (fromRoot) {
      const i = points.findIndex((q) => len(sub(q, rootC)) > rootR + 1.5);
      ostium = arc[Math.max(0, i)]!;
    }
    return { name, artery, points, radii, arc, ostiumMm: ostium, leftMainMm: 0 };
  };

  const lad = make(
    'LAD',
    1,
    [rootC, bif, S(-0.2, -33), S(0.2, -30), S(0.55, -26), S(0.93, -16)],
    r.uniform(1.9, 2.3),
    r.uniform(0.7, 0.9),
    true,
  );
  // The left main ends at the sample nearest the bifurcation control point.
  let bi = 0;
  lad.points.forEach((q, i) => {
    if (len(sub(q, bif)) < len(sub(lad.points[bi]!, bif))) bi = i;
  });
  lad.leftMainMm = lad.arc[bi]!;
  const ladAt = (f: number) => lad.points[Math.round(bi + f * (lad.points.length - 1 - bi))]!;

  const lcx = make(
    'LCX',
    2,
    [lad.points[bi]!, S(-0.52, -60), S(-0.5, -95), S(-0.47, -130), S(-0.42, -168)],
    r.uniform(1.6, 1.9),
    r.uniform(0.8, 1.0),
    false,
  );
  const d1 = make('D1', 1, [ladAt(0.25), S(0.1, -58), S(0.4, -80), S(0.7, -95)], 1.1, 0.6, false);
  const om1 = make(
    'OM1',
    2,
    [lcx.points[Math.round(lcx.points.length * 0.45)]!, S(-0.1, -118), S(0.25, -122), S(0.55, -126)],
    1.1,
    0.6,
    false,
  );
  const rca = make(
    'RCA',
    3,
    [rootC, S(-0.55, 20), S(-0.5, 50), S(-0.45, 85), S(-0.4, 115), S(-0.36, 140), S(-0.1, 146), S(0.3, 150), S(0.62, 152)],
    r.uniform(1.8, 2.1),
    r.uniform(0.7, 0.9),
    true,
  );
  return [lad, d1, lcx, om1, rca];
}

/** The left main bifurcation, on the heart surface at the top of the AV ring. */
export function drawLeftMainBifurcation(cr: Rng, h: Heart): Vec3 {
  return h.surface(-0.5 + cr.uniform(-0.04, 0.04), -30 + cr.uniform(-6, 6));
}

export interface CoronaryTree {
  vessels: Vessel[];
  tubes: TubeSet;
  /** Fat sleeve around each coronary (mm beyond the lumen radius): what makes them visible without contrast. */
  sleeveMm: number;
}

/** The vessels and their lumen tubes; `cr` is the coronary stream (it drew the bifurcation). */
export function drawCoronaryTree(r: Rng, cr: Rng, h: Heart, rootC: Vec3, rootR: number, bifurcation: Vec3): CoronaryTree {
  const sleeveMm = r.uniform(1.4, 2.2);
  const vessels = buildCoronaries(h, rootC, rootR, bifurcation, cr);
  const segs: TubeSegment[] = [];
  for (const v of vessels) {
    for (let i = 0; i + 2 < v.points.length; i += 2) {
      segs.push({ a: v.points[i]!, b: v.points[i + 2]!, ra: v.radii[i]!, rb: v.radii[i + 2]!, owner: v.artery });
    }
  }
  return { vessels, tubes: new TubeSet(segs, sleeveMm), sleeveMm };
}
