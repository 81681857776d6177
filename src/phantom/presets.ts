/** Grid presets of the phantom generator. */

/** 'small' and 'realistic' have a fixed grid (PHANTOM_PRESETS); 'scanner' draws its own (scanner.ts). */
export type PhantomPreset = 'small' | 'realistic' | 'scanner';
export const PHANTOM_PRESET_NAMES: readonly PhantomPreset[] = ['small', 'realistic', 'scanner'];

export interface PresetSpec {
  dims: [number, number, number];
  /** Range of the in-plane voxel size drawn per phantom (mm). */
  inPlaneMm: [number, number];
  /** Range of the slice spacing (= thickness) drawn per phantom (mm). */
  sliceMm: [number, number];
  /** Anatomy samples per voxel along x, y, z (partial volume). */
  supersample: [number, number, number];
}

/**
 * 'small' (default): 64 x 64 x 16 voxels, 2.0-2.3 mm in-plane and 4.5-5.5 mm
 * slices, i.e. the clinical grid coarsened about 4x in-plane and 2x along z,
 * cropped to the heart (128-147 mm field of view, 72-88 mm along z: the whole
 * coronary tree, the front of the spine, part of the lungs). Made for training
 * and demos on a CPU (SwiftShader). Coarse enough that Agatston 1-10 means a
 * single calcified voxel, which the generator still hits.
 *
 * 'realistic': 512 x 512 x 40 voxels at 0.3-0.7 mm in-plane and 2.5-3.0 mm
 * slices (the paper's protocol and the usual calcium-scoring reconstruction),
 * 154-358 mm field of view (heart-centred when small, whole chest when large),
 * 100-120 mm along z.
 *
 * 'scanner' (scanner.ts, scanner-ranges.ts): scanner-resolution training and
 * evaluation data with a cohort's variation; 512 x 512 (or 256 x 256 at coarse
 * pixels) x 40-80 slices, heart-centred or whole-chest framing.
 */
export const PHANTOM_PRESETS: Record<Exclude<PhantomPreset, 'scanner'>, PresetSpec> = {
  small: { dims: [64, 64, 16], inPlaneMm: [2.0, 2.3], sliceMm: [4.5, 5.5], supersample: [2, 2, 3] },
  realistic: { dims: [512, 512, 40], inPlaneMm: [0.3, 0.7], sliceMm: [2.5, 3.0], supersample: [1, 1, 3] },
};
