/**
 * What a scan's acquisition says about how far its calcium scores can be
 * trusted: Agatston is defined at 120 kVp on 3 mm slices, and the notes here
 * say so in reports when a scan departs from that. Pure (no Node APIs).
 */

/** The acquisition attributes reports carry (from DICOM; NIfTI has none of them). */
export interface AcquisitionInfo {
  seriesUid?: string;
  seriesNumber?: number;
  seriesDescription?: string;
  manufacturer?: string;
  model?: string;
  /** Tube voltage (0018,0060). */
  kvp?: number;
  /** Reconstructed slice thickness (0018,0050), mm. */
  sliceThicknessMm?: number;
  convolutionKernel?: string;
  imageType?: string[];
}

/** The tube voltage and slice thickness the Agatston score is defined at. */
export const AGATSTON_KVP = 120;
export const AGATSTON_THICKNESS_MM = 3;

const num = (x: number) => String(Number(x.toPrecision(4)));

/**
 * One line per departure from the Agatston protocol, plus padding replaced:
 * `sliceSpacingMm` is the dz the Agatston normalisation uses.
 */
export function acquisitionNotes(acq: AcquisitionInfo, sliceSpacingMm: number, paddedVoxels = 0): string[] {
  const notes: string[] = [];
  if (acq.kvp !== undefined && Math.abs(acq.kvp - AGATSTON_KVP) > 0.5) {
    notes.push(`tube voltage ${num(acq.kvp)} kVp, not ${AGATSTON_KVP}: Agatston is defined at ${AGATSTON_KVP} kVp (calcium reads brighter at lower kVp), so scores are not comparable with ${AGATSTON_KVP} kVp scans`);
  }
  const thickness = acq.sliceThicknessMm;
  if (thickness !== undefined && Math.abs(thickness - AGATSTON_THICKNESS_MM) > 0.05) {
    notes.push(`slice thickness ${num(thickness)} mm, not ${AGATSTON_THICKNESS_MM} mm: Agatston is defined on 3 mm slices; areas are normalised by dz / 3 mm (dz = ${num(sliceSpacingMm)} mm) but thinner slices still find more small lesions`);
  } else if (thickness === undefined && Math.abs(sliceSpacingMm - AGATSTON_THICKNESS_MM) > 0.05) {
    notes.push(`slice spacing ${num(sliceSpacingMm)} mm, not ${AGATSTON_THICKNESS_MM} mm (thickness not recorded): Agatston normalised by dz / 3 mm`);
  }
  if (paddedVoxels > 0) notes.push(`${paddedVoxels} voxels of padding outside the field of view (or below air) set to -1024 HU`);
  return notes;
}
