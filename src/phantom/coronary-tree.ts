/**
 * The coronary tree: centrelines on the heart surface from the aortic root,
 * densely sampled, with tapering radii.
 */

import type { Rng } from '../base/rng.js';
import type { Draws } from './draws.js';
import type { Heart } from './heart.js';
import { arcLengths, catmullRom } from './curves.js';
import { TubeSet, type TubeSegment } from './tubes.js';
import { add, addScaled, cross, len, normalize, scale, smoothstep, sub, type Vec3 } from './vec.js';

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


/**
 * How one patient's coronaries run (the scanner preset varies it; the older
 * presets use LEGACY_COURSE). Dominance says which artery gives the posterior
 * descending branch: the RCA (right, ~70% of people), both (co-dominant), or
 * the LCX (left).
 */
export interface CoronaryCourse {
  dominance: 'right' | 'co' | 'left';
  /** Where the LAD ends on the long axis (t: 1 is the apex). */
  ladEndT: number;
  /** Length factor of the side branches (D1, OM1). */
  sideBranchScale: number;
  /** Side-to-side wiggle of the centrelines along the surface: amplitude and wavelength (mm). */
  tortuosityMm: number;
  tortuosityWavelengthMm: number;
  /** Shift of the RCA's first control points: along the long axis (t) and around it (degrees). */
  rcaTakeoffT: number;
  rcaTakeoffPhiDeg: number;
}

export const LEGACY_COURSE: CoronaryCourse = {
  dominance: 'right',
  ladEndT: 0.93,
  sideBranchScale: 1,
  tortuosityMm: 0,
  tortuosityWavelengthMm: 20,
  rcaTakeoffT: 0,
  rcaTakeoffPhiDeg: 0,
};

const DOMINANCE: readonly CoronaryCourse['dominance'][] = ['right', 'co', 'left'];

/** A course drawn from the range table (scanner preset). */
export function drawCourse(d: Draws): CoronaryCourse {
  return {
    dominance: DOMINANCE[d.pick('dominance', [0.7, 0.2, 0.1])]!,
    ladEndT: d.ranged('ladEndT'),
    sideBranchScale: d.ranged('sideBranchScale'),
    tortuosityMm: d.ranged('tortuosityMm'),
    tortuosityWavelengthMm: d.ranged('tortuosityWavelengthMm'),
    rcaTakeoffT: d.ranged('rcaTakeoffT'),
    rcaTakeoffPhiDeg: d.ranged('rcaTakeoffPhiDeg'),
  };
}

/**
 * The coronary tree on the heart surface, as (t, phi) control points (see
 * Heart.surface): t = -1 at the base, 1 at the apex; phi = 0 faces the
 * anterior (right-ventricular) surface, +90 the acute margin, 180 the
 * posterior left-ventricular wall, -90 the left (obtuse) margin. The left main
 * and right coronary start at the aortic root; the LCX runs in the left
 * atrioventricular groove, the LAD in the anterior interventricular groove, the
 * RCA in the right AV groove and (right or co-dominant) on as the posterior
 * descending artery; with left dominance the LCX gives it instead.
 */
function buildCoronaries(h: Heart, rootC: Vec3, rootR: number, bif: Vec3, d: Draws, course: CoronaryCourse, wiggle: Rng): Vessel[] {
  const r = d.rng;
  const j = (x: number) => x + r.uniform(-1, 1) * 0.04; // small per-phantom wobble in t
  const p = (x: number) => x + r.uniform(-6, 6); // and in phi (degrees)
  const S = (t: number, phi: number) => h.surface(j(t), p(phi));
  // Side branches scaled along t from their first point (exactly as drawn when the scale is 1).
  const side = (t0: number, t: number) => (course.sideBranchScale === 1 ? t : t0 + (t - t0) * course.sideBranchScale);

  const make = (name: string, artery: 1 | 2 | 3, ctrl: Vec3[], r0: number, r1: number, fromRoot: boolean): Vessel => {
    const raw = catmullRom(ctrl, 0.5);
    const rawArc = arcLengths(raw);
    const total = rawArc[rawArc.length - 1]!;
    const radii = rawArc.map((s) => r0 + ((r1 - r0) * s) / total);
    let points = raw.map((q, i) => {
      const onSurface = h.project(q, radii[i]! + 0.6);
      // Near the aortic root the vessel leaves the surface to join the root.
      const w = fromRoot ? smoothstep((len(sub(q, rootC)) - rootR) / 6) : 1;
      return add(scale(q, 1 - w), scale(onSurface, w));
    });
    if (course.tortuosityMm > 0) points = tortuous(points, radii, h, course, wiggle, fromRoot ? rootC : undefined, rootR);
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
    [rootC, bif, S(-0.2, -33), S(0.2, -30), S(0.55, -26), S(course.ladEndT, -16)],
    d.uniform('ladOstiumRadiusMm', 1.9, 2.3),
    d.uniform('ladDistalRadiusMm', 0.7, 0.9),
    true,
  );
  // The left main ends at the sample nearest the bifurcation control point.
  let bi = 0;
  lad.points.forEach((q, i) => {
    if (len(sub(q, bif)) < len(sub(lad.points[bi]!, bif))) bi = i;
  });
  lad.leftMainMm = lad.arc[bi]!;
  const ladAt = (f: number) => lad.points[Math.round(bi + f * (lad.points.length - 1 - bi))]!;

  const lcxCtrl = [lad.points[bi]!, S(-0.52, -60), S(-0.5, -95), S(-0.47, -130), S(-0.42, -168)];
  // Co-dominant: on as a posterolateral branch; left-dominant: down the posterior interventricular groove.
  if (course.dominance !== 'right') lcxCtrl.push(S(-0.38, -192));
  if (course.dominance === 'left') lcxCtrl.push(S(-0.1, -206), S(0.3, -210), S(0.6, -208));
  const lcx = make('LCX', 2, lcxCtrl, d.uniform('lcxOstiumRadiusMm', 1.6, 1.9), d.uniform('lcxDistalRadiusMm', 0.8, 1.0), false);
  const d1 = make('D1', 1, [ladAt(0.25), S(0.1, -58), S(side(0.1, 0.4), -80), S(side(0.1, 0.7), -95)], 1.1, 0.6, false);
  const om1 = make(
    'OM1',
    2,
    [lcx.points[Math.round(lcx.points.length * 0.45)]!, S(-0.1, -118), S(side(-0.1, 0.25), -122), S(side(-0.1, 0.55), -126)],
    1.1,
    0.6,
    false,
  );
  const dt = course.rcaTakeoffT;
  const dp = course.rcaTakeoffPhiDeg;
  const rcaCtrl = [rootC, S(-0.55 + dt, 20 + dp), S(-0.5 + dt, 50 + dp), S(-0.45, 85), S(-0.4, 115)];
  // With left dominance the RCA ends at the acute margin.
  if (course.dominance !== 'left') rcaCtrl.push(S(-0.36, 140), S(-0.1, 146), S(0.3, 150), S(0.62, 152));
  const rca = make('RCA', 3, rcaCtrl, d.uniform('rcaOstiumRadiusMm', 1.8, 2.1), d.uniform('rcaDistalRadiusMm', 0.7, 0.9), true);
  return [lad, d1, lcx, om1, rca];
}

/**
 * Centreline points moved side to side along the heart surface by a sine of
 * random phase, then put back on the surface; the first 10 mm past the aortic
 * root stay put so the vessel still leaves the root where it did.
 */
function tortuous(points: Vec3[], radii: number[], h: Heart, course: CoronaryCourse, r: Rng, rootC: Vec3 | undefined, rootR: number): Vec3[] {
  const arc = arcLengths(points);
  const phase = r.uniform(0, 2 * Math.PI);
  const k = (2 * Math.PI) / course.tortuosityWavelengthMm;
  const start = rootC ? arc[Math.max(0, points.findIndex((q) => len(sub(q, rootC)) > rootR + 1.5))]! : 0;
  return points.map((q, i) => {
    const w = smoothstep((arc[i]! - start) / 10);
    if (w === 0) return q;
    const a = points[Math.max(0, i - 1)]!;
    const b = points[Math.min(points.length - 1, i + 1)]!;
    const t = normalize(sub(b, a));
    const out = normalize(sub(q, h.c));
    const across = normalize(cross(t, out));
    const moved = addScaled(q, across, w * course.tortuosityMm * Math.sin(k * arc[i]! + phase));
    return h.project(moved, radii[i]! + 0.6);
  });
}

/** The left main bifurcation, on the heart surface at the top of the AV ring. */
export function drawLeftMainBifurcation(cr: Draws, h: Heart): Vec3 {
  return h.surface(-0.5 + cr.uniform('leftMainTakeoffT', -0.04, 0.04), -30 + cr.uniform('leftMainTakeoffPhiDeg', -6, 6));
}

export interface CoronaryTree {
  vessels: Vessel[];
  tubes: TubeSet;
  /** Fat sleeve around each coronary (mm beyond the lumen radius): what makes them visible without contrast. */
  sleeveMm: number;
  course: CoronaryCourse;
}

/** The vessels and their lumen tubes; `cr` is the coronary stream (it drew the bifurcation). */
export function drawCoronaryTree(
  d: Draws,
  cr: Draws,
  h: Heart,
  rootC: Vec3,
  rootR: number,
  bifurcation: Vec3,
  course: CoronaryCourse,
): CoronaryTree {
  const sleeveMm = d.uniform('coronaryFatSleeveMm', 1.4, 2.2);
  const vessels = buildCoronaries(h, rootC, rootR, bifurcation, cr, course, cr.rng.fork('tortuosity'));
  const segs: TubeSegment[] = [];
  for (const v of vessels) {
    for (let i = 0; i + 2 < v.points.length; i += 2) {
      segs.push({ a: v.points[i]!, b: v.points[i + 2]!, ra: v.radii[i]!, rb: v.radii[i + 2]!, owner: v.artery });
    }
  }
  return { vessels, tubes: new TubeSet(segs, sleeveMm), sleeveMm, course };
}
