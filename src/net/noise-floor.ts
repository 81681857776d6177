/**
 * The noise floor a lesion must rise above.
 *
 * At scanner resolution (0.3-0.9 mm pixels) image noise of 20-40 HU puts
 * specks of a few voxels above 130 HU in blood and myocardium on every slice;
 * each is over the 1.5 mm³ rule at 3 mm slices, and the network, which sees
 * 2 x 2 x 3 mm cells, cannot tell every one of them from a small calcification.
 * On validation phantoms those specks peaked within 1.1 noise SDs of 130 HU;
 * the calcified lesions of the reference at 3.2 SDs and more. So a labelled
 * lesion is kept only when its peak reaches 130 HU + margin x the scan's noise
 * SD (the margin is part of the calibrated operating point; 0 keeps all;
 * lesion-filter.ts applies it). The lesion's extent is untouched: it is still
 * every connected voxel >= 130 HU.
 *
 * The noise SD is measured on the scan itself: differences of soft-tissue
 * voxel pairs 3 mm apart along a row (farther than a reconstruction kernel's
 * grain, so correlated noise counts in full), robustly (median absolute
 * difference), so edges and calcium do not inflate it.
 */
import type { Volume } from '../io/volume.js';

/** Soft tissue (blood, myocardium, muscle, liver) lies in this HU range in non-contrast CT; fat, lung, bone and calcium do not. */
const SOFT_TISSUE_HU: readonly [number, number] = [-50, 120];
/** Pair distance (mm): beyond the noise grain of soft and sharp kernels alike. */
const PAIR_DISTANCE_MM = 3;
/** Pairs start every STRIDE-th voxel along rows and rows: enough pairs (10^5-10^6) at a quarter of the cost. */
const STRIDE = 2;
/** 1.4826 x MAD is the SD of a normal distribution; a difference of two voxels has sqrt(2) x the SD of one. */
const MAD_TO_SD = 1.4826 / Math.SQRT2;

/**
 * Noise SD (HU) of a scan, from soft-tissue voxel pairs; `region`, when given,
 * limits the pairs to voxels with region[v] >= 0 (e.g. the working grid's box
 * around the heart). NaN when fewer than 100 pairs are soft tissue.
 */
export function estimateNoiseHU(ct: Volume, region?: Int32Array): number {
  const [nx, ny, nz] = ct.dims;
  const d = Math.max(1, Math.round(PAIR_DISTANCE_MM / Math.abs(ct.spacing[0]!)));
  const [lo, hi] = SOFT_TISSUE_HU;
  const diffs: number[] = [];
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j += STRIDE) {
      const row = nx * (j + ny * k);
      for (let i = 0; i + d < nx; i += STRIDE) {
        const v = row + i;
        if (region && (region[v]! < 0 || region[v + d]! < 0)) continue;
        const a = ct.data[v]!;
        const b = ct.data[v + d]!;
        if (a > lo && a < hi && b > lo && b < hi) diffs.push(Math.abs(a - b));
      }
    }
  }
  if (diffs.length < 100) return Number.NaN;
  const sorted = Float32Array.from(diffs).sort();
  return MAD_TO_SD * sorted[sorted.length >> 1]!;
}

/** The peak HU a lesion needs: the calcium threshold plus `margin` noise SDs (just the threshold when the noise is unknown). */
export function noiseFloorHU(thresholdHU: number, margin: number, noiseHU: number): number {
  return Number.isFinite(noiseHU) ? thresholdHU + margin * noiseHU : thresholdHU;
}
