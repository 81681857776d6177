import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatePhantom } from '../src/phantom/phantom.js';
import { readScan } from '../src/io/read-scan.js';
import type { Volume } from '../src/io/volume.js';
import { locateHeart } from '../src/net/heart-locator.js';

const QRM = '../shared/data/qrm-canon-large-rep1/Large_rep1';

/** The same scan with the x axis stored the other way round. */
function flippedX(v: Volume): Volume {
  const [nx, ny, nz] = v.dims;
  const data = new Float32Array(v.data.length);
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) data[i + nx * (j + ny * k)] = v.data[nx - 1 - i + nx * (j + ny * k)]!;
  const a = [...v.affine];
  for (const r of [0, 1, 2]) {
    a[4 * r + 3] = a[4 * r]! * (nx - 1) + a[4 * r + 3]!;
    a[4 * r] = -a[4 * r]!;
  }
  return { ...v, data, affine: a };
}

/** A water cylinder (no lungs) of radius r mm around (cx, cy), in a 200 mm field of view with -2048 padding outside the reconstruction circle. */
function cylinder(cx: number, cy: number, r: number): Volume {
  const n = 100;
  const s = 2;
  const data = new Float32Array(n * n * 10);
  for (let k = 0; k < 10; k++)
    for (let j = 0; j < n; j++)
      for (let i = 0; i < n; i++) {
        const x = 100 - i * s;
        const y = 100 - j * s;
        data[i + n * (j + n * k)] = Math.hypot(x, y) > 98 ? -2048 : Math.hypot(x - cx, y - cy) < r ? 20 : -1000;
      }
  return { data, dims: [n, n, 10], spacing: [s, s, 3], affine: [-s, 0, 0, 100, 0, -s, 0, 100, 0, 0, 3, 0, 0, 0, 0, 1], source: 'cylinder' };
}

describe('heart locator', () => {
  it('finds the heart between the lungs on heart-centred and whole-chest framing, whatever the storage order', () => {
    for (const [seed, fovMin, fovMax] of [
      [3, 150, 260],
      [4, 300, 360],
    ] as const) {
      const p = generatePhantom({ seed, preset: 'realistic' });
      const fov = p.meta.dims[0] * p.meta.spacing[0];
      expect(fov).toBeGreaterThan(fovMin);
      expect(fov).toBeLessThan(fovMax);
      const loc = locateHeart(p.ct);
      expect(loc.method).toBe('lungs');
      const truth = p.meta.anatomy.heartCenterMm;
      // Measured 0.4-10 mm over seeds 1-12 (the phantom's heart centre is its myocardium ellipsoid's).
      expect(Math.hypot(...loc.centreMm.map((v, i) => v - truth[i]!))).toBeLessThan(15);
      const again = locateHeart(flippedX(p.ct));
      // Not bit-equal: per row, ties between equally long lung-to-lung runs go to the first one met.
      for (let a = 0; a < 3; a++) expect(Math.abs(again.centreMm[a]! - loc.centreMm[a]!)).toBeLessThan(0.5);
    }
  }, 300_000);

  it('falls back to the soft tissue of the body without lungs, and to the field of view without a body', () => {
    const loc = locateHeart(cylinder(-30, 20, 40));
    expect(loc.method).toBe('body');
    expect(loc.centreMm[0]).toBeCloseTo(-30, 0);
    expect(loc.centreMm[1]).toBeCloseTo(20, 0);
    const empty = cylinder(0, 0, 0);
    const none = locateHeart(empty);
    expect(none.method).toBe('fov');
    expect(none.centreMm[0]).toBeCloseTo(1, 0);
    expect(none.centreMm[2]).toBeCloseTo(13.5, 5);
  });

  it.skipIf(!existsSync(QRM))('finds the cardiac insert of the real QRM thorax phantom (Canon, 512 x 512 x 47)', async () => {
    const ct = await readScan(QRM);
    const loc = locateHeart(ct);
    expect(loc.method).toBe('lungs');
    // The insert is the 110 mm soft-tissue cylinder between the lung cut-outs; its widest air-bounded chord
    // (slice 22, row 211, columns 144-369) puts its centre at (2.6, 3.0) mm in this scan's frame.
    expect(Math.hypot(loc.centreMm[0] - 2.6, loc.centreMm[1] - 3.0)).toBeLessThan(15);
  });
});
