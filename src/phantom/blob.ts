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

/** Voxel index range of a blob's extent (unclamped); x and y decrease with i and j. */
function voxelBox(blob: Blob, g: Grid): { i0: number; i1: number; j0: number; j1: number; k0: number; k1: number } {
  const ext = [0, 1, 2].map((ax) =>
    Math.hypot(blob.semi[0] * blob.axes[0][ax], blob.semi[1] * blob.axes[1][ax], blob.semi[2] * blob.axes[2][ax]),
  );
  return {
    i0: Math.floor((g.ox - (blob.c[0] + ext[0]!)) / g.dx + 0.5),
    i1: Math.ceil((g.ox - (blob.c[0] - ext[0]!)) / g.dx - 0.5),
    j0: Math.floor((g.oy - (blob.c[1] + ext[1]!)) / g.dy + 0.5),
    j1: Math.ceil((g.oy - (blob.c[1] - ext[1]!)) / g.dy - 0.5),
    k0: Math.floor((blob.c[2] - ext[2]! - g.oz) / g.dz + 0.5),
    k1: Math.ceil((blob.c[2] + ext[2]! - g.oz) / g.dz - 0.5),
  };
}

/**
 * Occupancy fraction of a union of blobs in each voxel of their bounding box
 * (padded in-plane by `padVox`, e.g. for a blur), supersampled at
 * BLOB_SAMPLE_MM. Returns the box origin and size in voxels.
 */
export function rasterizeBlobs(blobs: readonly Blob[], g: Grid, padVox: number) {
  const boxes = blobs.map((b) => voxelBox(b, g));
  const lo = (key: 'i0' | 'j0' | 'k0') => Math.min(...boxes.map((b) => b[key]));
  const hi = (key: 'i1' | 'j1' | 'k1') => Math.max(...boxes.map((b) => b[key]));
  const clampI = (v: number, n: number) => Math.min(n - 1, Math.max(0, v));
  const i0 = clampI(lo('i0') - padVox, g.nx);
  const i1 = clampI(hi('i1') + padVox, g.nx);
  const j0 = clampI(lo('j0') - padVox, g.ny);
  const j1 = clampI(hi('j1') + padVox, g.ny);
  const k0 = clampI(lo('k0'), g.nz);
  const k1 = clampI(hi('k1'), g.nz);
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
  const inv = 1 / (sx * sy * sz);
  const near: Blob[] = [];
  for (let k = 0; k < nk; k++) {
    for (let j = 0; j < nj; j++) {
      for (let i = 0; i < ni; i++) {
        const I = i0 + i;
        const J = j0 + j;
        const K = k0 + k;
        // Only blobs whose extent reaches this voxel can cover its samples.
        near.length = 0;
        boxes.forEach((b, n) => {
          if (I >= b.i0 && I <= b.i1 && J >= b.j0 && J <= b.j1 && K >= b.k0 && K <= b.k1) near.push(blobs[n]!);
        });
        if (near.length === 0) continue;
        let inside = 0;
        for (let c = 0; c < sz; c++) {
          for (let b = 0; b < sy; b++) {
            for (let a = 0; a < sx; a++) {
              for (const blob of near) {
                const x = g.ox - I * g.dx - blob.c[0] - offX[a]!;
                const y = g.oy - J * g.dy - blob.c[1] - offY[b]!;
                const z = g.oz + K * g.dz - blob.c[2] + offZ[c]!;
                const [a0, a1, a2] = blob.axes;
                const u = (x * a0[0] + y * a0[1] + z * a0[2]) / blob.semi[0];
                const v = (x * a1[0] + y * a1[1] + z * a1[2]) / blob.semi[1];
                const w = (x * a2[0] + y * a2[1] + z * a2[2]) / blob.semi[2];
                if (u * u + v * v + w * w <= 1) {
                  inside++;
                  break;
                }
              }
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
  const f = rasterizeBlobs([blob], g, 0);
  for (let k = 0; k < f.nk; k++)
    for (let j = 0; j < f.nj; j++)
      for (let i = 0; i < f.ni; i++) {
        const fr = f.frac[i + f.ni * (j + f.nj * k)]!;
        if (fr > 0) hu[f.i0 + i + g.nx * (f.j0 + j + g.ny * (f.k0 + k))]! += fr * excessHU;
      }
}
