/** Tissue classes of the phantom and their HU, drawn per phantom. */

import type { Rng } from '../base/rng.js';

/** Tissue classes; the renderer maps them to HU per phantom. */
export const TISSUE = {
  air: 0,
  lung: 1,
  fat: 2,
  muscle: 3,
  skin: 4,
  blood: 5,
  myocardium: 6,
  coronary: 7,
  pericardium: 8,
  corticalBone: 9,
  marrow: 10,
  cartilage: 11,
  disc: 12,
  csf: 13,
  gas: 14,
  liver: 15,
  abdomen: 16,
} as const;

export const TISSUE_NAMES = Object.keys(TISSUE) as Array<keyof typeof TISSUE>;
export const TISSUE_COUNT = TISSUE_NAMES.length;

export function isBoneTissue(t: number): boolean {
  return t === TISSUE.corticalBone || t === TISSUE.marrow;
}

/** Tissue HU for one phantom: soft tissues within their usual non-contrast ranges. */
export function drawTissueHU(rng: Rng): Float32Array {
  const hu = new Float32Array(TISSUE_COUNT);
  const blood = rng.uniform(38, 50);
  hu[TISSUE.air] = -1000;
  hu[TISSUE.lung] = rng.uniform(-870, -830);
  hu[TISSUE.fat] = rng.uniform(-110, -85);
  hu[TISSUE.muscle] = rng.uniform(40, 55);
  hu[TISSUE.skin] = rng.uniform(20, 40);
  hu[TISSUE.blood] = blood;
  hu[TISSUE.myocardium] = blood - rng.uniform(2, 8);
  hu[TISSUE.coronary] = blood;
  hu[TISSUE.pericardium] = rng.uniform(25, 40);
  hu[TISSUE.corticalBone] = rng.uniform(550, 1150);
  hu[TISSUE.marrow] = rng.uniform(160, 260);
  hu[TISSUE.cartilage] = rng.uniform(85, 115);
  hu[TISSUE.disc] = rng.uniform(70, 95);
  hu[TISSUE.csf] = rng.uniform(5, 20);
  hu[TISSUE.gas] = rng.uniform(-980, -900);
  hu[TISSUE.liver] = rng.uniform(50, 65);
  hu[TISSUE.abdomen] = rng.uniform(30, 45);
  return hu;
}
