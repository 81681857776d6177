/**
 * Ground truth, following the paper's annotation standard on the final image:
 * a voxel is labelled with a plaque's artery when it is >= 130 HU and
 * 6-connected through >= 130 HU voxels to a voxel the plaque clearly brightens
 * (region growing from the lesion, as scoring software does). Bone and its
 * blur halo are never labelled.
 */

import type { Grid } from './grid.js';
import type { CalciumLayer } from './calcium-layer.js';

/** Calcium threshold of the annotation standard (HU). */
export const THRESHOLD_HU = 130;

/** Bone and its blur halo (`psfRadius` voxels in-plane, plus one): never labelled, and plaques keep clear of it. */
export function boneZone(boneAny: Uint8Array, g: Grid, psfRadius: number): Uint8Array {
  return dilateInPlane(boneAny, g, psfRadius + 1);
}

/** Marks voxels within `r` voxels in-plane (square) of a marked voxel. */
function dilateInPlane(mask: Uint8Array, g: Grid, r: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  const tmp = new Uint8Array(mask.length);
  // Rows then columns: a square structuring element in two passes.
  for (let k = 0; k < g.nz; k++)
    for (let j = 0; j < g.ny; j++) {
      const row = g.nx * (j + g.ny * k);
      for (let i = 0; i < g.nx; i++) {
        if (!mask[row + i]) continue;
        for (let t = Math.max(0, i - r); t <= Math.min(g.nx - 1, i + r); t++) tmp[row + t] = 1;
      }
    }
  for (let k = 0; k < g.nz; k++)
    for (let j = 0; j < g.ny; j++) {
      const row = g.nx * (j + g.ny * k);
      for (let i = 0; i < g.nx; i++) {
        if (!tmp[row + i]) continue;
        for (let t = Math.max(0, j - r); t <= Math.min(g.ny - 1, j + r); t++) out[g.nx * (t + g.ny * k) + i] = 1;
      }
    }
  return out;
}

/**
 * Ground truth by region growing: seeds are voxels >= 130 HU where a
 * calcification adds at least `seedHU`; its label spreads (6-connected,
 * breadth first) through voxels >= 130 HU that are not `blocked` (bone and
 * its halo; for plaques also the other calcium). Returns the labelled voxels.
 */
export function growLabels(ct: Float32Array, labels: Uint8Array, blocked: Uint8Array, g: Grid, layer: CalciumLayer, seedHU: number): number[] {
  const queue: number[] = [];
  // Seeds in ascending voxel order, so ties between arteries resolve the same way every run.
  const seeds = layer.voxel.map((v, s) => [v, s] as const).sort((a, b) => a[0] - b[0]);
  for (const [v, s] of seeds) {
    if (layer.best[s]! >= seedHU && ct[v]! >= THRESHOLD_HU && !blocked[v]) {
      labels[v] = layer.label[s]!;
      queue.push(v);
    }
  }
  const nxy = g.nx * g.ny;
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q]!;
    const k = Math.floor(v / nxy);
    const j = Math.floor((v - k * nxy) / g.nx);
    const i = v - k * nxy - j * g.nx;
    const visit = (u: number) => {
      if (labels[u] === 0 && ct[u]! >= THRESHOLD_HU && !blocked[u]) {
        labels[u] = labels[v]!;
        queue.push(u);
      }
    };
    if (i > 0) visit(v - 1);
    if (i < g.nx - 1) visit(v + 1);
    if (j > 0) visit(v - g.nx);
    if (j < g.ny - 1) visit(v + g.nx);
    if (k > 0) visit(v - nxy);
    if (k < g.nz - 1) visit(v + nxy);
  }
  return queue;
}
