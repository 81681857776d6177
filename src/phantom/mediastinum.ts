/**
 * The mediastinum outside the heart: descending aorta and oesophagus in front
 * of the spine, the aortic root and ascending aorta, the superior vena cava, the
 * pulmonary trunk, and the fat column from spine to sternum.
 */

import type { Rng } from '../base/rng.js';
import type { Skeleton } from './skeleton.js';
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
export function drawPosteriorMediastinum(r: Rng, s: Skeleton): PosteriorMediastinum {
  const dAortaR = r.uniform(10, 13);
  const aDir = normalize([-0.78, 0.62, 0]);
  const aDist = Math.hypot(s.spineRx * aDir[0], s.spineRy * aDir[1]) + dAortaR + 3;
  const dAortaX = aDir[0] * aDist;
  const dAortaY = s.spineY + aDir[1] * aDist;
  const esoR = r.uniform(6, 8);
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
export function drawGreatVessels(r: Rng, bifurcation: Vec3, heartCentre: Vec3): GreatVessels {
  const rootR = r.uniform(13, 16);
  const rootC = add(bifurcation, [r.uniform(19, 24), -r.uniform(5, 10), -r.uniform(1, 5)]);
  const ascR = rootR * r.uniform(0.85, 0.95);
  const ascTop = add(rootC, [r.uniform(4, 12), r.uniform(0, 10), 140]);
  const svcR = r.uniform(8, 10);
  const paR = r.uniform(12, 14);
  // Pulmonary trunk: in front of and left of the root, running up and back.
  const paA = add(rootC, [-r.uniform(4, 8), r.uniform(20, 24), -r.uniform(2, 6)]);
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
    columnHalfW: r.uniform(16, 24),
  };
}
