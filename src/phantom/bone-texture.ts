/**
 * Trabecular texture (scanner preset): cancellous bone is not uniform; its HU
 * vary with the trabeculae at a millimetre scale. Marrow voxels get a smooth
 * random field (value noise, two octaves at 3 and 1.2 mm) of the drawn amplitude.
 */

import type { Rng } from '../base/rng.js';
import type { Grid } from './grid.js';
import { TISSUE } from './tissue.js';

/** Value noise in [-1, 1]: random values on an integer lattice (hashed with `seed`), trilinearly interpolated. */
class ValueNoise {
  constructor(private readonly seed: number) {}

  private at(i: number, j: number, k: number): number {
    let h = Math.imul(i, 0x27d4eb2d) ^ Math.imul(j, 0x165667b1) ^ Math.imul(k, 0x1b873593) ^ this.seed;
    h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return ((h ^ (h >>> 16)) >>> 0) / 2147483648 - 1;
  }

  /** Bilinear in the lattice plane k. */
  private plane(i: number, j: number, k: number, fx: number, fy: number): number {
    const a = this.at(i, j, k);
    const b = this.at(i + 1, j, k);
    const c = this.at(i, j + 1, k);
    const d = this.at(i + 1, j + 1, k);
    const top = a + (b - a) * fx;
    return top + (c + (d - c) * fx - top) * fy;
  }

  value(x: number, y: number, z: number): number {
    const i = Math.floor(x);
    const j = Math.floor(y);
    const k = Math.floor(z);
    const lo = this.plane(i, j, k, x - i, y - j);
    return lo + (this.plane(i, j, k + 1, x - i, y - j) - lo) * (z - k);
  }
}

export function addBoneTexture(hu: Float32Array, tissue: Uint8Array, g: Grid, amplitudeHU: number, r: Rng): void {
  if (amplitudeHU <= 0) return;
  const coarse = new ValueNoise(r.nextUint32() | 0);
  const fine = new ValueNoise(r.nextUint32() | 0);
  let v = 0;
  for (let k = 0; k < g.nz; k++) {
    const z = g.oz + k * g.dz;
    for (let j = 0; j < g.ny; j++) {
      const y = g.oy - j * g.dy;
      for (let i = 0; i < g.nx; i++, v++) {
        if (tissue[v] !== TISSUE.marrow) continue;
        const x = g.ox - i * g.dx;
        hu[v]! += amplitudeHU * (0.6 * coarse.value(x / 3, y / 3, z / 3) + 0.4 * fine.value(x / 1.2, y / 1.2, z / 1.2));
      }
    }
  }
}
