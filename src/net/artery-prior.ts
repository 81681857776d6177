/**
 * A spatial prior for naming the artery of calcium the network has found.
 *
 * Which artery a calcified voxel belongs to is mostly a matter of where it
 * lies in the heart: the LAD runs down the front, the LCX in the left
 * atrioventricular groove behind it, the RCA on the right. Cardiac CT is
 * reconstructed with the heart near the centre of the field of view, so a
 * voxel's position in patient millimetres from the scan's centre already says a lot.
 * Networks on the working grid (working-grid.ts) measure positions from the
 * located heart instead, so the prior holds on whole-chest framing too.
 * The small demo network detects calcium well but learned this layout slowly
 * (measured on 25 held-out phantoms: it never named the LCX, and 143 of 190
 * found calcium voxels had the right artery; with this prior, 187). Automatic
 * calcium scoring methods have long used such position features or atlases
 * (Išgum et al. 2012; Wolterink et al. 2015); the paper's CAC-Net does not.
 *
 * The prior is one Gaussian per artery over calcium positions (mean and
 * covariance in mm, widened by PRIOR_FLOOR_MM per axis), fitted to the
 * training labels and shipped in the weights file's metadata. At inference
 * the network keeps the decision calcium-or-not, and only its calcium
 * probability is re-divided between the arteries by Bayes' rule:
 * P'(artery) = P(calcium) · q(artery), q ∝ P(artery) · N(position; μ, Σ) · share.
 */
import { InputError } from '../base/errors.js';
import { ARTERIES, type LabelMap } from '../io/volume.js';

export interface ArteryPrior {
  /** Per artery (LAD, LCX, RCA): mean calcium position [x, y, z], patient mm (RAS+) from the scan centre. */
  mean: number[][];
  /** Per artery: 3 x 3 covariance (mm²), floor included. */
  covariance: number[][][];
  /** Per artery: its share of the training calcium voxels. */
  share: number[];
  /** Calcium voxels the prior was fitted to, per artery. */
  voxels: number[];
}

/** Key of the prior (JSON) in a weights file's metadata. */
export const ARTERY_PRIOR_KEY = 'artery_prior';

/** Standard deviation (mm) added in quadrature on each axis: about a voxel, so no artery's Gaussian is needle-thin. */
export const PRIOR_FLOOR_MM = 4;

/**
 * Where voxel (i, j, k) lies relative to the scan's centre, in patient
 * millimetres (RAS+): the affine's rotation-and-scale applied to the voxel
 * offset, so the prior does not depend on how the file stores its axes.
 */
export function voxelPositionMm(i: number, j: number, k: number, dims: readonly number[], affine: readonly number[]): [number, number, number] {
  const d0 = i - (dims[0]! - 1) / 2, d1 = j - (dims[1]! - 1) / 2, d2 = k - (dims[2]! - 1) / 2;
  const row = (r: number) => affine[4 * r]! * d0 + affine[4 * r + 1]! * d1 + affine[4 * r + 2]! * d2;
  return [row(0), row(1), row(2)];
}

/** voxelPositionMm of the voxel at linear index v (x fastest, then y, then z), plus `offsetMm` (the grid centre's place in the prior's frame). */
function indexPositionMm(v: number, dims: readonly number[], affine: readonly number[], offsetMm: readonly number[] = NO_OFFSET): [number, number, number] {
  const [nx, ny] = dims as [number, number];
  const p = voxelPositionMm(v % nx, Math.floor(v / nx) % ny, Math.floor(v / (nx * ny)), dims, affine);
  return [p[0] + offsetMm[0]!, p[1] + offsetMm[1]!, p[2] + offsetMm[2]!];
}

const NO_OFFSET = [0, 0, 0] as const;

/** Calcium voxels an artery needs in the training labels for its Gaussian to be fitted. */
export const MIN_PRIOR_VOXELS = 4;

/**
 * Fits the prior to label maps (1 LAD, 2 LCX, 3 RCA); null when an artery has
 * fewer than MIN_PRIOR_VOXELS calcium voxels. `offsetOf` places each map's
 * centre in the prior's frame (default: the frame is the scan centre; the
 * working grid measures from the located heart instead).
 */
export function fitArteryPrior(labelMaps: Iterable<LabelMap>, offsetOf?: (labels: LabelMap) => readonly number[]): ArteryPrior | null {
  const n = ARTERIES.length;
  const sum = Array.from({ length: n }, () => [0, 0, 0]);
  const outer = Array.from({ length: n }, () => [0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const count = new Array<number>(n).fill(0);
  for (const lab of labelMaps) {
    const offset = offsetOf?.(lab);
    for (let v = 0; v < lab.data.length; v++) {
      const a = lab.data[v]! - 1;
      if (a < 0 || a >= n) continue;
      const p = indexPositionMm(v, lab.dims, lab.affine, offset);
      count[a]!++;
      for (let r = 0; r < 3; r++) {
        sum[a]![r]! += p[r]!;
        for (let c = 0; c < 3; c++) outer[a]![r * 3 + c]! += p[r]! * p[c]!;
      }
    }
  }
  if (count.some((c) => c < MIN_PRIOR_VOXELS)) return null;
  const total = count.reduce((a, b) => a + b, 0);
  const mean = sum.map((s, a) => s.map((v) => v / count[a]!));
  const covariance = mean.map((m, a) =>
    [0, 1, 2].map((r) => [0, 1, 2].map((c) => outer[a]![r * 3 + c]! / count[a]! - m[r]! * m[c]! + (r === c ? PRIOR_FLOOR_MM ** 2 : 0))),
  );
  return { mean, covariance, share: count.map((c) => c / total), voxels: count };
}

/** Inverse and log-determinant of a symmetric positive-definite 3 x 3 matrix. */
function invert3(m: number[][]): { inv: number[][]; logDet: number } {
  const [[a, b, c], [d, e, f], [g, h, i]] = m as [[number, number, number], [number, number, number], [number, number, number]];
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  const inv = [
    [A, -(b * i - c * h), b * f - c * e],
    [B, a * i - c * g, -(a * f - c * d)],
    [C, -(a * h - b * g), a * e - b * d],
  ].map((row) => row.map((v) => v / det));
  return { inv, logDet: Math.log(det) };
}

/** How far a position lies from the nearest artery's calcium, in SDs (the smallest Mahalanobis distance over the arteries' Gaussians). */
export function nearestArteryDistance(p: ArteryPrior): (mm: readonly number[]) => number {
  const parts = p.covariance.map((cov, a) => ({ inv: invert3(cov).inv, mean: p.mean[a]! }));
  return (mm) => Math.sqrt(Math.min(...parts.map(({ inv, mean }) => mahalanobis2(mm, mean, inv))));
}

/** Squared Mahalanobis distance of `mm` from `mean` under the inverse covariance `inv`. */
function mahalanobis2(mm: readonly number[], mean: readonly number[], inv: number[][]): number {
  const d = [mm[0]! - mean[0]!, mm[1]! - mean[1]!, mm[2]! - mean[2]!];
  let q = 0;
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) q += d[r]! * inv[r]![c]! * d[c]!;
  return q;
}

/** Per artery: log N(position; μ, Σ) + log share, up to a shared constant. */
export type ArteryLogPrior = (mm: readonly number[]) => number[];

export function arteryLogPrior(p: ArteryPrior): ArteryLogPrior {
  const parts = p.covariance.map((cov, a) => ({ ...invert3(cov), mean: p.mean[a]!, logShare: Math.log(p.share[a]!) }));
  return (mm) =>
    parts.map(({ inv, logDet, mean, logShare }) => -0.5 * (mahalanobis2(mm, mean, inv) + logDet) + logShare);
}

/**
 * Re-divides each voxel's calcium probability between the arteries with the
 * prior (in place). probabilities: per class (background first), one value per
 * voxel of a grid with `dims` and voxel-to-world `affine`. Only voxels where
 * `where` is true are touched (the candidates; elsewhere the label is
 * background anyway).
 */
export function applyArteryPrior(
  probabilities: Float32Array[],
  dims: readonly number[],
  affine: readonly number[],
  prior: ArteryPrior,
  where: (v: number) => boolean,
  offsetMm?: readonly number[],
): void {
  const logPrior = arteryLogPrior(prior);
  const arteries = probabilities.length - 1;
  const q = new Float64Array(arteries);
  for (let v = 0; v < probabilities[0]!.length; v++) {
    if (!where(v)) continue;
    const lp = logPrior(indexPositionMm(v, dims, affine, offsetMm));
    let best = -Infinity;
    for (let a = 0; a < arteries; a++) {
      q[a] = Math.log(Math.max(probabilities[a + 1]![v]!, 1e-30)) + lp[a]!;
      best = Math.max(best, q[a]!);
    }
    let z = 0;
    for (let a = 0; a < arteries; a++) z += q[a] = Math.exp(q[a]! - best);
    const calcium = 1 - probabilities[0]![v]!;
    for (let a = 0; a < arteries; a++) probabilities[a + 1]![v] = (calcium * q[a]!) / z;
  }
}

/** The prior in a weights file's metadata, or null when the file has none; InputError when it is malformed. */
export function readArteryPrior(metadata: Record<string, string>, source: string): ArteryPrior | null {
  const text = metadata[ARTERY_PRIOR_KEY];
  if (text === undefined) return null;
  let p: ArteryPrior;
  try {
    p = JSON.parse(text) as ArteryPrior;
  } catch {
    throw new InputError(`${source}: the artery prior in the metadata is not valid JSON`);
  }
  const n = ARTERIES.length;
  const vec3 = (v: unknown) => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  const ok =
    Array.isArray(p.mean) && p.mean.length === n && p.mean.every(vec3) &&
    Array.isArray(p.covariance) && p.covariance.length === n && p.covariance.every((m) => Array.isArray(m) && m.length === 3 && m.every(vec3) && invert3(m).logDet > -Infinity) &&
    Array.isArray(p.share) && p.share.length === n && p.share.every((s) => typeof s === 'number' && s > 0);
  if (!ok) throw new InputError(`${source}: the artery prior in the metadata is malformed (expected mean, covariance and share for ${ARTERIES.join(', ')})`);
  return p;
}
