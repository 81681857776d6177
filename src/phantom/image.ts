/**
 * What the scanner does to the ideal image: an in-plane point-spread function
 * (Gaussian blur), white Gaussian noise, and integer HU in the int16 range.
 */

import type { Rng } from '../base/rng.js';
import type { Grid } from './grid.js';

/** HU range stored (int16 CT with the usual -1024 floor). */
export const HU_MIN = -1024;
export const HU_MAX = 3071;

/** Normalised 1D Gaussian taps for sigma in voxels; [1] when the blur is negligible. */
export function gaussianKernel(sigmaVox: number): Float64Array {
  if (!(sigmaVox > 0.2)) return Float64Array.of(1);
  const r = Math.ceil(3 * sigmaVox);
  const k = new Float64Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp((-0.5 * i * i) / (sigmaVox * sigmaVox));
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

/**
 * Separable in-plane blur of a [ni, nj, nk] block, in place. Outside the block
 * values repeat the edge (`clamp`, the whole image) or are zero (padded boxes).
 * Both passes run along rows, so memory is read contiguously.
 */
export function blurInPlane(a: Float32Array, ni: number, nj: number, nk: number, kx: Float64Array, ky: Float64Array, clamp: boolean): void {
  const rx = (kx.length - 1) / 2;
  const ry = (ky.length - 1) / 2;
  if (rx === 0 && ry === 0) return;
  const row = new Float32Array(ni + 2 * rx);
  const slice = new Float32Array(ni * nj);
  for (let k = 0; k < nk; k++) {
    const base = k * ni * nj;
    if (rx > 0) {
      for (let j = 0; j < nj; j++) {
        const r0 = base + j * ni;
        // Padded copy of the row, then a branch-free convolution.
        row.set(a.subarray(r0, r0 + ni), rx);
        for (let t = 0; t < rx; t++) {
          row[t] = clamp ? a[r0]! : 0;
          row[rx + ni + t] = clamp ? a[r0 + ni - 1]! : 0;
        }
        for (let i = 0; i < ni; i++) {
          let s = 0;
          for (let t = 0; t < kx.length; t++) s += kx[t]! * row[i + t]!;
          a[r0 + i] = s;
        }
      }
    }
    if (ry > 0) {
      slice.set(a.subarray(base, base + ni * nj));
      for (let j = 0; j < nj; j++) {
        const out = base + j * ni;
        a.fill(0, out, out + ni);
        for (let t = -ry; t <= ry; t++) {
          let jj = j + t;
          if (jj < 0 || jj >= nj) {
            if (!clamp) continue;
            jj = jj < 0 ? 0 : nj - 1;
          }
          const w = ky[t + ry]!;
          const src = jj * ni;
          for (let i = 0; i < ni; i++) a[out + i]! += w * slice[src + i]!;
        }
      }
    }
  }
}

/** The in-plane point-spread function for a grid: taps along x and y, and their reach in voxels. */
export interface Psf {
  kx: Float64Array;
  ky: Float64Array;
  radius: number;
  /** Standard deviation of white unit noise after this blur: sqrt(sum kx^2 * sum ky^2). */
  noiseGain: number;
}

export function psfFor(blurMm: number, g: Grid): Psf {
  const kx = gaussianKernel(blurMm / g.dx);
  const ky = gaussianKernel(blurMm / g.dy);
  let sx = 0;
  let sy = 0;
  for (const w of kx) sx += w * w;
  for (const w of ky) sy += w * w;
  return { kx, ky, radius: Math.max((kx.length - 1) / 2, (ky.length - 1) / 2), noiseGain: Math.sqrt(sx * sy) };
}

/** Adds N(0, sd) noise to every voxel and stores integer HU (in chunks: one stream, bounded memory). */
export function addNoiseAndQuantise(hu: Float32Array, r: Rng, sd: number): void {
  const n = hu.length;
  const chunk = new Float32Array(4096);
  for (let s = 0; s < n; s += chunk.length) {
    const m = Math.min(chunk.length, n - s);
    r.fillGaussian(chunk, 0, sd);
    for (let t = 0; t < m; t++) hu[s + t] = toStoredHU(hu[s + t]! + chunk[t]!);
  }
}

/** Integer HU in the int16 CT range; `+ 0` turns Math.round's -0 into 0 (int16 files cannot hold -0). */
export function toStoredHU(x: number): number {
  return Math.min(HU_MAX, Math.max(HU_MIN, Math.round(x))) + 0;
}

/**
 * Scanner preset: adds N(0, sd) noise with the fast table draw, and with
 * `quantise` stores integer HU. Added before the PSF blur (with sd divided by
 * the PSF's noise gain) the noise takes the reconstruction kernel's grain, as
 * in filtered back-projection; added after, it is white.
 */
export function addFastNoise(hu: Float32Array, r: Rng, sd: number, quantise: boolean): void {
  const n = hu.length;
  const chunk = new Float32Array(4096);
  for (let s = 0; s < n; s += chunk.length) {
    const m = Math.min(chunk.length, n - s);
    r.fillGaussianFast(chunk, 0, sd);
    if (quantise) for (let t = 0; t < m; t++) hu[s + t] = toStoredHU(hu[s + t]! + chunk[t]!);
    else for (let t = 0; t < m; t++) hu[s + t]! += chunk[t]!;
  }
}

/** Integer HU in the int16 range for every voxel. */
export function quantise(hu: Float32Array): void {
  for (let v = 0; v < hu.length; v++) hu[v] = toStoredHU(hu[v]!);
}

/**
 * The scanner's side of image formation: the PSF blur, noise of `sd` HU and
 * integer HU. 'polar' (small and realistic presets): white noise from the
 * polar method after the blur, as they always had; 'white': the same with the
 * fast draw; 'psf': noise added before the blur, taking the kernel's grain.
 */
export function blurAndNoise(hu: Float32Array, g: Grid, psf: Psf, sd: number, texture: 'polar' | 'white' | 'psf', r: Rng): void {
  if (texture === 'psf') addFastNoise(hu, r, sd / psf.noiseGain, false);
  blurInPlane(hu, g.nx, g.ny, g.nz, psf.kx, psf.ky, true);
  if (texture === 'polar') addNoiseAndQuantise(hu, r, sd);
  else if (texture === 'white') addFastNoise(hu, r, sd, true);
  else quantise(hu);
}
