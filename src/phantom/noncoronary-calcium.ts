/**
 * Calcium that is not coronary: calcified spots in the descending aortic wall.
 * Rendered into the image before blur and noise, never labelled.
 */

import type { Rng } from '../base/rng.js';
import type { Anatomy } from './anatomy.js';
import { addBlob, type Blob } from './blob.js';
import type { Grid } from './grid.js';
import { TISSUE } from './tissue.js';
import type { Vec3 } from './vec.js';

export interface CalcificationInfo {
  centerMm: Vec3;
  semiAxesMm: Vec3;
  densityHU: number;
}

/** 1-4 spots on the descending aorta's wall, 300-900 HU, a few mm long. */
export function addAorticCalcifications(r: Rng, anat: Anatomy, g: Grid, hu: Float32Array): CalcificationInfo[] {
  const out: CalcificationInfo[] = [];
  const pm = anat.posterior;
  const blood = anat.tissueHU[TISSUE.blood]!;
  const count = r.int(1, 4);
  for (let c = 0; c < count; c++) {
    const th = r.uniform(0, 2 * Math.PI);
    const radial: Vec3 = [Math.cos(th), Math.sin(th), 0];
    const z = g.oz + r.uniform(0.15, 0.85) * (g.nz - 1) * g.dz;
    const blob: Blob = {
      c: [pm.dAortaX + radial[0] * pm.dAortaR, pm.dAortaY + radial[1] * pm.dAortaR, z],
      axes: [[0, 0, 1], radial, [-radial[1], radial[0], 0]],
      semi: [r.uniform(1, 3), r.uniform(0.6, 1.2), r.uniform(1.5, 3)],
    };
    const densityHU = r.uniform(300, 900);
    addBlob(hu, g, blob, densityHU - blood);
    out.push({ centerMm: blob.c, semiAxesMm: blob.semi, densityHU });
  }
  return out;
}
