/**
 * Is this a CT scan at all? Checked where a reader has assembled the volume
 * (NIfTI and DICOM alike), because a corrupt header or a misread unit gives a
 * grid of 1e-30 or 1e30 mm voxels, or HU of 3e38, and every score computed
 * from it would be wrong with nothing to show. Every image we read has voxels
 * of 0.05 to 20 mm, a field of view under 2 m and a voxel-to-world transform
 * whose voxel size is the spacing (checkGeometry); a CT's values are also
 * within what scanners store (checkCtValues). A scan that fails is refused
 * with the reason and the header fields it came from.
 */
import { InputError } from '../base/errors.js';
import type { Volume } from './volume.js';

/** Voxel edge lengths a CT can have (mm): micro-CT on the fine side, thick slabs on the other. */
export const VOXEL_MM = { min: 0.05, max: 20 } as const;
/** Longest field of view along any axis (mm): more than a whole body. */
export const FIELD_OF_VIEW_MM = 2000;
/** Values a CT stores (HU): int16 padding down to -32768, extended scales up to uint16 range. */
export const HU_RANGE = { min: -32768, max: 65535 } as const;
/** Relative difference allowed between the spacing and the transform's voxel size (float32 headers, rounding). */
const VOXEL_SIZE_TOLERANCE = 0.01;

const mm = (x: number) => String(Number(x.toPrecision(4)));

/**
 * Throws an InputError naming `name` unless `v`'s grid is one a scanner
 * makes; `from` says where the spacing came from (e.g. 'pixdim 0.7, 0.7, 3 in
 * mm (xyzt_units), transform from the sform').
 */
export function checkGeometry(v: Volume, name: string, from: string): void {
  const fail = (problem: string) => new InputError(`${name}: ${problem}`);
  if (!v.dims.every((d) => Number.isInteger(d) && d >= 1)) throw fail(`image size ${v.dims.join('×')} has an empty axis`);
  if (!v.spacing.every((s) => s >= VOXEL_MM.min && s <= VOXEL_MM.max)) {
    throw fail(`voxel size ${v.spacing.map(mm).join(' × ')} mm is not a CT's (each edge ${VOXEL_MM.min} to ${VOXEL_MM.max} mm; from ${from})`);
  }
  const fov = v.dims.map((d, i) => d * v.spacing[i]!);
  if (fov.some((f) => f > FIELD_OF_VIEW_MM)) throw fail(`field of view ${fov.map(mm).join(' × ')} mm is larger than a body (${FIELD_OF_VIEW_MM} mm at most; from ${from})`);
  const column = (j: number) => Math.hypot(v.affine[j]!, v.affine[4 + j]!, v.affine[8 + j]!);
  const transform = [0, 1, 2].map(column);
  if (transform.some((t, i) => !(Math.abs(t - v.spacing[i]!) <= VOXEL_SIZE_TOLERANCE * v.spacing[i]!))) {
    throw fail(`the voxel-to-world transform has voxels of ${transform.map(mm).join(' × ')} mm but the spacing says ${v.spacing.map(mm).join(' × ')} mm (${from}); the header contradicts itself`);
  }
}

/** Throws an InputError naming `name` unless `v`'s values are HU a CT stores; `scaling` names the fields that made them. */
export function checkCtValues(v: Volume, name: string, scaling: string): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.data.length; i++) {
    const x = v.data[i]!;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (lo < HU_RANGE.min || hi > HU_RANGE.max) {
    throw new InputError(`${name}: values span ${mm(lo)} to ${mm(hi)} HU, outside what a CT stores (${HU_RANGE.min} to ${HU_RANGE.max}); the scaling (${scaling}) is wrong`);
  }
}
