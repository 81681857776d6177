/**
 * The mediastinum outside the heart: descending aorta and oesophagus in front
 * of the spine, the aortic root and ascending aorta, the superior vena cava, the
 * pulmonary trunk, and the fat column from spine to sternum.
 */

import type { Draws } from './draws.js';
import { catmullRom } from './curves.js';
import type { Skeleton } from './skeleton.js';
import { TubeSet, type TubeSegment } from './tubes.js';
import { TISSUE } from './tissue.js';
import { add, capsuleDistance, normalize, type Vec3 } from './vec.js';

/** Descending aorta and oesophagus (axial circles running the whole scan). */
export interface PosteriorMediastinum {
  dAortaX: number;
  dAortaY: number;
  dAortaR: number;
  esoX: number;
  esoY: number;
  esoR: number;
}

/** The descending aorta sits left-anterior of the vertebral body, the oesophagus to its right. */
export function drawPosteriorMediastinum(d: Draws, s: Skeleton): PosteriorMediastinum {
  const dAortaR = d.uniform('descendingAortaRadiusMm', 10, 13);
  const aDir = normalize([-0.78, 0.62, 0]);
  const aDist = Math.hypot(s.spineRx * aDir[0], s.spineRy * aDir[1]) + dAortaR + 3;
  const dAortaX = aDir[0] * aDist;
  const dAortaY = s.spineY + aDir[1] * aDist;
  const esoR = d.uniform('oesophagusRadiusMm', 6, 8);
  return { dAortaX, dAortaY, dAortaR, esoX: dAortaX + dAortaR + esoR + 2, esoY: dAortaY + 4, esoR };
}

/** Aortic root and ascending aorta, superior vena cava, pulmonary trunk, central fat column. */
export interface GreatVessels {
  rootC: Vec3;
  rootR: number;
  ascTop: Vec3;
  ascR: number;
  svcX: number;
  svcY: number;
  svcR: number;
  /** The SVC starts this far up (it joins the right atrium below). */
  svcZ0: number;
  paA: Vec3;
  paB: Vec3;
  paR: number;
  columnX: number;
  columnHalfW: number;
}

/**
 * The aortic root sits at the top of the ventricles, right of and a little
 * behind the left main bifurcation (itself at the top of the AV ring).
 */
export function drawGreatVessels(d: Draws, bifurcation: Vec3, heartCentre: Vec3): GreatVessels {
  const rootR = d.uniform('aorticRootRadiusMm', 13, 16);
  const rootC = add(bifurcation, [d.uniform('rootRightOfLeftMainMm', 19, 24), -d.uniform('rootBehindLeftMainMm', 5, 10), -d.uniform('rootBelowLeftMainMm', 1, 5)]);
  const ascR = rootR * d.uniform('ascendingToRootRadius', 0.85, 0.95);
  const ascTop = add(rootC, [d.uniform('ascendingAortaRightMm', 4, 12), d.uniform('ascendingAortaForwardMm', 0, 10), 140]);
  const svcR = d.uniform('svcRadiusMm', 8, 10);
  const paR = d.uniform('pulmonaryTrunkRadiusMm', 12, 14);
  // Pulmonary trunk: in front of and left of the root, running up and back.
  const paA = add(rootC, [-d.uniform('pulmonaryTrunkLeftMm', 4, 8), d.uniform('pulmonaryTrunkForwardMm', 20, 24), -d.uniform('pulmonaryTrunkBelowMm', 2, 6)]);
  return {
    rootC,
    rootR,
    ascTop,
    ascR,
    svcX: rootC[0] + ascR + svcR + 3,
    svcY: rootC[1] - 6,
    svcR,
    svcZ0: rootC[2] - 15,
    paA,
    paB: add(paA, [-14, -30, 45]),
    paR,
    columnX: heartCentre[0] * 0.3,
    columnHalfW: d.uniform('mediastinalFatHalfWidthMm', 16, 24),
  };
}

/**
 * The aortic arch (scanner preset): the ascending aorta rises `archRiseMm`
 * above the root, then arches back and left over to the descending aorta,
 * which starts below it.
 */
export interface AorticArch {
  /** Top of the ascending aorta and of the descending aorta (mm). */
  topZ: number;
  points: Vec3[];
  radii: number[];
  tubes: TubeSet;
}

export function drawAorticArch(d: Draws, gv: GreatVessels, pm: PosteriorMediastinum): { great: GreatVessels; arch: AorticArch } {
  const topZ = gv.rootC[2] + d.ranged('archRiseMm');
  const ascTop: Vec3 = [gv.ascTop[0], gv.ascTop[1], topZ];
  const descTop: Vec3 = [pm.dAortaX, pm.dAortaY, topZ];
  const crest: Vec3 = [(ascTop[0] + descTop[0]) / 2, (ascTop[1] + descTop[1]) / 2 + 5, topZ + d.ranged('archCrestMm')];
  const points = catmullRom([ascTop, crest, descTop], 1);
  const radii = points.map((_, i) => gv.ascR + ((pm.dAortaR - gv.ascR) * i) / Math.max(1, points.length - 1));
  const segs: TubeSegment[] = [];
  for (let i = 0; i + 1 < points.length; i++) segs.push({ a: points[i]!, b: points[i + 1]!, ra: radii[i]!, rb: radii[i + 1]!, owner: 0 });
  return { great: { ...gv, ascTop }, arch: { topZ, points, radii, tubes: new TubeSet(segs, 8) } };
}

/**
 * The airway (scanner preset): the trachea down to the carina, below the arch
 * and behind the great vessels, and the two main bronchi towards the lung
 * roots (the left one longer and flatter, passing under the arch).
 */
export interface Airway {
  carina: Vec3;
  radius: number;
  /** Ends of the right and left main bronchi. */
  right: Vec3;
  left: Vec3;
  bronchusRadius: number;
  /** Bounding box of the bronchi (quick rejection on the hot path). */
  lo: Vec3;
  hi: Vec3;
}

export function drawAirway(
  d: Draws,
  gv: GreatVessels,
  pm: PosteriorMediastinum,
  arch: AorticArch,
  hila: { right: Vec3; left: Vec3 },
  spineFrontY: number,
): Airway {
  const radius = d.ranged('tracheaRadiusMm');
  const z = Math.min(gv.rootC[2] + d.ranged('carinaAboveRootMm'), arch.topZ - 25);
  const x0 = d.ranged('tracheaXMm');
  // In front of the oesophagus and the spine, behind the great vessels: the first spot clear of all of them.
  const asc = gv.rootC[2] === gv.ascTop[2] ? 0 : (z - gv.rootC[2]) / (gv.ascTop[2] - gv.rootC[2]);
  const ascX = gv.rootC[0] + (gv.ascTop[0] - gv.rootC[0]) * asc;
  const ascY = gv.rootC[1] + (gv.ascTop[1] - gv.rootC[1]) * asc;
  const clearance = (x: number, y: number) =>
    Math.min(
      Math.hypot(x - gv.svcX, y - gv.svcY) - gv.svcR,
      Math.hypot(x - ascX, y - ascY) - gv.ascR,
      Math.hypot(x - pm.esoX, y - pm.esoY) - pm.esoR,
      Math.hypot(x - pm.dAortaX, y - pm.dAortaY) - pm.dAortaR,
      y - spineFrontY,
    ) - radius;
  let carina: Vec3 = [x0, pm.esoY + pm.esoR + 3 + radius, z];
  search: for (let dy = 0; dy <= 30; dy += 2)
    for (const dx of [0, 4, -4, 8, -8, 12]) {
      const c: Vec3 = [x0 + dx, pm.esoY + pm.esoR + 3 + radius + dy, z];
      if (clearance(c[0], c[1]) >= 2) {
        carina = c;
        break search;
      }
    }
  // The bronchi head for the lung roots, dropping ~2 cm, and stop short of them where the vessels take over.
  const toward = (hilum: Vec3, f: number, drop: number): Vec3 => [carina[0] + (hilum[0] - carina[0]) * f, carina[1] + (hilum[1] - carina[1]) * f, carina[2] - drop];
  const right = toward(hila.right, 0.6, 18);
  const left = toward(hila.left, 0.7, 22);
  const r = radius * 0.7;
  const lo = [0, 1, 2].map((a) => Math.min(carina[a]!, right[a]!, left[a]!) - r) as Vec3;
  const hi = [0, 1, 2].map((a) => Math.max(carina[a]!, right[a]!, left[a]!) + r) as Vec3;
  return { carina, radius, right, left, bronchusRadius: r, lo, hi };
}

/** Air in the airway, its wall, or -1 elsewhere. */
export function airwayTissue(a: Airway, x: number, y: number, z: number): number {
  let dist = Infinity;
  let r = a.radius;
  if (z >= a.carina[2]) {
    const dx = x - a.carina[0];
    const dy = y - a.carina[1];
    if (dx > r || dx < -r || dy > r || dy < -r) return -1;
    dist = Math.sqrt(dx * dx + dy * dy);
  } else {
    if (x < a.lo[0] || x > a.hi[0] || y < a.lo[1] || y > a.hi[1] || z < a.lo[2]) return -1;
    const dr = capsuleDistance(x, y, z, a.carina, a.right);
    const dl = capsuleDistance(x, y, z, a.carina, a.left);
    dist = Math.min(dr, dl);
    r = a.bronchusRadius;
  }
  if (dist <= r - 1.5) return TISSUE.gas;
  if (dist <= r) return TISSUE.muscle;
  return -1;
}
