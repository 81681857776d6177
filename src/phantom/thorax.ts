/**
 * The chest around the heart: the body outline (skin, subcutaneous fat, the
 * back flattened by the table), the lungs (denser posteriorly, with vessel
 * trees from both hila) and the diaphragm domes with the liver and upper
 * abdomen below them.
 */

import type { Rng } from '../base/rng.js';
import type { Draws } from './draws.js';
import type { Heart } from './heart.js';
import type { Skeleton } from './skeleton.js';
import { TISSUE } from './tissue.js';
import type { TubeSegment } from './tubes.js';
import { add, addScaled, normalize, type Vec3 } from './vec.js';

export interface BodyWall {
  /** Lateral semi-axis of the outline (mm). */
  bodyA: number;
  bodyCy: number;
  bodyBAnt: number;
  bodyBPost: number;
  /** The back is flattened by the table below this y. */
  bodyYMin: number;
  /** Most anterior point of the outline (mm). */
  bodyYMax: number;
  skinMm: number;
  fatMm: number;
}

/** Body outline around the rib cage: muscle and subcutaneous fat of random thickness. */
export function drawBodyWall(d: Draws, s: Skeleton): BodyWall {
  const fatMm = d.uniform('subcutaneousFatMm', 6, 30);
  const muscleMm = d.uniform('chestWallMuscleMm', 8, 20);
  const bodyA = s.cageA + s.ribGap + 2 * s.ribHalfT + 2 + muscleMm + fatMm;
  const yAnt = s.sternumOut + 2 + fatMm * 0.8;
  const yPost = s.canalY - s.canalR - s.spinousMm - d.uniform('backMuscleMm', 6, 14) - fatMm;
  const bodyCy = (yAnt + yPost) / 2;
  return {
    bodyA,
    bodyCy,
    bodyBAnt: yAnt - bodyCy,
    // The posterior half-ellipse is deeper than the body and cut flat: the back on the table.
    bodyBPost: (bodyCy - yPost) * 1.18,
    bodyYMin: yPost,
    bodyYMax: yAnt,
    skinMm: 1.8,
    fatMm,
  };
}

/**
 * Air, skin or subcutaneous fat at a point, or -1 deeper inside the body.
 * Outline: half-ellipses joined at bodyCy, the back cut flat by the table.
 */
export function bodyWallTissue(b: BodyWall, x: number, y: number): number {
  const ry = y - b.bodyCy;
  const bx = x / b.bodyA;
  const by = ry / (ry >= 0 ? b.bodyBAnt : b.bodyBPost);
  const rho2 = bx * bx + by * by;
  if (rho2 > 1 || y < b.bodyYMin) return TISSUE.air;
  const rho = Math.sqrt(rho2);
  const depth = Math.min(rho > 1e-6 ? Math.sqrt(x * x + ry * ry) * (1 / rho - 1) : Infinity, y - b.bodyYMin);
  if (depth < b.skinMm) return TISSUE.skin;
  if (depth < b.skinMm + b.fatMm) return TISSUE.fat;
  return -1;
}

/** Diaphragm domes (paraboloids): the right one is higher; the heart rests on the central tendon. */
export interface Diaphragm {
  domeRx: number;
  domeRy: number;
  domeRz: number;
  domeLx: number;
  domeLy: number;
  domeLz: number;
  domeK: number;
}

export function drawDiaphragm(d: Draws, s: Skeleton, heart: Heart): Diaphragm {
  const [hcx, hcy, hcz] = heart.c;
  const domeK = d.uniform('domeCurvaturePerMm', 0.004, 0.006);
  const domeRx = d.uniform('rightDomeXMm', 45, 65);
  const domeRy = s.cageCy - 10;
  const domeLx = -d.uniform('leftDomeXMm', 55, 75);
  const domeLy = s.cageCy - 15;
  // Domes passing just under the heart's lowest point.
  const under = hcz - heart.halfExtent(2) + d.uniform('domeBelowHeartMm', -4, 2);
  const rise = (dx: number, dy: number) => domeK * (dx * dx + dy * dy);
  const domeRz = Math.min(hcz - 5, under + rise(hcx - domeRx, hcy - domeRy));
  const domeLz = Math.min(domeRz - 5, under - d.uniform('leftDomeDropMm', 3, 10) + rise(hcx - domeLx, hcy - domeLy));
  return { domeRx, domeRy, domeRz, domeLx, domeLy, domeLz, domeK };
}

/** Liver (right) or upper abdomen (left) under the domes, diaphragm muscle on them, or -1 above. */
export function belowDiaphragmTissue(d: Diaphragm, x: number, y: number, z: number): number {
  const rx = x - d.domeRx;
  const rdy = y - d.domeRy;
  const lx = x - d.domeLx;
  const ldy = y - d.domeLy;
  const zr = d.domeRz - d.domeK * (rx * rx + rdy * rdy);
  const zl = d.domeLz - d.domeK * (lx * lx + ldy * ldy);
  const zDome = zr > zl ? zr : zl;
  if (z < zDome) return zr > zl ? TISSUE.liver : TISSUE.abdomen;
  if (z < zDome + 4) return TISSUE.muscle;
  return -1;
}

/** Lung parenchyma is denser posteriorly (gravity), by up to `gradHU` HU. */
export function lungOffset(s: Skeleton, gradHU: number, y: number): number {
  const f = (s.cageCy - y) / s.cageB;
  return f > 0 ? gradHU * Math.min(1, f) : 0;
}

/** The lung roots, where the vessels and main bronchi enter each lung. */
export function hila(s: Skeleton, h: Heart): { right: Vec3; left: Vec3 } {
  return {
    right: [h.c[0] + h.halfExtent(0) + 8, s.spineY + s.spineRy + 30, h.c[2] + 18],
    left: [-58, s.spineY + s.spineRy + 22, h.c[2] + 28],
  };
}

/** Pulmonary vessel trees from both hila: random branching tubes, 4 mm down to under 1 mm. */
export function buildLungVessels(r: Rng, s: Skeleton, h: Heart): TubeSegment[] {
  const segs: TubeSegment[] = [];
  const grow = (p: Vec3, dir: Vec3, length: number, r0: number, depth: number) => {
    const r1 = r0 * 0.6;
    let a = p;
    let d = dir;
    for (let k = 0; k < 3; k++) {
      d = normalize(add(d, [r.uniform(-0.3, 0.3), r.uniform(-0.3, 0.3), r.uniform(-0.3, 0.3)]));
      const b = addScaled(a, d, length / 3);
      segs.push({ a, b, ra: r0 + ((r1 - r0) * k) / 3, rb: r0 + ((r1 - r0) * (k + 1)) / 3, owner: 0 });
      a = b;
    }
    if (depth < 2) {
      for (let c = 0; c < 2; c++) {
        const nd = normalize(add(d, [r.uniform(-0.8, 0.8), r.uniform(-0.8, 0.8), r.uniform(-0.8, 0.8)]));
        grow(a, nd, length * r.uniform(0.55, 0.8), r1, depth + 1);
      }
    }
  };
  const { right, left } = hila(s, h);
  for (const [hilum, side] of [
    [right, 1],
    [left, -1],
  ] as Array<[Vec3, number]>) {
    for (let b = 0; b < 6; b++) {
      const dir = normalize([side * r.uniform(0.4, 1), r.uniform(-0.8, 0.8), r.uniform(-1, 1)]);
      grow(hilum, dir, r.uniform(40, 65), r.uniform(3.5, 5), 0);
    }
  }
  return segs;
}

/** Upper arms hanging beside the chest (arms down; most cardiac scans have them raised, out of the field). */
export interface Arms {
  /** Distance of each arm's axis from the midline, its height and radius (mm). */
  cx: number;
  cy: number;
  r: number;
  boneR: number;
  fatMm: number;
  /** The table. */
  yMin: number;
}

export function drawArms(d: Draws, b: BodyWall): Arms | null {
  if (!d.chance('armsDown', 0.2)) return null;
  const r = d.ranged('armRadiusMm');
  return {
    cx: b.bodyA + d.ranged('armGapMm') + r,
    cy: b.bodyYMin + r,
    r,
    boneR: r * 0.27,
    fatMm: b.fatMm * 0.6,
    yMin: b.bodyYMin,
  };
}

/** Skin, fat, muscle or humerus of an arm, or -1 outside both arms. */
export function armTissue(a: Arms, x: number, y: number): number {
  const dx = Math.abs(x) - a.cx;
  const dy = y - a.cy;
  const d2 = dx * dx + dy * dy;
  if (d2 > a.r * a.r || y < a.yMin) return -1;
  const dist = Math.sqrt(d2);
  const depth = a.r - dist;
  if (depth < 1.5) return TISSUE.skin;
  if (depth < 1.5 + a.fatMm) return TISSUE.fat;
  if (dist < a.boneR) return dist > a.boneR - 3 ? TISSUE.corticalBone : TISSUE.marrow;
  return TISSUE.muscle;
}
