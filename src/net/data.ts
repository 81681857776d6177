/**
 * From CT volumes to network inputs. A Volume stores x fastest, then y, then z,
 * which is exactly NDHWC with N = 1, D = z, H = y, W = x, C = 1: no transpose.
 *
 * Normalisation follows the paper's min–max to [0, 1], over a fixed HU window
 * (not each scan's own min and max, which a metal artefact or a field-of-view
 * edge would move): clip to [lo, hi], then (HU - lo) / (hi - lo). The default
 * window [-200, 800] HU keeps the 130 HU calcium threshold well resolved.
 */
import { ShapeError } from '../base/errors.js';
import type { LabelMap, Volume } from '../io/volume.js';

export interface HuWindow {
  lo: number;
  hi: number;
}

export const DEFAULT_WINDOW: HuWindow = { lo: -200, hi: 800 };

/** The annotation standard's calcium threshold: only voxels at or above it are ever labelled calcium. */
export const CALCIUM_THRESHOLD_HU = 130;

export function normaliseHu(hu: Float32Array, w: HuWindow = DEFAULT_WINDOW): Float32Array {
  const out = new Float32Array(hu.length);
  const scale = 1 / (w.hi - w.lo);
  for (let i = 0; i < hu.length; i++) {
    const v = hu[i]!;
    out[i] = v <= w.lo ? 0 : v >= w.hi ? 1 : (v - w.lo) * scale;
  }
  return out;
}

/** A [d, h, w] box inside a volume (start corner in voxels, z-y-x order). */
export interface Box {
  z: number;
  y: number;
  x: number;
  d: number;
  h: number;
  w: number;
}

/** Copies a box out of an x-fastest volume; voxels outside the volume get `fill`. */
export function cropBox<T extends Float32Array | Uint8Array>(data: T, dims: readonly number[], box: Box, fill: number, make: (n: number) => T): T {
  const [nx, ny, nz] = dims as [number, number, number];
  const out = make(box.d * box.h * box.w);
  if (fill !== 0) out.fill(fill);
  for (let k = 0; k < box.d; k++) {
    const z = box.z + k;
    if (z < 0 || z >= nz) continue;
    for (let j = 0; j < box.h; j++) {
      const y = box.y + j;
      if (y < 0 || y >= ny) continue;
      const x0 = Math.max(0, box.x);
      const x1 = Math.min(nx, box.x + box.w);
      if (x1 <= x0) continue;
      const src = x0 + nx * (y + ny * z);
      out.set(data.subarray(src, src + (x1 - x0)) as never, (k * box.h + j) * box.w + (x0 - box.x));
    }
  }
  return out;
}

/** cropBox of a channels-last grid with `channels` values per voxel; voxels outside the grid are 0. */
export function cropChannels(x: Float32Array, channels: number, dims: readonly number[], box: Box): Float32Array {
  if (channels === 1) return cropBox(x, dims, box, 0, (k) => new Float32Array(k));
  const [nx, ny, nz] = dims as [number, number, number];
  const out = new Float32Array(box.d * box.h * box.w * channels);
  for (let k = 0; k < box.d; k++) {
    const z = box.z + k;
    if (z < 0 || z >= nz) continue;
    for (let j = 0; j < box.h; j++) {
      const y = box.y + j;
      if (y < 0 || y >= ny) continue;
      const x0 = Math.max(0, box.x);
      const x1 = Math.min(nx, box.x + box.w);
      if (x1 <= x0) continue;
      const src = (x0 + nx * (y + ny * z)) * channels;
      out.set(x.subarray(src, src + (x1 - x0) * channels), ((k * box.h + j) * box.w + (x0 - box.x)) * channels);
    }
  }
  return out;
}

export interface Patch {
  /** Network input, [d, h, w, channels] (NDHWC with N = 1). */
  x: Float32Array;
  /** Class per voxel (0 background, 1 LAD, 2 LCX, 3 RCA). */
  y: Uint32Array;
  box: Box;
}

export interface PatchSampler {
  /** Patch size in voxels [d, h, w]. */
  size: [number, number, number];
  /** Probability that a patch is centred on a calcium voxel (when the scan has any). */
  foregroundProbability: number;
  /**
   * Centre calcium patches on an artery drawn uniformly among those the scan
   * has, then on one of its voxels, rather than on a uniform calcium voxel:
   * the LCX holds ~20% of the calcium and would otherwise be seen least.
   */
  balanceArteries?: boolean;
}

/**
 * Samples a training patch. Calcium is a tiny fraction of a scan, so with
 * probability `foregroundProbability` the patch is centred (with jitter) on a
 * random calcium voxel; otherwise anywhere, so bone and the rest of the body
 * are seen as negatives too.
 */
export function samplePatch(normalised: Float32Array, labels: LabelMap, s: PatchSampler, random: () => number, foreground?: Uint32Array, channels = 1): Patch {
  const [nx, ny, nz] = labels.dims;
  const [d, h, w] = s.size;
  const fg = foreground ?? foregroundIndices(labels);
  let cz: number, cy: number, cx: number;
  if (fg.length > 0 && random() < s.foregroundProbability) {
    const pool = s.balanceArteries ? voxelsOfRandomArtery(fg, labels.data, random) : fg;
    const idx = pool[Math.floor(random() * pool.length)]!;
    cx = idx % nx;
    cy = Math.floor(idx / nx) % ny;
    cz = Math.floor(idx / (nx * ny));
    // Jitter so the lesion is not always in the centre of the patch.
    cx += Math.round((random() - 0.5) * w * 0.5);
    cy += Math.round((random() - 0.5) * h * 0.5);
    cz += Math.round((random() - 0.5) * d * 0.5);
  } else {
    cx = Math.floor(random() * nx);
    cy = Math.floor(random() * ny);
    cz = Math.floor(random() * nz);
  }
  // Scans smaller than the patch are centred and padded, not refused.
  const clampStart = (c: number, size: number, n: number) => (size >= n ? Math.floor((n - size) / 2) : Math.min(Math.max(c - Math.floor(size / 2), 0), n - size));
  const box: Box = { z: clampStart(cz, d, nz), y: clampStart(cy, h, ny), x: clampStart(cx, w, nx), d, h, w };
  const x = cropChannels(normalised, channels, labels.dims, box);
  const y8 = cropBox(labels.data, labels.dims, box, 0, (n) => new Uint8Array(n));
  return { x, y: Uint32Array.from(y8), box };
}

/** The calcium voxels of one artery, drawn uniformly among the arteries present. */
function voxelsOfRandomArtery(fg: Uint32Array, labels: Uint8Array, random: () => number): Uint32Array {
  const present = [...new Set(Array.from(fg, (i) => labels[i]!))].sort();
  const artery = present[Math.floor(random() * present.length)]!;
  return fg.filter((i) => labels[i] === artery);
}

/** Indices of labelled (calcium) voxels. */
export function foregroundIndices(labels: LabelMap): Uint32Array {
  let n = 0;
  for (let i = 0; i < labels.data.length; i++) if (labels.data[i]! > 0) n++;
  const out = new Uint32Array(n);
  n = 0;
  for (let i = 0; i < labels.data.length; i++) if (labels.data[i]! > 0) out[n++] = i;
  return out;
}

export function checkSameGrid(ct: Volume, labels: LabelMap): void {
  if (ct.dims.some((d, i) => d !== labels.dims[i])) {
    throw new ShapeError(`scan ${ct.dims.join('x')} and label map ${labels.dims.join('x')} are not on the same grid`);
  }
}
