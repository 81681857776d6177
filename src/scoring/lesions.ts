/**
 * 3D connected components of a binary mask: the lesion finder.
 *
 * Components are numbered 1..n in the raster order (x fastest) of their first
 * voxel, so the numbering is deterministic and independent of traversal details.
 */

import { InputError } from '../base/errors.js';

export type Connectivity = 6 | 26;

export interface Components {
  /** Per component, in numbering order: its voxel indices, ascending. */
  voxels: Uint32Array[];
}

/** Neighbour offsets (di, dj, dk) for face (6) or face+edge+corner (26) adjacency. */
function neighbourOffsets(connectivity: Connectivity): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (let dk = -1; dk <= 1; dk++) {
    for (let dj = -1; dj <= 1; dj++) {
      for (let di = -1; di <= 1; di++) {
        const manhattan = Math.abs(di) + Math.abs(dj) + Math.abs(dk);
        if (manhattan === 0) continue;
        if (connectivity === 6 && manhattan !== 1) continue;
        out.push([di, dj, dk]);
      }
    }
  }
  return out;
}

/**
 * Labels the connected components of `mask` (non-zero = inside) on a grid of
 * `dims` = [nx, ny, nz]. Breadth-first flood fill with an explicit queue, so
 * large lesions cannot overflow the call stack.
 */
export function connectedComponents(
  mask: Uint8Array,
  dims: readonly [number, number, number],
  connectivity: Connectivity = 6,
): Components {
  const [nx, ny, nz] = dims;
  const n = nx * ny * nz;
  if (mask.length !== n) {
    throw new InputError(`mask has ${mask.length} voxels but dims [${dims.join(', ')}] need ${n}`);
  }
  if (connectivity !== 6 && connectivity !== 26) {
    throw new InputError(`connectivity must be 6 or 26, got ${String(connectivity)}`);
  }
  const offsets = neighbourOffsets(connectivity);
  // One byte per voxel, not a full label volume: scans reach 512 x 512 x 100+ voxels.
  const seen = new Uint8Array(n);
  const voxels: Uint32Array[] = [];
  // One queue reused for every component; a voxel enters it at most once overall.
  const queue = new Uint32Array(Math.max(1, countNonZero(mask)));
  const nxy = nx * ny;

  for (let seed = 0; seed < n; seed++) {
    if (mask[seed] === 0 || seen[seed] !== 0) continue;
    let head = 0;
    let tail = 0;
    queue[tail++] = seed;
    seen[seed] = 1;
    while (head < tail) {
      const v = queue[head++]!;
      const k = Math.floor(v / nxy);
      const rem = v - k * nxy;
      const j = Math.floor(rem / nx);
      const i = rem - j * nx;
      for (const [di, dj, dk] of offsets) {
        const ii = i + di;
        const jj = j + dj;
        const kk = k + dk;
        if (ii < 0 || jj < 0 || kk < 0 || ii >= nx || jj >= ny || kk >= nz) continue;
        const w = ii + nx * (jj + ny * kk);
        if (mask[w] === 0 || seen[w] !== 0) continue;
        seen[w] = 1;
        queue[tail++] = w;
      }
    }
    // The queue slice holds exactly this component's voxels; sort for stable output.
    voxels.push(queue.slice(0, tail).sort());
  }
  return { voxels };
}

/** Calls `visit` with each face (6-connected) neighbour of voxel `v` inside a grid of `dims` = [nx, ny, nz] (x fastest). */
export function forEachFaceNeighbour(v: number, dims: readonly [number, number, number], visit: (u: number) => void): void {
  const [nx, ny, nz] = dims;
  const x = v % nx;
  const y = Math.floor(v / nx) % ny;
  const z = Math.floor(v / (nx * ny));
  if (x > 0) visit(v - 1);
  if (x < nx - 1) visit(v + 1);
  if (y > 0) visit(v - nx);
  if (y < ny - 1) visit(v + nx);
  if (z > 0) visit(v - nx * ny);
  if (z < nz - 1) visit(v + nx * ny);
}

function countNonZero(a: Uint8Array): number {
  let c = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) c++;
  return c;
}
