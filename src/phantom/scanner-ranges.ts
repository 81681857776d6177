/**
 * The scanner preset's parameter ranges: for each parameter the full range
 * (what a held-out cohort draws from) and the training range (what the `train`
 * split draws from, inside the full one). Held-out phantoms therefore include
 * grids, noise, bodies and hearts outside anything a network trained on
 * `train` phantoms has seen. The names are those the generator records in
 * meta.scanner.parameters; parameters not listed here keep one range in both
 * splits (the default written where they are drawn).
 */

import type { Range } from './draws.js';

export type PhantomSplit = 'train' | 'heldout';
export const PHANTOM_SPLITS: readonly PhantomSplit[] = ['train', 'heldout'];

export interface ParameterRange {
  full: Range;
  train: Range;
  /** What it is, with its unit. */
  what: string;
}

export const SCANNER_RANGES = {
  // Grid and image.
  fovMm: { full: [154, 360], train: [180, 330], what: 'field of view, mm (heart-centred up to 250, whole chest from 290)' },
  pixelMm: { full: [0.3, 0.9], train: [0.35, 0.8], what: 'in-plane pixel, mm (field of view / matrix of 512 or 256)' },
  sliceMm: { full: [2.5, 3], train: [2.5, 3], what: 'slice spacing = thickness, mm' },
  marginAboveMm: { full: [0, 100], train: [5, 85], what: 'scan range above the left main, mm' },
  marginBelowMm: { full: [0, 50], train: [5, 45], what: 'scan range below the apex, mm' },
  fieldOffsetMm: { full: [0, 25], train: [0, 20], what: 'heart-centred framing: distance of the grid centre from the heart, mm' },
  noiseHU: { full: [10, 40], train: [10, 30], what: 'image noise standard deviation, HU' },
  blurMm: { full: [0.25, 0.9], train: [0.3, 0.8], what: 'reconstruction point-spread function, Gaussian sigma, mm' },
  // Tissue.
  huOffset: { full: [-20, 20], train: [-15, 15], what: 'calibration offset of every tissue, HU' },
  boneDensity: { full: [0.55, 1.4], train: [0.6, 1.3], what: 'factor on cortical and marrow HU' },
  trabecularTextureHU: { full: [0, 90], train: [0, 70], what: 'amplitude of the marrow texture, HU' },
  // Body.
  ribCageHalfWidthMm: { full: [100, 165], train: [105, 160], what: 'half width of the rib cage (lateral body size), mm' },
  sternumFrontMm: { full: [72, 120], train: [76, 115], what: 'front of the sternum in front of the origin (AP body size), mm' },
  spineDepthMm: { full: [38, 62], train: [40, 60], what: 'vertebral body centre behind the origin, mm' },
  subcutaneousFatMm: { full: [2, 55], train: [3, 50], what: 'subcutaneous fat, mm' },
  chestWallMuscleMm: { full: [6, 25], train: [6, 25], what: 'chest wall muscle, mm' },
  armRadiusMm: { full: [36, 56], train: [38, 54], what: 'upper arm radius when the arms are down, mm' },
  armGapMm: { full: [2, 30], train: [3, 25], what: 'gap between arm and chest, mm' },
  // Heart.
  heartAzimuthDeg: { full: [25, 68], train: [30, 62], what: 'long axis from the sagittal plane towards the left, degrees' },
  heartElevationDeg: { full: [15, 55], train: [20, 50], what: 'long axis below the axial plane, degrees' },
  heartRollDeg: { full: [-35, 35], train: [-25, 25], what: 'roll about the long axis, degrees' },
  heartSize: { full: [0.8, 1.25], train: [0.85, 1.2], what: 'heart size factor' },
  heartXMm: { full: [-38, -6], train: [-34, -8], what: 'heart centre, patient x (negative: left), mm' },
  heartZMm: { full: [-12, 12], train: [-10, 10], what: 'heart centre height, mm' },
  epicardialFatMm: { full: [1.5, 12], train: [2, 10], what: 'epicardial fat, mm' },
  // Coronary course.
  leftMainTakeoffT: { full: [-0.1, 0.1], train: [-0.08, 0.08], what: 'left main bifurcation shift along the long axis (t)' },
  leftMainTakeoffPhiDeg: { full: [-15, 15], train: [-12, 12], what: 'left main bifurcation shift around the long axis, degrees' },
  rootRightOfLeftMainMm: { full: [14, 30], train: [15, 28], what: 'aortic root right of the bifurcation (left main length), mm' },
  ladEndT: { full: [0.7, 1], train: [0.7, 1], what: 'end of the LAD on the long axis (t, 1: apex)' },
  sideBranchScale: { full: [0.6, 1.35], train: [0.65, 1.3], what: 'length factor of D1 and OM1' },
  tortuosityMm: { full: [0, 3.5], train: [0, 2.5], what: 'side-to-side wiggle of the coronaries, mm' },
  tortuosityWavelengthMm: { full: [12, 30], train: [12, 30], what: 'wavelength of that wiggle, mm' },
  rcaTakeoffT: { full: [-0.08, 0.08], train: [-0.06, 0.06], what: 'RCA take-off shift along the long axis (t)' },
  rcaTakeoffPhiDeg: { full: [-25, 25], train: [-20, 20], what: 'RCA take-off shift around the long axis, degrees' },
  // Great vessels.
  archRiseMm: { full: [45, 80], train: [45, 80], what: 'top of the aortic arch above the root, mm' },
  archCrestMm: { full: [12, 30], train: [12, 30], what: 'rise of the arch between ascending and descending aorta, mm' },
  tracheaRadiusMm: { full: [7, 11], train: [7, 11], what: 'trachea radius, mm' },
  tracheaXMm: { full: [-2, 8], train: [-2, 8], what: 'trachea, patient x (right of the midline), mm' },
  carinaAboveRootMm: { full: [15, 45], train: [15, 45], what: 'carina above the aortic root centre (below the arch), mm' },
} as const satisfies Record<string, ParameterRange>;

export type ScannerParameter = keyof typeof SCANNER_RANGES;

/** The range table of a split: name -> [lo, hi]. */
export function rangesFor(split: PhantomSplit): Record<string, Range> {
  const out: Record<string, Range> = {};
  for (const [name, r] of Object.entries(SCANNER_RANGES)) out[name] = split === 'train' ? r.train : r.full;
  return out;
}
