/**
 * Tiny DICOM studies (64x64x16, 16-bit, one series) for CLI tests: a chest-like
 * slab (body, lungs, a vertebra) with a calcium-like spot whose place and
 * brightness depend on `seed`, so different studies give different scores.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeCtSlice } from './dicom-writer.js';

export const TINY = { nx: 64, ny: 64, nz: 16, pixel: 0.7, thickness: 3 } as const;

/** HU of voxel (i, j, k) in study `seed`. */
export function tinyHu(seed: number, i: number, j: number, k: number): number {
  const [x, y] = [(i - 32) / 28, (j - 32) / 22];
  if (x * x + y * y > 1) return -1000;
  if (((i - 18) / 9) ** 2 + ((j - 30) / 12) ** 2 < 1 || ((i - 46) / 9) ** 2 + ((j - 30) / 12) ** 2 < 1) return -820;
  if ((i - 32) ** 2 + (j - 50) ** 2 < 16) return 700; // vertebra
  const [ci, cj, ck] = [28 + (seed % 5), 26 + (seed % 3), 5 + (seed % 6)];
  if (Math.abs(i - ci) <= 1 && Math.abs(j - cj) <= 1 && Math.abs(k - ck) <= 1) return 300 + 50 * (seed % 4);
  return 40 + ((i * 7 + j * 13 + k * 5 + seed) % 11) - 5; // soft tissue with a little texture
}

/** Writes study `seed` as DICOM files under `dir` (nested, no extensions), series UID from the seed. */
export async function writeTinyStudy(dir: string, seed: number): Promise<void> {
  const folder = join(dir, 'DICOM', 'S1');
  await mkdir(folder, { recursive: true });
  for (let k = 0; k < TINY.nz; k++) {
    const pixels: number[] = [];
    for (let j = 0; j < TINY.ny; j++) for (let i = 0; i < TINY.nx; i++) pixels.push(tinyHu(seed, i, j, k) + 1024);
    const slice = {
      seriesUid: `1.2.826.0.1.3680043.10.8.${seed}`,
      instanceNumber: k + 1,
      rows: TINY.ny,
      columns: TINY.nx,
      pixelSpacing: [TINY.pixel, TINY.pixel] as [number, number],
      orientation: [1, 0, 0, 0, 1, 0],
      position: [-22.4, -22.4, -24 + TINY.thickness * k],
      pixels,
      signed: false,
      intercept: -1024,
      extra: [
        { tag: 0x00080008, vr: 'CS', value: 'ORIGINAL\\PRIMARY\\AXIAL' },
        { tag: 0x00180050, vr: 'DS', value: String(TINY.thickness) },
        { tag: 0x00180060, vr: 'DS', value: '120' },
        { tag: 0x00200011, vr: 'IS', value: '2' },
      ],
    };
    await writeFile(join(folder, `IM${String(k).padStart(3, '0')}`), encodeCtSlice(slice));
  }
}
