/**
 * The voxel grid of a phantom: its spacing drawn from the preset, placed in
 * patient space around the heart (or the whole chest when the field is wide).
 */

import type { Rng } from '../base/rng.js';
import type { Anatomy } from './anatomy.js';
import type { PresetSpec } from './presets.js';
import type { Vec3 } from './vec.js';

/** Voxel grid in patient space: voxel (i, j, k) is at (ox - i dx, oy - j dy, oz + k dz). */
export interface Grid {
  nx: number;
  ny: number;
  nz: number;
  dx: number;
  dy: number;
  dz: number;
  ox: number;
  oy: number;
  oz: number;
}

export function gridAffine(g: Grid): number[] {
  // i runs to the patient's left and j to the back: rows display like a radiology viewer.
  return [-g.dx, 0, 0, g.ox, 0, -g.dy, 0, g.oy, 0, 0, g.dz, g.oz, 0, 0, 0, 1];
}

/** Dims and spacing: the preset's draw unless given; explicit dims keep the preset's field of view. */
export function resolveGrid(
  preset: PresetSpec,
  r: Rng,
  dimsOpt?: [number, number, number],
  spacingOpt?: [number, number, number],
): { dims: [number, number, number]; spacing: [number, number, number] } {
  const dx = r.uniform(preset.inPlaneMm[0], preset.inPlaneMm[1]);
  const dz = r.uniform(preset.sliceMm[0], preset.sliceMm[1]);
  const dims = dimsOpt ?? preset.dims;
  const spacing = spacingOpt ?? [(dx * preset.dims[0]) / dims[0], (dx * preset.dims[1]) / dims[1], (dz * preset.dims[2]) / dims[2]];
  return { dims: [...dims], spacing: [storable(spacing[0], 1e4), storable(spacing[1], 1e4), storable(spacing[2], 1e4)] };
}

/**
 * Rounded to `per` steps per mm, then to float32: NIfTI stores spacing and
 * affine as float32, so the files carry exactly the grid the phantom (and its
 * manifest scores) used.
 */
export function storable(x: number, per: number): number {
  return Math.fround(Math.round(x * per) / per);
}

/** Field-of-view centre: the heart and the front of the spine; the whole chest when the field is wide. */
export function fieldCentre(anat: Anatomy, dims: [number, number, number], spacing: [number, number, number], r: Rng): Vec3 {
  const h = anat.heart;
  const hx = h.halfExtent(0);
  const hy = h.halfExtent(1);
  const right = Math.max(h.c[0] + hx, anat.great.rootC[0] + anat.great.rootR);
  const heartX = (h.c[0] - hx + right) / 2;
  const heartY = (h.c[1] + hy + anat.skeleton.spineY) / 2;
  const fov = Math.min(dims[0] * spacing[0], dims[1] * spacing[1]);
  const w = Math.min(1, Math.max(0, (fov - 180) / 160));
  let zlo = Infinity;
  let zhi = -Infinity;
  for (const v of anat.vessels)
    for (const p of v.points) {
      zlo = Math.min(zlo, p[2]);
      zhi = Math.max(zhi, p[2]);
    }
  return [
    heartX * (1 - w) + r.uniform(-3, 3),
    heartY * (1 - w) + anat.body.bodyCy * w + r.uniform(-3, 3),
    (zlo + zhi) / 2 + r.uniform(-2, 2),
  ];
}

/** The grid with its first voxel placed so that `centre` is the middle of the volume. */
export function placeGrid(dims: [number, number, number], spacing: [number, number, number], centre: Vec3): Grid {
  return {
    nx: dims[0],
    ny: dims[1],
    nz: dims[2],
    dx: spacing[0],
    dy: spacing[1],
    dz: spacing[2],
    ox: storable(centre[0] + ((dims[0] - 1) / 2) * spacing[0], 1e3),
    oy: storable(centre[1] + ((dims[1] - 1) / 2) * spacing[1], 1e3),
    oz: storable(centre[2] - ((dims[2] - 1) / 2) * spacing[2], 1e3),
  };
}

/** Sub-sample offsets across one voxel of size `size`, n samples, centred. */
export function offsets(n: number, size: number): Float64Array {
  const o = new Float64Array(n);
  for (let s = 0; s < n; s++) o[s] = ((s + 0.5) / n - 0.5) * size;
  return o;
}
