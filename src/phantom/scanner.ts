/**
 * The scanner preset's acquisition: framing, matrix, pixel, field of view,
 * slices and scan range, reconstruction and noise, drawn per phantom from the
 * split's ranges (scanner-ranges.ts), and the grid placed on the patient:
 *
 * - heart-centred framing (field of view up to 250 mm): the grid centre near
 *   the heart, off by up to `fieldOffsetMm`; 512 x 512, or 256 x 256 at
 *   coarse pixels (0.71-0.9 mm);
 * - whole-chest framing (290-360 mm): 512 x 512 centred on the chest;
 * - along z from above the left main to below the apex with random margins,
 *   40-80 slices (margins grow or shrink evenly to fit).
 * Ribs, arms and the body outline are simply cut where they leave the grid.
 */

import type { Rng } from '../base/rng.js';
import { Anatomy } from './anatomy.js';
import { Draws } from './draws.js';
import { placeGrid, storable, type Grid } from './grid.js';
import { rangesFor, type PhantomSplit } from './scanner-ranges.js';
import type { Vec3 } from './vec.js';

export type Framing = 'heart' | 'chest';

export interface ScannerSetup {
  split: PhantomSplit;
  framing: Framing;
  matrix: 256 | 512;
  fovMm: number;
  pixelMm: number;
  sliceMm: number;
  marginAboveMm: number;
  marginBelowMm: number;
  noiseHU: number;
  /** White noise, or noise with the grain of the reconstruction kernel (added before the PSF). */
  noiseTexture: 'white' | 'psf';
  blurMm: number;
  /** Amplitude of the marrow texture (HU). */
  trabecularTextureHU: number;
}

const HEART_FOV: [number, number] = [154, 250];
const CHEST_FOV: [number, number] = [290, 360];
/** Pixels of a 256 matrix (coarse reconstructions; always heart-centred). */
const COARSE_PIXEL: [number, number] = [0.71, 0.9];
const MIN_SLICES = 40;
const MAX_SLICES = 80;

export function drawScannerSetup(d: Draws, split: PhantomSplit): ScannerSetup {
  const framing: Framing = d.pick('chestFraming', [0.65, 0.35]) === 1 ? 'chest' : 'heart';
  const matrix = framing === 'heart' && d.chance('matrix256', 0.3) ? 256 : 512;
  let fovMm: number;
  let pixelMm: number;
  if (matrix === 256) {
    pixelMm = storable(d.within('pixelMm', COARSE_PIXEL[0], COARSE_PIXEL[1]), 1e4);
    fovMm = d.record('fovMm', pixelMm * 256);
  } else {
    const [lo, hi] = framing === 'heart' ? HEART_FOV : CHEST_FOV;
    pixelMm = storable(d.within('fovMm', lo, hi) / 512, 1e4);
    fovMm = d.record('fovMm', pixelMm * 512);
    d.record('pixelMm', pixelMm);
  }
  d.record('matrix', matrix);
  const sliceMm = storable(d.ranged('sliceMm'), 1e4);
  d.record('sliceMm', sliceMm);
  return {
    split,
    framing,
    matrix,
    fovMm,
    pixelMm,
    sliceMm,
    marginAboveMm: d.ranged('marginAboveMm'),
    marginBelowMm: d.ranged('marginBelowMm'),
    noiseHU: d.ranged('noiseHU'),
    noiseTexture: d.chance('correlatedNoise', 0.6) ? 'psf' : 'white',
    blurMm: d.ranged('blurMm'),
    trabecularTextureHU: d.ranged('trabecularTextureHU'),
  };
}

/** Highest point of the left main (the LAD's first `leftMainMm`). */
function leftMainTopZ(anat: Anatomy): number {
  const lad = anat.vessels.find((v) => v.name === 'LAD')!;
  let top = -Infinity;
  lad.points.forEach((p, i) => {
    if (lad.arc[i]! <= lad.leftMainMm) top = Math.max(top, p[2]);
  });
  return top;
}

/** The heart's bounding box (the myocardium's ellipsoid) in patient mm. */
export function heartBox(anat: Anatomy): { min: Vec3; max: Vec3 } {
  const h = anat.heart;
  const e = [h.halfExtent(0), h.halfExtent(1), h.halfExtent(2)] as const;
  return {
    min: [h.c[0] - e[0], h.c[1] - e[1], h.c[2] - e[2]],
    max: [h.c[0] + e[0], h.c[1] + e[1], h.c[2] + e[2]],
  };
}

/** The grid on the patient: framing in-plane, the heart's z-range with margins. */
export function scannerGrid(anat: Anatomy, s: ScannerSetup, d: Draws): Grid {
  const box = heartBox(anat);
  let top = Math.max(leftMainTopZ(anat), box.max[2] - 10) + s.marginAboveMm;
  let bottom = box.min[2] - s.marginBelowMm;
  const nz = Math.min(MAX_SLICES, Math.max(MIN_SLICES, Math.round((top - bottom) / s.sliceMm) + 1));
  const mid = (top + bottom) / 2;
  top = mid + ((nz - 1) / 2) * s.sliceMm;
  bottom = mid - ((nz - 1) / 2) * s.sliceMm;
  let cx: number;
  let cy: number;
  if (s.framing === 'heart') {
    const offset = d.ranged('fieldOffsetMm');
    const angle = d.rng.uniform(0, 2 * Math.PI);
    // Centre on the heart and the aortic root (what a technologist frames), then off by `offset`.
    const right = Math.max(box.max[0], anat.great.rootC[0] + anat.great.rootR);
    cx = (box.min[0] + right) / 2 + offset * Math.cos(angle);
    cy = (box.min[1] + box.max[1]) / 2 + offset * Math.sin(angle);
  } else {
    cx = d.rng.uniform(-5, 5);
    cy = anat.body.bodyCy + d.rng.uniform(-5, 5);
  }
  return placeGrid([s.matrix, s.matrix, nz], [s.pixelMm, s.pixelMm, s.sliceMm], [cx, cy, (top + bottom) / 2]);
}

/**
 * A scanner-preset patient and its scan: the anatomy and acquisition drawn
 * from the split's ranges on the phantom's streams, and the grid. `draws`
 * holds every parameter drawn. Cheap (no image): tests check the ranges on it.
 */
export function scannerPatient(root: Rng, split: PhantomSplit): { anat: Anatomy; setup: ScannerSetup; g: Grid; draws: Draws } {
  const draws = new Draws(root.fork('anatomy'), rangesFor(split));
  const anat = new Anatomy(draws, 'scanner');
  const sd = draws.fork('scanner');
  const setup = drawScannerSetup(sd, split);
  return { anat, setup, g: scannerGrid(anat, setup, sd), draws };
}
