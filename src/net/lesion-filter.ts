/**
 * The last word on each labelled lesion, looked at whole (not in the paper).
 * Three checks:
 *
 *  - The noise floor (noise-floor.ts): the lesion's peak must reach 130 HU +
 *    margin x the scan's noise SD, or it is a noise speck.
 *  - The position gate: the lesion's centre must lie within `positionGate`
 *    SDs (Mahalanobis distance) of the nearest artery's calcium in the
 *    heart-relative artery prior (artery-prior.ts), or it is not coronary.
 *    Why: on a held-out cohort of scanner-size phantoms the worst errors were
 *    rib, sternum and vertebra labelled as coronary calcium 60-150 mm from the
 *    heart's centre (one scan: 17,924 Agatston against 0). The network sees a
 *    2 x 2 x 3 mm working grid around the heart and cannot always tell a bright
 *    bone edge from a plaque; where the bone lies settles it. The gate cannot
 *    help where the heart was located wrongly, and a gate that is too tight
 *    drops real calcium at the ends of the arteries: so it sits beyond the
 *    farthest training calcium (README, "The position gate"); `cacnet
 *    calibrate` can also search it.
 *  - Bone: the lesion must not be part of a bone-sized region >= 130 HU
 *    (BONE_REGION_MM3). A vertebral body, rib or sternum is usually one
 *    connected region of tens of cm³ >= 130 HU (faint bone cut by the field
 *    of view can be a few: it then escapes); a coronary plaque is a separate region
 *    of well under one (fat or tissue lies between it and any bone). Why: on
 *    a held-out cohort the worst errors left inside the gate were vertebral
 *    bodies named RCA (regions of 72-95 cm³; the reference lesions' regions
 *    were at most 0.7 cm³), and on the real QRM scan the phantom's spine.
 *
 * A lesion is 6-connected labelled voxels, whatever their artery, as scored.
 */
import type { LabelMap, Volume } from '../io/volume.js';
import { connectedComponents, forEachFaceNeighbour } from '../scoring/lesions.js';
import { nearestArteryDistance, type ArteryPrior } from './artery-prior.js';
import { CALCIUM_THRESHOLD_HU } from './data.js';

/** A region >= 130 HU at least this large (mm³, 10 cm³) is bone: over ten times the largest coronary lesion seen, under half a vertebral body. */
export const BONE_REGION_MM3 = 10_000;

/** A labelled lesion and what the checks look at. */
export interface LabelledLesion {
  voxels: Uint32Array;
  peakHU: number;
  /** Its centre's distance from the nearest artery's calcium, in prior SDs (NaN without a prior). */
  priorDistance: number;
  /** Whether it is part of a bone-sized region >= 130 HU of the scan. */
  partOfBone: boolean;
}

/** The checks: a lesion is kept when its peak reaches floorHU and it lies within positionGate SDs (Infinity: no gate). */
export interface LesionChecks {
  floorHU: number;
  positionGate: number;
}

/**
 * Where the prior's frame sits for one scan: the artery prior and the point
 * (patient mm, RAS+) its frame is measured from (the located heart for
 * working-grid networks, the scan's centre for the small-grid one).
 */
export interface PriorFrame {
  prior: ArteryPrior;
  originMm: readonly number[];
}

/** The patient position (mm) of voxel index v of a grid with `dims` and voxel-to-world `affine`. */
export function worldMm(v: number, dims: readonly number[], affine: readonly number[]): [number, number, number] {
  const [nx, ny] = dims as [number, number];
  const i = v % nx, j = Math.floor(v / nx) % ny, k = Math.floor(v / (nx * ny));
  const row = (r: number) => affine[4 * r]! * i + affine[4 * r + 1]! * j + affine[4 * r + 2]! * k + affine[4 * r + 3]!;
  return [row(0), row(1), row(2)];
}

/** The lesions of a label map, with their peaks (from `ct`, the same grid) and, given a frame, their distances from the prior. */
export function labelledLesions(labels: LabelMap, ct: Volume, frame?: PriorFrame | null): LabelledLesion[] {
  const mask = new Uint8Array(labels.data.length);
  for (let v = 0; v < mask.length; v++) mask[v] = labels.data[v]! > 0 ? 1 : 0;
  const distance = frame ? nearestArteryDistance(frame.prior) : null;
  return connectedComponents(mask, labels.dims as [number, number, number], 6).voxels.map((voxels) => {
    let peakHU = -Infinity;
    const centre = [0, 0, 0];
    for (const v of voxels) {
      peakHU = Math.max(peakHU, ct.data[v]!);
      if (!frame) continue;
      const p = worldMm(v, labels.dims, labels.affine);
      for (let r = 0; r < 3; r++) centre[r]! += p[r]!;
    }
    const inFrame = centre.map((c, r) => c / voxels.length - (frame?.originMm[r] ?? 0));
    return { voxels, peakHU, priorDistance: distance ? distance(inFrame) : Number.NaN, partOfBone: inBoneSizedRegion(voxels, ct) };
  });
}

/** Whether the region >= 130 HU (6-connected) holding `voxels` reaches BONE_REGION_MM3; the fill stops there, so a bone costs no more than its first 10 cm³. */
function inBoneSizedRegion(voxels: Uint32Array, ct: Volume): boolean {
  const dims = ct.dims as [number, number, number];
  const limit = BONE_REGION_MM3 / (ct.spacing[0]! * ct.spacing[1]! * ct.spacing[2]!);
  const seen = new Set<number>();
  const queue: number[] = [];
  const visit = (v: number) => {
    if (seen.has(v) || ct.data[v]! < CALCIUM_THRESHOLD_HU) return;
    seen.add(v);
    queue.push(v);
  };
  for (const v of voxels) visit(v);
  for (let q = 0; q < queue.length && seen.size < limit; q++) forEachFaceNeighbour(queue[q]!, dims, visit);
  return seen.size >= limit;
}

/** Whether a lesion passes the checks (a lesion without a distance passes the gate: no prior, no gate). */
export function passes(lesion: LabelledLesion, checks: LesionChecks): boolean {
  return lesion.peakHU >= checks.floorHU && !lesion.partOfBone && !(lesion.priorDistance > checks.positionGate);
}

/** Labelled lesions the checks set aside, by the first check each fails. */
export interface SetAside {
  belowFloor: number;
  partOfBone: number;
  farFromArteries: number;
}

export function setAside(lesions: readonly LabelledLesion[], checks: LesionChecks): SetAside {
  const out: SetAside = { belowFloor: 0, partOfBone: 0, farFromArteries: 0 };
  for (const l of lesions) {
    if (l.peakHU < checks.floorHU) out.belowFloor++;
    else if (l.partOfBone) out.partOfBone++;
    else if (!passes(l, checks)) out.farFromArteries++;
  }
  return out;
}

/** `labels` without the lesions (found by labelledLesions on these labels) that fail the checks; the same object when all pass. */
export function keepLesions(labels: LabelMap, lesions: readonly LabelledLesion[], checks: LesionChecks): LabelMap {
  const failing = lesions.filter((l) => !passes(l, checks));
  if (!failing.length) return labels;
  const data = Uint8Array.from(labels.data);
  for (const l of failing) for (const v of l.voxels) data[v] = 0;
  return { ...labels, data };
}
