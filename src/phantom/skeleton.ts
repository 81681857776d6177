/**
 * The bones at heart level: thoracic vertebrae (bodies, discs, canal, posterior
 * elements), the sternum, and the ribs with their costal cartilages on the
 * outside of the pleural cage. Sizes: vertebral bodies ~4 cm wide, ribs
 * ~1 x 0.7 cm at ~2.5 cm pitch, running down and forward.
 */

import type { Draws } from './draws.js';
import { TISSUE } from './tissue.js';

export interface Skeleton {
  spineY: number;
  spineRx: number;
  spineRy: number;
  /** Height of one vertebra with its disc (mm). */
  levelMm: number;
  discMm: number;
  spineZ0: number;
  canalY: number;
  canalR: number;
  laminaMm: number;
  spinousMm: number;
  transverseMm: number;
  sternumIn: number;
  sternumOut: number;
  sternumHalfW: number;
  /** Rib cage (the pleural boundary): semi-axes and centre. */
  cageA: number;
  cageB: number;
  cageCy: number;
  ribPitch: number;
  ribZ0: number;
  /** How far the anterior end of a rib sits below its posterior end (mm). */
  ribDrop: number;
  ribHalfT: number;
  ribHalfH: number;
  /** Gap between the pleura and the ribs (mm). */
  ribGap: number;
  /** Angles (rad from the back) where ribs start and turn into cartilage. */
  ribStart: number;
  ribEnd: number;
  cortexMm: number;
}

/** Draws the spine, the sternum and the rib cage; they bound the thoracic cavity. */
export function drawSkeleton(d: Draws): Skeleton {
  const spineY = -d.uniform('spineDepthMm', 44, 54);
  const spineRx = d.uniform('vertebraHalfWidthMm', 18, 22);
  const spineRy = d.uniform('vertebraHalfDepthMm', 14, 17);
  const levelMm = d.uniform('vertebraLevelMm', 21, 25);
  const discMm = d.uniform('discMm', 5, 7);
  const spineZ0 = d.uniform('spinePhaseMm', 0, levelMm);
  const canalR = d.uniform('spinalCanalRadiusMm', 7, 8.5);
  const canalY = spineY - spineRy - canalR - 1;
  const spinousMm = d.uniform('spinousProcessMm', 22, 30);
  const transverseMm = d.uniform('transverseProcessMm', 22, 28);
  const sternumOut = d.uniform('sternumFrontMm', 88, 100);
  const sternumIn = sternumOut - d.uniform('sternumThicknessMm', 10, 14);
  const sternumHalfW = d.uniform('sternumHalfWidthMm', 14, 20);

  const cageAnt = sternumIn - 1;
  const cagePost = canalY - 2;
  const cageA = d.uniform('ribCageHalfWidthMm', 118, 142);
  const ribPitch = d.uniform('ribPitchMm', 24, 30);
  const ribZ0 = d.uniform('ribPhaseMm', 0, ribPitch);
  const ribDrop = d.uniform('ribDropMm', 70, 100);
  const ribHalfT = d.uniform('ribHalfThicknessMm', 2.8, 3.8);
  const ribHalfH = d.uniform('ribHalfHeightMm', 5, 6.5);
  const ribEnd = d.uniform('ribCartilageStartRad', 2.3, 2.55);
  return {
    spineY, spineRx, spineRy, levelMm, discMm, spineZ0, canalY, canalR, laminaMm: 4.5, spinousMm, transverseMm,
    sternumIn, sternumOut, sternumHalfW,
    cageA, cageB: (cageAnt - cagePost) / 2, cageCy: (cageAnt + cagePost) / 2,
    ribPitch, ribZ0, ribDrop, ribHalfT, ribHalfH, ribGap: 1, ribStart: 0.3, ribEnd,
    cortexMm: 1.2,
  };
}

/** Spine tissue at a point, or -1 outside the spine. */
export function spineTissue(s: Skeleton, x: number, y: number, z: number): number {
  const ax = Math.abs(x);
  if (ax > s.canalR + s.transverseMm + 1 || y > s.spineY + s.spineRy + 1) return -1;
  if (y < s.canalY - s.canalR - s.spinousMm - 1) return -1;
  const L = s.levelMm;
  let ph = (z - s.spineZ0) % L;
  if (ph < 0) ph += L;
  const D = s.discMm;
  const c = s.cortexMm;
  const sx = x / s.spineRx;
  const sy = (y - s.spineY) / s.spineRy;
  const e2 = sx * sx + sy * sy;
  if (e2 <= 1) {
    if (ph < D) return TISSUE.disc;
    return Math.sqrt(e2) > 1 - c / s.spineRy || ph < D + c || ph > L - c ? TISSUE.corticalBone : TISSUE.marrow;
  }
  const dyc = y - s.canalY;
  const rc = Math.sqrt(x * x + dyc * dyc);
  if (rc < s.canalR) return TISSUE.csf;
  // Posterior elements occupy part of each level (level phase p in [lo, hi] of the bony part).
  const span = L - D;
  let edge = -1;
  // Pedicles and laminae: a ring around the canal, open towards the vertebral body.
  if (rc < s.canalR + s.laminaMm && dyc < s.spineRy * 0.3 && ph >= D + 0.05 * span && ph <= D + 0.8 * span) {
    edge = Math.min(rc - s.canalR, s.canalR + s.laminaMm - rc);
  } else if (
    // Transverse processes.
    dyc < 4.5 &&
    dyc > -4.5 &&
    ax > s.canalR &&
    ax < s.canalR + s.transverseMm &&
    ph >= D + 0.15 * span &&
    ph <= D + 0.6 * span
  ) {
    edge = Math.min(4.5 - Math.abs(dyc), s.canalR + s.transverseMm - ax);
  } else {
    // Spinous process, sloping down as it runs back.
    const back = -dyc - s.canalR;
    if (ax < 3.5 && back > 0 && back < s.spinousMm) {
      let ps = (ph + 0.6 * back) % L;
      if (ps < 0) ps += L;
      if (ps >= D + 0.2 * span && ps <= D + 0.85 * span) edge = 3.5 - ax;
    }
  }
  if (edge < 0) return -1;
  return edge < c ? TISSUE.corticalBone : TISSUE.marrow;
}

/** Sternum tissue at a point, or -1 outside it. */
export function sternumTissue(s: Skeleton, x: number, y: number): number {
  const ax = Math.abs(x);
  if (ax < s.sternumHalfW && y >= s.sternumIn && y <= s.sternumOut) {
    const edge = Math.min(s.sternumHalfW - ax, y - s.sternumIn, s.sternumOut - y);
    return edge < s.cortexMm ? TISSUE.corticalBone : TISSUE.marrow;
  }
  return -1;
}

/** Ribs, costal cartilage or chest-wall muscle, outside the pleura (rc2 = squared normalised cage radius > 1). */
export function ribTissue(s: Skeleton, x: number, y: number, z: number, rc2: number): number {
  const rc = Math.sqrt(rc2);
  const yy = y - s.cageCy;
  const out = Math.sqrt(x * x + yy * yy) * (1 - 1 / rc);
  const thick = s.ribGap + 2 * s.ribHalfT;
  if (out > thick + 0.5) return TISSUE.muscle;
  const alpha = Math.atan2(Math.abs(x), -yy); // 0 at the back, pi at the front
  if (alpha < s.ribStart) return TISSUE.muscle;
  const q = alpha / Math.PI;
  // Ribs run down and forward, steeper towards the front: the anterior end sits
  // ribDrop mm (about three intercostal spaces) below the posterior end.
  const u = (z - s.ribZ0 + s.ribDrop * q * (0.4 + 0.6 * q)) / s.ribPitch;
  const dz = (u - Math.round(u)) * s.ribPitch;
  const er0 = (out - s.ribGap - s.ribHalfT) / s.ribHalfT;
  const er1 = dz / s.ribHalfH;
  const er = er0 * er0 + er1 * er1;
  if (er > 1) return TISSUE.muscle;
  if (alpha > s.ribEnd) return Math.abs(x) >= s.sternumHalfW ? TISSUE.cartilage : TISSUE.muscle;
  return Math.sqrt(er) > 1 - s.cortexMm / s.ribHalfT ? TISSUE.corticalBone : TISSUE.marrow;
}
