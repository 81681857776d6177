/**
 * The mediastinum outside the heart: descending aorta and oesophagus in front
 * of the spine, the aortic root and ascending aorta, the superior vena cava, the
 * pulmonary trunk, and the fat column from spine to sternum.
 */

import type { Draws } from './draws.js';
import { catmullRom } from './curves.js';
import type { Skeleton } from './skeleton.js';
import { TubeSet, type TubeSegment } from './tubes.js';
import { add, normalize, type Vec3 } from './vec.js';

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
