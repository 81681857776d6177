import { describe, expect, it } from 'vitest';
import type { Volume } from '../src/io/volume.js';
import { nativeLabels, type CellIndex } from '../src/net/native-labels.js';

/**
 * A 12 x 4 x 1 scan of 1 mm voxels under a 3 x 1 x 1 grid of 4-voxel-wide cells:
 * cell 0 holds x 0-3, cell 1 x 4-7, cell 2 x 8-11 (every row y).
 */
function scan(hu: (x: number, y: number) => number): { ct: Volume; cells: CellIndex } {
  const data = new Float32Array(48);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 12; x++) data[x + 12 * y] = hu(x, y);
  const cellOfVoxel = Int32Array.from({ length: 48 }, (_, v) => Math.floor((v % 12) / 4));
  const maxVoxel = new Int32Array(3).fill(-1);
  for (let v = 0; v < 48; v++) {
    const c = cellOfVoxel[v]!;
    if (maxVoxel[c]! < 0 || data[v]! > data[maxVoxel[c]!]!) maxVoxel[c] = v;
  }
  return { ct: { data, dims: [12, 4, 1], spacing: [1, 1, 1], affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], source: 't' }, cells: { dims: [3, 1, 1], cellOfVoxel, maxVoxel } };
}

/** Probabilities per cell: background, LAD, LCX, RCA. */
const probs = (rows: number[][]) => [0, 1, 2, 3].map((k) => Float32Array.from(rows, (r) => r[k]!));

const labelRow = (data: Uint8Array, y: number) => Array.from(data.subarray(12 * y, 12 * y + 12)).join('');

describe('labels on the scan from working-grid cells', () => {
  it('grows the lesion from its cell into the next cell, not past it, and leaves specks apart from it', () => {
    // Row 1: a plaque at x 2-5 (peak 600 at x 3) running into cell 1; bone from x 7 to 11 touching it through x 6.
    // Row 3: a 140 HU speck at x 0, in the calcium cell but not connected to the plaque.
    const { ct, cells } = scan((x, y) => (y === 1 && x >= 2 && x <= 5 ? (x === 3 ? 600 : 300) : y === 1 && x >= 6 ? 400 : y === 3 && x === 0 ? 140 : 40));
    // Cell 0 is LAD calcium, cells 1 and 2 are background.
    const labels = nativeLabels(probs([[0.1, 0.9, 0, 0], [0.9, 0.1, 0, 0], [0.9, 0.1, 0, 0]]), cells, ct, 130, 0.5);
    expect(labelRow(labels.data, 1)).toBe('001111110000'); // cell 0's plaque and its rim in cell 1 (the neighbour); bone in cell 2 stays out
    expect(labelRow(labels.data, 3)).toBe('000000000000'); // the speck is not connected to the brightest voxel of cell 0
    expect(labelRow(labels.data, 0)).toBe('000000000000');
  });

  it('labels nothing below the HU threshold, and a region seeded by two arteries takes the one most seeds carry', () => {
    const { ct, cells } = scan((x, y) => (y === 2 ? 200 + x : 100));
    // All three cells calcium: two LCX, one RCA; row 2 connects their brightest voxels.
    const labels = nativeLabels(probs([[0.1, 0, 0.9, 0], [0.1, 0, 0.9, 0], [0.1, 0, 0, 0.9]]), cells, ct, 130, 0.5);
    expect(labelRow(labels.data, 2)).toBe('222222222222');
    expect(labelRow(labels.data, 1)).toBe('000000000000');
    // At an operating point above every cell's calcium probability nothing is labelled.
    expect(nativeLabels(probs([[0.1, 0, 0.9, 0], [0.1, 0, 0.9, 0], [0.1, 0, 0, 0.9]]), cells, ct, 130, 0.95).data.every((l) => l === 0)).toBe(true);
  });
});
