/** Tissue classes of the phantom and their HU, drawn per phantom. */

import type { Draws } from './draws.js';

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
export function drawTissueHU(d: Draws): Float32Array {
  const hu = new Float32Array(TISSUE_COUNT);
  const blood = d.uniform('bloodHU', 38, 50);
  hu[TISSUE.air] = -1000;
  hu[TISSUE.lung] = d.uniform('lungHU', -870, -830);
  hu[TISSUE.fat] = d.uniform('fatHU', -110, -85);
  hu[TISSUE.muscle] = d.uniform('muscleHU', 40, 55);
  hu[TISSUE.skin] = d.uniform('skinHU', 20, 40);
  hu[TISSUE.blood] = blood;
  hu[TISSUE.myocardium] = blood - d.uniform('bloodOverMyocardiumHU', 2, 8);
  hu[TISSUE.coronary] = blood;
  hu[TISSUE.pericardium] = d.uniform('pericardiumHU', 25, 40);
  hu[TISSUE.corticalBone] = d.uniform('corticalBoneHU', 550, 1150);
  hu[TISSUE.marrow] = d.uniform('marrowHU', 160, 260);
  hu[TISSUE.cartilage] = d.uniform('cartilageHU', 85, 115);
  hu[TISSUE.disc] = d.uniform('discHU', 70, 95);
  hu[TISSUE.csf] = d.uniform('csfHU', 5, 20);
  hu[TISSUE.gas] = d.uniform('gasHU', -980, -900);
  hu[TISSUE.liver] = d.uniform('liverHU', 50, 65);
  hu[TISSUE.abdomen] = d.uniform('abdomenHU', 30, 45);
  return hu;
}

/**
 * A scanner's calibration and a patient's bones (scanner preset only): every
 * tissue but air shifted by `huOffset`, bone HU scaled by `boneDensity`.
 */
export function adjustTissueHU(hu: Float32Array, d: Draws): void {
  const offset = d.ranged('huOffset');
  const density = d.ranged('boneDensity');
  hu[TISSUE.corticalBone]! *= density;
  hu[TISSUE.marrow]! *= density;
  for (let t = 0; t < hu.length; t++) if (t !== TISSUE.air) hu[t]! += offset;
}
