/**
 * Oriented ellipsoids (plaques, calcified spots) rasterised onto the grid as an
 * occupancy fraction per voxel: partial volume for objects of a voxel or less.
 */

import { offsets, type Grid } from './grid.js';
import type { Vec3 } from './vec.js';

/** Blob sub-samples are spaced at most this far apart (mm). */
const BLOB_SAMPLE_MM = 0.25;

/** An oriented ellipsoid: centre, unit axes and semi-axes (mm). */
export interface Blob {
  c: Vec3;
  axes: [Vec3, Vec3, Vec3];
  semi: Vec3;
}

/**
 * Occupancy fraction of a blob in each voxel of its (padded) bounding box,
 * supersampled at BLOB_SAMPLE_MM. Returns the box origin and size in voxels.
 */
export function rasterizeBlob(blob: Blob, g: Grid, padVox: number) {
  const ext = [0, 1, 2].map((ax) =>
    Math.hypot(blob.semi[0] * blob.axes[0][ax], blob.semi[1] * blob.axes[1][ax], blob.semi[2] * blob.axes[2][ax]),
  );
  const clampI = (v: number, n: number) => Math.min(n - 1, Math.max(0, v));
  // x and y decrease with i and j.
  const i0 = clampI(Math.floor((g.ox - (blob.c[0] + ext[0]!)) / g.dx + 0.5) - padVox, g.nx);
  const i1 = clampI(Math.ceil((g.ox - (blob.c[0] - ext[0]!)) / g.dx - 0.5) + padVox, g.nx);
  const j0 = clampI(Math.floor((g.oy - (blob.c[1] + ext[1]!)) / g.dy + 0.5) - padVox, g.ny);
  const j1 = clampI(Math.ceil((g.oy - (blob.c[1] - ext[1]!)) / g.dy - 0.5) + padVox, g.ny);
  const k0 = clampI(Math.floor((blob.c[2] - ext[2]! - g.oz) / g.dz + 0.5), g.nz);
  const k1 = clampI(Math.ceil((blob.c[2] + ext[2]! - g.oz) / g.dz - 0.5), g.nz);
  const ni = i1 - i0 + 1;
  const nj = j1 - j0 + 1;
  const nk = k1 - k0 + 1;
  const frac = new Float32Array(Math.max(0, ni * nj * nk));
  const sx = Math.min(24, Math.max(2, Math.ceil(g.dx / BLOB_SAMPLE_MM)));
  const sy = Math.min(24, Math.max(2, Math.ceil(g.dy / BLOB_SAMPLE_MM)));
  const sz = Math.min(24, Math.max(2, Math.ceil(g.dz / BLOB_SAMPLE_MM)));
  const offX = offsets(sx, g.dx);
  const offY = offsets(sy, g.dy);
  const offZ = offsets(sz, g.dz);
  const [a0, a1, a2] = blob.axes;
  const [s0, s1, s2] = blob.semi;
  const inv = 1 / (sx * sy * sz);
  for (let k = 0; k < nk; k++) {
    for (let j = 0; j < nj; j++) {
      for (let i = 0; i < ni; i++) {
        const xc = g.ox - (i0 + i) * g.dx - blob.c[0];
        const yc = g.oy - (j0 + j) * g.dy - blob.c[1];
        const zc = g.oz + (k0 + k) * g.dz - blob.c[2];
        let inside = 0;
        for (let c = 0; c < sz; c++) {
          const z = zc + offZ[c]!;
          for (let b = 0; b < sy; b++) {
            const y = yc - offY[b]!;
            for (let a = 0; a < sx; a++) {
              const x = xc - offX[a]!;
              const u = (x * a0[0] + y * a0[1] + z * a0[2]) / s0;
              const v = (x * a1[0] + y * a1[1] + z * a1[2]) / s1;
              const w = (x * a2[0] + y * a2[1] + z * a2[2]) / s2;
              if (u * u + v * v + w * w <= 1) inside++;
            }
          }
        }
        frac[i + ni * (j + nj * k)] = inside * inv;
      }
    }
  }
  return { frac, i0, j0, k0, ni, nj, nk };
}

/** Adds `excessHU` x occupancy of the blob to `hu` (no blur: the image's blur comes later). */
export function addBlob(hu: Float32Array, g: Grid, blob: Blob, excessHU: number): void {
  const f = rasterizeBlob(blob, g, 0);
  for (let k = 0; k < f.nk; k++)
    for (let j = 0; j < f.nj; j++)
      for (let i = 0; i < f.ni; i++) {
        const fr = f.frac[i + f.ni * (j + f.nj * k)]!;
        if (fr > 0) hu[f.i0 + i + g.nx * (f.j0 + j + g.ny * (f.k0 + k))]! += fr * excessHU;
      }
}
