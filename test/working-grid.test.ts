import { describe, expect, it } from 'vitest';
import type { LabelMap, Volume } from '../src/io/volume.js';
import { buildWorkingGrid, labelsToWorkingGrid, OUTSIDE_HU, type WorkingGridSpec } from '../src/net/working-grid.js';
import { gridOffsetFromHeart } from '../src/net/scan-inference.js';
import { nativeLabels } from '../src/net/native-labels.js';

/** A scan at 0.5 x 0.5 x 3 mm, 40 x 40 x 6, stored like a NIfTI from DICOM (i to the left, j to the back), filled by f(x, y, z) in patient mm. */
function scan(f: (x: number, y: number, z: number) => number, dims: [number, number, number] = [40, 40, 6], spacing: [number, number, number] = [0.5, 0.5, 3]): Volume {
  const [nx, ny, nz] = dims;
  const affine = [-spacing[0], 0, 0, 10, 0, -spacing[1], 0, 10, 0, 0, spacing[2], -7.5, 0, 0, 0, 1];
  const data = new Float32Array(nx * ny * nz);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) data[i + nx * (j + ny * k)] = f(10 - i * spacing[0], 10 - j * spacing[1], -7.5 + k * spacing[2]);
  return { data, dims, spacing, affine, source: 'test' };
}

/** The same scan stored another way: x reversed and the axes x, y swapped; the patient is the same. */
function restored(v: Volume): Volume {
  const [nx, ny, nz] = v.dims;
  const data = new Float32Array(v.data.length);
  // new (i', j', k) = old (nx - 1 - j', i', k): new i' runs along old j, new j' along old i reversed.
  for (let k = 0; k < nz; k++)
    for (let jn = 0; jn < nx; jn++)
      for (let inn = 0; inn < ny; inn++) data[inn + ny * (jn + nx * k)] = v.data[nx - 1 - jn + nx * (inn + ny * k)]!;
  const a = v.affine;
  // old index i = nx - 1 - j', j = i': position = A (nx - 1 - j', i', k).
  const affine = [a[1]!, -a[0]!, a[2]!, a[0]! * (nx - 1) + a[3]!, a[5]!, -a[4]!, a[6]!, a[4]! * (nx - 1) + a[7]!, a[9]!, -a[8]!, a[10]!, a[8]! * (nx - 1) + a[11]!, 0, 0, 0, 1];
  return { data, dims: [ny, nx, nz], spacing: [v.spacing[1], v.spacing[0], v.spacing[2]], affine, source: 'restored' };
}

const SPEC: WorkingGridSpec = { spacingMm: [2, 2, 3], planeCells: 8, maxDepthMm: 100, multiple: 4 };

describe('working grid', () => {
  it('bins 0.5 mm voxels into 2 mm cells: mean and max of the voxels whose centres fall in each cell', () => {
    // A 1 x 1 mm speck of 600 HU in 40 HU tissue: 4 voxels of one slice.
    const ct = scan((x, y, z) => (Math.abs(x - 2.75) < 0.5 && Math.abs(y - 0.75) < 0.5 && Math.abs(z - 1.5) < 1 ? 600 : 40));
    const g = buildWorkingGrid(ct, [0, 0, 0], SPEC);
    expect(g.dims).toEqual([8, 8, 8]);
    const [nx, ny] = g.dims;
    // The cell holding (2.75, 0.75, 1.5): i = (x0 - x) / 2 with x0 = 7 (cell 0 at 3.5 cells right of the centre).
    const ci = Math.round((g.affine[3]! - 2.75) / 2);
    const cj = Math.round((g.affine[7]! - 0.75) / 2);
    const ck = Math.round((1.5 - g.affine[11]!) / 3);
    const cell = ci + nx * (cj + ny * ck);
    expect(g.max[cell]).toBe(600);
    // Voxel centres at x = 10 - 0.5 i; those within [1.75, 3.75) and y within [-0.25, 1.75): 4 x 4, of which 2 x 2 are the speck.
    expect(g.mean[cell]).toBeCloseTo((4 * 600 + 12 * 40) / 16, 4);
    // Every other cell inside the scan is plain tissue.
    let others = 0;
    for (let c = 0; c < g.mean.length; c++) if (c !== cell && g.max[c] === 40) others++;
    expect(others).toBeGreaterThan(100);
  });

  it('gives the same grid whatever order the file stores its axes in', () => {
    const ct = scan((x, y, z) => 100 * Math.sin(x / 3) + 50 * Math.cos(y / 2) + 10 * z);
    const a = buildWorkingGrid(ct, [1, -2, 0], SPEC);
    const b = buildWorkingGrid(restored(ct), [1, -2, 0], SPEC);
    expect(b.dims).toEqual(a.dims);
    expect(b.affine).toEqual(a.affine);
    for (let c = 0; c < a.mean.length; c++) {
      expect(b.mean[c]).toBeCloseTo(a.mean[c]!, 3);
      expect(b.max[c]).toBe(a.max[c]);
    }
  });

  it('fills cells no voxel centre falls in from the nearest voxel, and cells outside the scan with air', () => {
    // 6 mm slices on a 3 mm grid: every other cell row along z is empty of voxel centres.
    const ct = scan((_x, _y, z) => 10 * Math.round(z), [40, 40, 3], [0.5, 0.5, 6]);
    const spec: WorkingGridSpec = { ...SPEC, planeCells: 16 };
    const g = buildWorkingGrid(ct, [0, 0, 0], spec);
    const plane = g.dims[0] * g.dims[1];
    const centre = g.dims[0] / 2 + g.dims[0] * (g.dims[1] / 2);
    const zOf = (k: number) => g.affine[10]! * k + g.affine[11]!;
    for (let k = 0; k < g.dims[2]; k++) {
      const z = zOf(k);
      const v = g.mean[centre + k * plane]!;
      if (z < -7.5 - 3 || z > 4.5 + 3) expect(v).toBe(OUTSIDE_HU);
      else expect([-70, -10, 50]).toContain(v); // one of the slices' values (10 x round(z) at z = -7.5, -1.5, 4.5)
    }
    // In-plane the scan is 20 mm wide, the box 32 mm: the rim is air.
    expect(g.mean[0]).toBe(OUTSIDE_HU);
  });

  it('keeps the whole scan along z when it is short, and maxDepthMm around the heart when it is long', () => {
    const long = scan(() => 0, [8, 8, 60], [2, 2, 3]); // 177 mm along z
    const spec: WorkingGridSpec = { ...SPEC, maxDepthMm: 60 };
    const g = buildWorkingGrid(long, [0, 0, 40], spec);
    const z0 = g.affine[11]!;
    const z1 = z0 + (g.dims[2] - 1) * 3;
    expect(z1 - z0).toBeGreaterThanOrEqual(60);
    expect((z0 + z1) / 2).toBeCloseTo(40, 0);
    // Near the end of the scan the box slides back inside it.
    const top = buildWorkingGrid(long, [0, 0, 170], spec);
    expect(top.affine[11]! + (top.dims[2] - 1) * 3).toBeLessThan(-7.5 + 59 * 3 + 6);
    const short = buildWorkingGrid(scan(() => 0), [0, 0, 100], SPEC);
    expect(short.affine[11]! + ((short.dims[2] - 1) / 2) * 3).toBeCloseTo(0, 5); // the scan's own middle, not the heart's z
    expect(gridOffsetFromHeart(short)[2]).toBeCloseTo(-100, 5);
  });

  it('bins labels by majority and brings decisions back voxel by voxel', () => {
    const ct = scan((x) => (x > 0 ? 300 : 100));
    const labels: LabelMap = { data: new Uint8Array(ct.data.length), dims: ct.dims, spacing: ct.spacing, affine: ct.affine };
    for (let v = 0; v < ct.data.length; v++) if (ct.data[v]! >= 130) labels.data[v] = v % 3 === 0 ? 2 : 1;
    const g = buildWorkingGrid(ct, [0, 0, 0], SPEC);
    const wl = labelsToWorkingGrid(labels, g);
    const cells = wl.data.length;
    let lad = 0;
    for (let c = 0; c < cells; c++) if (wl.data[c] === 1) lad++;
    expect(lad).toBeGreaterThan(0);
    expect([...wl.data].every((l: number) => l === 0 || l === 1)).toBe(true); // LAD holds two thirds of every labelled cell
    // P(LCX) = 0.9 everywhere: every voxel >= 130 HU inside the box is LCX, nothing else.
    const probabilities = [new Float32Array(cells).fill(0.1), new Float32Array(cells).fill(0), new Float32Array(cells).fill(0.9), new Float32Array(cells).fill(0)];
    const out = nativeLabels(probabilities, g, ct, 130, [0.5, 0.5, 0.5]);
    for (let v = 0; v < ct.data.length; v++) expect(out.data[v]).toBe(ct.data[v]! >= 130 && g.cellOfVoxel[v]! >= 0 ? 2 : 0);
    expect(nativeLabels(probabilities, g, ct, 130, [0.5, 0.95, 0.5]).data.every((l) => l === 0)).toBe(true);
  });
});
