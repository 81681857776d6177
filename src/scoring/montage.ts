/**
 * A PNG montage of the axial slices that contain scored calcium: the CT in a
 * window, each lesion painted in its artery's colour as in the paper's Fig. 2
 * (LAD red, LCX blue, RCA green), optionally with the reference below each
 * predicted tile. Text-free, so it needs no font:
 *
 * - a legend band on top: red, blue, green swatches (LAD, LCX, RCA);
 * - above each tile a thin bar whose length is the slice position (z / nz);
 *   white over predicted tiles, yellow over reference tiles.
 *
 * Tiles are shown as stored: x to the right, y downwards, no reorientation from
 * the affine and no correction for non-square pixels.
 *
 * PNG encoding uses pngjs (Node's zlib), so this file is for Node; the browser
 * app draws its overlays on a canvas. writeMontagePng is in report-files.ts.
 */

import { PNG } from 'pngjs';
import { InputError } from '../base/errors.js';
import type { LabelMap, Volume } from '../io/volume.js';
import { scoreScan, type ScanScore, type ScoringOptions } from './score.js';
import { checkLabels } from './validate.js';

type Rgb = readonly [number, number, number];

/** Artery colours of the paper's Fig. 2, indexed by label (1 LAD, 2 LCX, 3 RCA). */
export const ARTERY_COLOURS: readonly Rgb[] = [
  [0, 0, 0],
  [255, 0, 0],
  [0, 0, 255],
  [0, 255, 0],
];

const BACKGROUND: Rgb = [24, 24, 24];
const PREDICTED_BAR: Rgb = [255, 255, 255];
const REFERENCE_BAR: Rgb = [255, 210, 0];
const BAR = 3; // position bar height, px
const GAP = 2; // space between tiles, px
const LEGEND = 8; // legend band height, px

export interface MontageOptions {
  /** CT display window in HU; default W 800 / L 200 (calcium and bone stay distinct). */
  window?: { width: number; level: number };
  /** A reference label map drawn under each predicted tile. */
  reference?: LabelMap;
  /** Scoring options for both maps (what counts as calcium). */
  scoring?: ScoringOptions;
  /** Tiles per row; default about square. */
  columns?: number;
  /** At most this many slices, evenly chosen (default 48). */
  maxSlices?: number;
  /** Larger slices are block-downsampled to at most this many pixels a side (default 256). */
  maxTileSize?: number;
  /** Overlay opacity 0..1 (default 1: pure artery colours). */
  overlayAlpha?: number;
}

export interface Montage {
  png: Buffer;
  width: number;
  height: number;
  /** The z indices shown, in order. */
  slices: number[];
  /** Where each tile's voxel (0, 0) lands in the image; row 0 predicted, row 1 reference. */
  tiles: Array<{ z: number; row: number; x: number; y: number }>;
  /** Voxels per tile pixel along x and y (1 unless downsampled). */
  blockSize: number;
  predicted: ScanScore;
  reference?: ScanScore;
}

/** Per voxel: the label (1..3) of the artery of the scored lesion it belongs to, else 0. */
function lesionArteryMap(score: ScanScore, n: number): Uint8Array {
  const map = new Uint8Array(n);
  for (const l of score.lesions) {
    const code = l.artery === 'LAD' ? 1 : l.artery === 'LCX' ? 2 : 3;
    for (const v of l.voxelIndices) map[v] = code;
  }
  return map;
}

function slicesWithCalcium(scores: ScanScore[], nxy: number): number[] {
  const zs = new Set<number>();
  for (const s of scores) for (const l of s.lesions) for (const v of l.voxelIndices) zs.add(Math.floor(v / nxy));
  return [...zs].sort((a, b) => a - b);
}

/** Up to `max` items spread evenly over `items`, first and last included. */
function spread(items: number[], max: number): number[] {
  if (items.length <= max) return items;
  if (max === 1) return [items[Math.floor(items.length / 2)]!];
  return Array.from({ length: max }, (_, i) => items[Math.round((i * (items.length - 1)) / (max - 1))]!);
}

export function renderMontage(ct: Volume, labels: LabelMap, opts: MontageOptions = {}): Montage {
  const win = opts.window ?? { width: 800, level: 200 };
  if (!(Number.isFinite(win.width) && win.width > 0 && Number.isFinite(win.level))) {
    throw new InputError(`montage window must have a width > 0 and a finite level, got W ${win.width} / L ${win.level}`);
  }
  const maxSlices = opts.maxSlices ?? 48;
  const maxTile = opts.maxTileSize ?? 256;
  const alpha = opts.overlayAlpha ?? 1;
  if (!(Number.isInteger(maxSlices) && maxSlices >= 1)) throw new InputError(`maxSlices must be an integer >= 1, got ${maxSlices}`);
  if (!(Number.isInteger(maxTile) && maxTile >= 1)) throw new InputError(`maxTileSize must be an integer >= 1, got ${maxTile}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new InputError(`overlayAlpha must be in 0..1, got ${alpha}`);
  if (opts.reference !== undefined) checkLabels(ct, opts.reference, 'reference label map');

  const predicted = scoreScan(ct, labels, opts.scoring);
  const reference = opts.reference === undefined ? undefined : scoreScan(ct, opts.reference, opts.scoring);
  const [nx, ny, nz] = ct.dims;
  const nxy = nx * ny;
  const rows = [lesionArteryMap(predicted, ct.data.length)];
  if (reference !== undefined) rows.push(lesionArteryMap(reference, ct.data.length));

  let slices = slicesWithCalcium(reference === undefined ? [predicted] : [predicted, reference], nxy);
  // No calcium: show the middle slice so the montage still says "looked, found nothing".
  if (slices.length === 0) slices = [Math.floor(nz / 2)];
  slices = spread(slices, maxSlices);

  const f = Math.ceil(Math.max(nx, ny) / maxTile); // block size for downsampling
  const tw = Math.ceil(nx / f);
  const th = Math.ceil(ny / f);
  const cellW = tw;
  const cellH = rows.length * (BAR + th);
  const columns = Math.max(1, Math.min(slices.length, opts.columns ?? Math.ceil(Math.sqrt(slices.length))));
  const gridRows = Math.ceil(slices.length / columns);
  const width = GAP + columns * (cellW + GAP);
  const height = LEGEND + GAP + gridRows * (cellH + GAP);

  const img = new PNG({ width, height });
  const px = img.data;
  const set = (x: number, y: number, c: Rgb): void => {
    const o = 4 * (y * width + x);
    px[o] = c[0];
    px[o + 1] = c[1];
    px[o + 2] = c[2];
    px[o + 3] = 255;
  };
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) set(x, y, BACKGROUND);
  // Legend: LAD, LCX, RCA swatches.
  for (let a = 1; a <= 3; a++) {
    for (let y = 1; y < LEGEND - 1; y++) for (let x = 0; x < 14; x++) set(GAP + (a - 1) * 18 + x, y, ARTERY_COLOURS[a]!);
  }

  const lo = win.level - win.width / 2;
  const tiles: Montage['tiles'] = [];
  slices.forEach((z, s) => {
    const x0 = GAP + (s % columns) * (cellW + GAP);
    const y0Cell = LEGEND + GAP + Math.floor(s / columns) * (cellH + GAP);
    rows.forEach((arteryMap, r) => {
      const y0 = y0Cell + r * (BAR + th);
      tiles.push({ z, row: r, x: x0, y: y0 + BAR });
      const bar = r === 0 ? PREDICTED_BAR : REFERENCE_BAR;
      const barLen = Math.max(1, Math.round((tw * (z + 1)) / nz));
      for (let y = 0; y < BAR - 1; y++) for (let x = 0; x < barLen; x++) set(x0 + x, y0 + y, bar);
      for (let v = 0; v < th; v++) {
        for (let u = 0; u < tw; u++) {
          // Block mean for the CT; any lesion voxel in the block wins the overlay, so small calcium survives.
          let sum = 0;
          let count = 0;
          let artery = 0;
          for (let j = v * f; j < Math.min(ny, (v + 1) * f); j++) {
            for (let i = u * f; i < Math.min(nx, (u + 1) * f); i++) {
              const idx = i + nx * j + nxy * z;
              sum += ct.data[idx]!;
              count++;
              if (artery === 0) artery = arteryMap[idx]!;
            }
          }
          const g = Math.round(255 * Math.min(1, Math.max(0, (sum / count - lo) / win.width)));
          let c: Rgb = [g, g, g];
          if (artery > 0) {
            const a = ARTERY_COLOURS[artery]!;
            const mix = (ch: number): number => Math.round(alpha * ch + (1 - alpha) * g);
            c = [mix(a[0]), mix(a[1]), mix(a[2])];
          }
          set(x0 + u, y0 + BAR + v, c);
        }
      }
    });
  });

  const png = PNG.sync.write(img);
  const out: Montage = { png, width, height, slices, tiles, blockSize: f, predicted };
  if (reference !== undefined) out.reference = reference;
  return out;
}
