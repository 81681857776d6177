/**
 * Calcium that is not coronary: in the aortic wall, the aortic valve, the
 * mitral annulus and leaflets, the costal cartilage. It is rendered into the
 * image before blur and noise like the anatomy, never labelled, and marked in
 * its own label volume (its kind per voxel >= 130 HU, grown from the voxels it
 * clearly brightens like the coronary ground truth), so an evaluation can check
 * that no method calls it coronary. noncoronary-sites.ts decides where it goes.
 */

import type { Rng } from '../base/rng.js';
import type { CodeMapSpec } from '../io/nifti.js';
import type { Anatomy } from './anatomy.js';
import { CalciumLayer } from './calcium-layer.js';
import { addBlob, rasterizeBlobs, type Blob } from './blob.js';
import type { Grid } from './grid.js';
import { THRESHOLD_HU, growLabels } from './ground-truth.js';
import type { Psf } from './image.js';
import { round3 } from './round.js';
import { TISSUE } from './tissue.js';
import type { Vec3 } from './vec.js';

export type CalciumKind = 'aortic-wall' | 'aortic-valve' | 'mitral-annulus' | 'mitral-valve' | 'costal-cartilage';

/** Codes of the non-coronary label volume (0: none). */
export const CALCIUM_KIND_CODES: Record<CalciumKind, number> = {
  'aortic-wall': 1,
  'aortic-valve': 2,
  'mitral-annulus': 3,
  'mitral-valve': 4,
  'costal-cartilage': 5,
};

/** How the non-coronary label volume is written (nifti-file.ts writeCodeMap). */
export const NON_CORONARY_SPEC: CodeMapSpec = {
  maxCode: 5,
  meaning: 'none, aortic wall, aortic valve, mitral annulus, mitral valve, costal cartilage',
  descrip: 'non-coronary Ca: 1 aortic wall, 2 aortic valve, 3 MAC, 4 mitral, 5 cartilage',
};

/** One calcification: a union of blobs of one density. */
export interface Calcification {
  kind: CalciumKind;
  blobs: Blob[];
  densityHU: number;
}

/** The small and realistic presets' record of an aortic spot. */
export interface CalcificationInfo {
  centerMm: Vec3;
  semiAxesMm: Vec3;
  densityHU: number;
}

/** The scanner preset's record of any non-coronary calcification. */
export interface NonCoronaryInfo {
  kind: CalciumKind;
  /** Centre and size of its bounding box (mm). */
  centerMm: Vec3;
  sizeMm: Vec3;
  densityHU: number;
  /** Sum of its blobs' volumes (mm^3; overlaps counted twice). */
  volumeMm3: number;
}

/** 1-4 spots on the descending aorta's wall, 300-900 HU, a few mm long (small and realistic presets). */
export function addAorticCalcifications(r: Rng, anat: Anatomy, g: Grid, hu: Float32Array): { info: CalcificationInfo[]; calcifications: Calcification[] } {
  const info: CalcificationInfo[] = [];
  const calcifications: Calcification[] = [];
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
    info.push({ centerMm: blob.c, semiAxesMm: blob.semi, densityHU });
    calcifications.push({ kind: 'aortic-wall', blobs: [blob], densityHU });
  }
  return { info, calcifications };
}

/** Mixes each calcification into the image: HU -> HU + occupancy x (density - HU). */
export function renderCalcifications(hu: Float32Array, g: Grid, calcifications: readonly Calcification[]): void {
  for (const c of calcifications) {
    const f = rasterizeBlobs(c.blobs, g, 0);
    for (let k = 0; k < f.nk; k++)
      for (let j = 0; j < f.nj; j++)
        for (let i = 0; i < f.ni; i++) {
          const fr = f.frac[i + f.ni * (j + f.nj * k)]!;
          if (fr === 0) continue;
          const v = f.i0 + i + g.nx * (f.j0 + j + g.ny * (f.k0 + k));
          hu[v] = hu[v]! + fr * (c.densityHU - hu[v]!);
        }
  }
}

/**
 * The non-coronary label volume on the final image: seeds where a
 * calcification, blurred like the image, adds at least half of (130 HU -
 * blood), grown through voxels >= 130 HU outside `blocked` (bone).
 */
export function nonCoronaryLabels(ct: Float32Array, g: Grid, calcifications: readonly Calcification[], psf: Psf, blood: number, blocked: Uint8Array): Uint8Array {
  const out = new Uint8Array(ct.length);
  if (calcifications.length === 0) return out;
  const layer = new CalciumLayer();
  for (const c of calcifications) layer.addBlurred(ct, g, c.blobs, psf, c.densityHU - blood, CALCIUM_KIND_CODES[c.kind]);
  growLabels(ct, out, blocked, g, layer, 0.5 * (THRESHOLD_HU - blood));
  return out;
}

/** What meta records of a calcification. */
export function describeCalcification(c: Calcification): NonCoronaryInfo {
  const lo: Vec3 = [Infinity, Infinity, Infinity];
  const hi: Vec3 = [-Infinity, -Infinity, -Infinity];
  let volume = 0;
  for (const b of c.blobs) {
    for (let ax = 0; ax < 3; ax++) {
      const ext = Math.hypot(b.semi[0] * b.axes[0][ax], b.semi[1] * b.axes[1][ax], b.semi[2] * b.axes[2][ax]);
      lo[ax] = Math.min(lo[ax]!, b.c[ax]! - ext);
      hi[ax] = Math.max(hi[ax]!, b.c[ax]! + ext);
    }
    volume += (4 / 3) * Math.PI * b.semi[0] * b.semi[1] * b.semi[2];
  }
  return {
    kind: c.kind,
    centerMm: [0, 1, 2].map((ax) => round3((lo[ax]! + hi[ax]!) / 2)) as Vec3,
    sizeMm: [0, 1, 2].map((ax) => round3(hi[ax]! - lo[ax]!)) as Vec3,
    densityHU: Math.round(c.densityHU),
    volumeMm3: round3(volume),
  };
}
