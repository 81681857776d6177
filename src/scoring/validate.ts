/**
 * Input checks shared by the scorer, the evaluator and the montage: a bad scan
 * must fail with a message a user can act on, never with a silently wrong score.
 */

import { InputError } from '../base/errors.js';
import type { LabelMap, Volume } from '../io/volume.js';

const fmt = (a: readonly number[]): string => `[${a.join(', ')}]`;

function ijk(index: number, dims: readonly number[]): string {
  const nx = dims[0]!;
  const ny = dims[1]!;
  const k = Math.floor(index / (nx * ny));
  const j = Math.floor((index - k * nx * ny) / nx);
  return `(${index - nx * (j + ny * k)}, ${j}, ${k})`;
}

function checkGrid(dims: readonly number[], spacing: readonly number[], length: number, what: string): void {
  if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new InputError(`${what} dims must be 3 positive integers, got ${fmt(dims)}`);
  }
  if (spacing.length !== 3 || spacing.some((s) => !Number.isFinite(s) || s <= 0)) {
    throw new InputError(`${what} spacing must be 3 positive finite numbers (mm), got ${fmt(spacing)}`);
  }
  const n = dims[0]! * dims[1]! * dims[2]!;
  if (length !== n) {
    throw new InputError(`${what} has ${length} values but dims ${fmt(dims)} need ${n}`);
  }
}

/** The CT volume alone: sound grid and only finite HU values. */
export function checkCt(ct: Volume): void {
  const what = `CT ${ct.source || '(unnamed)'}`;
  checkGrid(ct.dims, ct.spacing, ct.data.length, what);
  for (let i = 0; i < ct.data.length; i++) {
    if (!Number.isFinite(ct.data[i]!)) {
      throw new InputError(`${what} has a non-finite value (${ct.data[i]}) at voxel ${ijk(i, ct.dims)}`);
    }
  }
}

const round = (x: number) => String(Number(x.toFixed(3)));

/**
 * The label map's voxels must lie where the CT's do: same origin and the same
 * axis directions (a flipped or shifted map would name the wrong voxels),
 * within a thousandth of a voxel plus float32 rounding of the header.
 */
function checkSameTransform(ct: Volume, labels: LabelMap, name: string): void {
  const tolerance = 1e-3 * Math.max(...ct.spacing);
  const differs = (i: number) => Math.abs(labels.affine[i]! - ct.affine[i]!) > tolerance + 1e-6 * Math.abs(ct.affine[i]!);
  const origin = (a: readonly number[]) => `(${[a[3]!, a[7]!, a[11]!].map(round).join(', ')})`;
  if ([3, 7, 11].some(differs)) {
    throw new InputError(`${name} lies on another grid than the CT: its origin is ${origin(labels.affine)} mm, the CT's ${origin(ct.affine)} mm`);
  }
  const axis = [0, 1, 2].find((j) => [j, 4 + j, 8 + j].some(differs));
  if (axis !== undefined) {
    const column = (a: readonly number[]) => `(${[a[axis]!, a[4 + axis]!, a[8 + axis]!].map(round).join(', ')})`;
    throw new InputError(`${name} lies on another grid than the CT: voxel axis ${'ijk'[axis]} points along ${column(labels.affine)} mm, the CT's along ${column(ct.affine)} mm (flipped or rotated)`);
  }
}

/** A label map on the CT's grid with values in 0..3 only. `name` says which map (e.g. 'reference'). */
export function checkLabels(ct: Volume, labels: LabelMap, name = 'label map'): void {
  checkGrid(labels.dims, labels.spacing, labels.data.length, name);
  if (labels.dims.some((d, i) => d !== ct.dims[i])) {
    throw new InputError(`${name} dims ${fmt(labels.dims)} do not match CT dims ${fmt(ct.dims)}`);
  }
  // Spacings written by different tools differ in the last float digits; 0.1 % is a real mismatch.
  if (labels.spacing.some((s, i) => Math.abs(s - ct.spacing[i]!) > 1e-3 * ct.spacing[i]!)) {
    throw new InputError(`${name} spacing ${fmt(labels.spacing)} mm does not match CT spacing ${fmt(ct.spacing)} mm`);
  }
  checkSameTransform(ct, labels, name);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < labels.data.length; i++) {
    if (labels.data[i]! > 3) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad > 0) {
    throw new InputError(
      `${name} has ${bad} voxel(s) with labels outside 0..3 (0 background, 1 LAD, 2 LCX, 3 RCA); ` +
        `first: ${labels.data[first]} at voxel ${ijk(first, labels.dims)}`,
    );
  }
}
