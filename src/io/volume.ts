/**
 * A CT volume in memory: what every reader returns and every writer and scorer
 * takes. Voxel (i, j, k) is at data[i + nx * (j + ny * k)] (x fastest, as NIfTI
 * stores it); k is the slice index (the scan axis).
 */
export interface Volume {
  /** Voxel values; for CT in Hounsfield units (scaling already applied). */
  data: Float32Array;
  /** [nx, ny, nz] */
  dims: [number, number, number];
  /** Voxel size in mm: [dx, dy, dz]; dz is the slice spacing. */
  spacing: [number, number, number];
  /** Voxel-to-world (RAS+, mm) 4x4 row-major affine; kept so outputs land on the input grid. */
  affine: number[];
  /** Where it came from (a path or a description), for messages and reports. */
  source: string;
}

/** An integer label map on a volume's grid: 0 background, 1 LAD (incl. left main), 2 LCX, 3 RCA. */
export interface LabelMap {
  data: Uint8Array;
  dims: [number, number, number];
  spacing: [number, number, number];
  affine: number[];
}

export const LABELS = { background: 0, LAD: 1, LCX: 2, RCA: 3 } as const;
export const ARTERIES = ['LAD', 'LCX', 'RCA'] as const;
export type Artery = (typeof ARTERIES)[number];

/** The identity-like affine for a volume with `spacing`, origin at voxel 0. */
export function scalingAffine(spacing: readonly number[]): number[] {
  return [spacing[0]!, 0, 0, 0, 0, spacing[1]!, 0, 0, 0, 0, spacing[2]!, 0, 0, 0, 0, 1];
}

export function voxelCount(dims: readonly number[]): number {
  return dims[0]! * dims[1]! * dims[2]!;
}
