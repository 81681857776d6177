/**
 * Training patch sampling (src/net/data.ts samplePatch): where calcium patches
 * are centred. Pure CPU: no GPU needed.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../src/base/random.js';
import { samplePatch } from '../src/net/data.js';
import type { LabelMap } from '../src/io/volume.js';

const DIMS: [number, number, number] = [96, 32, 8];

/** 90 LAD voxels near x = 10 and 10 LCX voxels near x = 80: a 16-wide patch never holds both. */
function twoArteries(): LabelMap {
  const [nx, ny] = DIMS;
  const data = new Uint8Array(DIMS[0] * DIMS[1] * DIMS[2]);
  const at = (x: number, y: number, z: number) => x + nx * (y + ny * z);
  for (let i = 0; i < 90; i++) data[at(5 + (i % 10), 10 + Math.floor(i / 10), 4)] = 1;
  for (let i = 0; i < 10; i++) data[at(80 + i, 16, 4)] = 2;
  return { data, dims: DIMS, spacing: [1, 1, 1], affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] };
}

/** Share of 2,000 calcium-centred patches that hold LCX voxels (label 2). */
function lcxShare(balanceArteries: boolean): number {
  const labels = twoArteries();
  const ct = new Float32Array(labels.data.length).fill(0.5);
  const random = mulberry32(7);
  let lcx = 0;
  const draws = 2000;
  for (let i = 0; i < draws; i++) {
    const p = samplePatch(ct, labels, { size: [4, 16, 16], foregroundProbability: 1, balanceArteries }, random);
    const arteries = new Set(p.y);
    expect(arteries.has(1) && arteries.has(2)).toBe(false);
    expect(arteries.has(1) || arteries.has(2)).toBe(true); // centred on calcium, jitter stays inside the patch
    if (arteries.has(2)) lcx++;
  }
  return lcx / draws;
}

describe('samplePatch', () => {
  it('centres calcium patches on a uniform calcium voxel by default (LCX 10% of the voxels -> ~10% of the patches)', () => {
    expect(lcxShare(false)).toBeCloseTo(0.1, 1);
  });

  it('with balanceArteries, on an artery drawn uniformly among those present (-> ~50% LCX)', () => {
    expect(lcxShare(true)).toBeCloseTo(0.5, 1);
  });

  it('a scan with one artery still gets calcium patches with balanceArteries', () => {
    const labels = twoArteries();
    labels.data.forEach((v, i) => { if (v === 2) labels.data[i] = 0; });
    const random = mulberry32(3);
    for (let i = 0; i < 50; i++) {
      const p = samplePatch(new Float32Array(labels.data.length), labels, { size: [4, 16, 16], foregroundProbability: 1, balanceArteries: true }, random);
      expect(p.y.some((v) => v === 1)).toBe(true);
    }
  });
});
