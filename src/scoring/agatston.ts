/**
 * Agatston score of one 3D lesion (Agatston et al., JACC 1990), with the
 * conventions this project states in every report:
 *
 * - per axial slice (z index), the lesion's cross-section is all of the
 *   lesion's voxels in that slice; its area (voxels x dx x dy, mm^2) is weighted
 *   by the density factor of the cross-section's peak HU;
 * - slice scores are summed and multiplied by dz / 3 mm, so that a scan
 *   reconstructed at a thickness other than the original 3 mm gives a
 *   comparable score.
 *
 * Two departures from the 1990 paper, both deliberate: the minimum lesion size
 * is a 3D volume (orCaScore) rather than a 1 mm^2 area per slice, and two 2D
 * islands of one 3D lesion in the same slice share that slice's peak rather than
 * being weighted separately.
 */

/** The 1990 density factor: 130-199 HU -> 1, 200-299 -> 2, 300-399 -> 3, >= 400 -> 4; below 130 -> 0. */
export function densityWeight(peakHU: number): number {
  if (peakHU >= 400) return 4;
  if (peakHU >= 300) return 3;
  if (peakHU >= 200) return 2;
  if (peakHU >= 130) return 1;
  return 0;
}

/** The reference slice thickness of the original protocol (mm). */
export const AGATSTON_REFERENCE_THICKNESS_MM = 3;

/** The normalisation written into reports, with the thickness actually used. */
export function sliceThicknessConvention(thicknessMm: number): string {
  // Six significant digits: a float32 spacing (5.205900192260742) reads as 5.2059.
  return `area x weight x (dz / 3 mm), dz = ${Number(thicknessMm.toPrecision(6))} mm`;
}

/**
 * Agatston score of the voxels `indices` (one lesion) of a volume with
 * `dims` = [nx, ny, nz] and `spacing` = [dx, dy, dz] mm. `thicknessMm` is the
 * slice thickness used for normalisation (the slice spacing dz unless the
 * caller knows the reconstruction thickness).
 */
export function lesionAgatston(
  indices: Uint32Array,
  hu: Float32Array,
  dims: readonly [number, number, number],
  spacing: readonly [number, number, number],
  thicknessMm: number = spacing[2],
): number {
  const nxy = dims[0] * dims[1];
  // Per slice: voxel count and peak HU. A Map keeps this sparse for big volumes.
  const count = new Map<number, number>();
  const peak = new Map<number, number>();
  for (const v of indices) {
    const k = Math.floor(v / nxy);
    const h = hu[v]!;
    count.set(k, (count.get(k) ?? 0) + 1);
    const p = peak.get(k);
    if (p === undefined || h > p) peak.set(k, h);
  }
  const pixelArea = spacing[0] * spacing[1];
  let sum = 0;
  for (const [k, c] of count) sum += c * pixelArea * densityWeight(peak.get(k)!);
  return (sum * thicknessMm) / AGATSTON_REFERENCE_THICKNESS_MM;
}
