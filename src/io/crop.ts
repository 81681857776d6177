/**
 * Boxes of volumes: the smallest box holding the voxels a test picks, and
 * copies of any per-voxel array inside it, with the affine moved so that every
 * voxel keeps its place in patient space.
 */

/** A box of voxels: first corner and size, x y z. */
export interface VoxelBox {
  start: [number, number, number];
  size: [number, number, number];
}

/** The smallest box holding every voxel `keep` picks (x fastest, then y, then z); a 1-voxel box at 0 when none. */
export function boundingBox(dims: readonly number[], keep: (v: number) => boolean): VoxelBox {
  const [nx, ny] = dims as [number, number];
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-1, -1, -1];
  const n = dims[0]! * dims[1]! * dims[2]!;
  for (let v = 0; v < n; v++) {
    if (!keep(v)) continue;
    const p = [v % nx, Math.floor(v / nx) % ny, Math.floor(v / (nx * ny))];
    for (let a = 0; a < 3; a++) {
      lo[a] = Math.min(lo[a]!, p[a]!);
      hi[a] = Math.max(hi[a]!, p[a]!);
    }
  }
  if (hi[0]! < 0) return { start: [0, 0, 0], size: [1, 1, 1] };
  return { start: lo as [number, number, number], size: [0, 1, 2].map((a) => hi[a]! - lo[a]! + 1) as [number, number, number] };
}

/** The part of a per-voxel array (of a grid `dims`) inside `box`, in the same element type. */
export function cropArray<T extends Float32Array | Uint8Array | Int32Array>(src: T, dims: readonly number[], box: VoxelBox): T {
  const [nx, ny] = dims as [number, number];
  const [w, h, d] = box.size;
  const out = new (src.constructor as new (n: number) => T)(w * h * d);
  for (let k = 0; k < d; k++)
    for (let j = 0; j < h; j++) {
      const from = box.start[0] + nx * (box.start[1] + j + ny * (box.start[2] + k));
      out.set(src.subarray(from, from + w) as never, w * (j + h * k));
    }
  return out;
}

/** The affine of the box: the same voxel-to-patient map, starting at the box's corner. */
export function cropAffine(affine: readonly number[], box: VoxelBox): number[] {
  const out = [...affine];
  for (let r = 0; r < 3; r++) out[4 * r + 3] = affine[4 * r]! * box.start[0] + affine[4 * r + 1]! * box.start[1] + affine[4 * r + 2]! * box.start[2] + affine[4 * r + 3]!;
  return out;
}

/** Where voxel index v of the full grid lies in the box, or -1 outside it. */
export function indexInBox(v: number, dims: readonly number[], box: VoxelBox): number {
  const [nx, ny] = dims as [number, number];
  const x = (v % nx) - box.start[0];
  const y = (Math.floor(v / nx) % ny) - box.start[1];
  const z = Math.floor(v / (nx * ny)) - box.start[2];
  const [w, h, d] = box.size;
  return x < 0 || y < 0 || z < 0 || x >= w || y >= h || z >= d ? -1 : x + w * (y + h * z);
}
