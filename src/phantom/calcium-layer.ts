import { rasterizeBlobs, type Blob } from './blob.js';
import type { Grid } from './grid.js';
import { blurInPlane, type Psf } from './image.js';

/**
 * Sparse calcium signal over the CT: per touched voxel, the base HU, the added
 * HU, and the label of the calcification adding most (an artery, or a kind of
 * non-coronary calcium); kept so that a calibration step can undo plaques.
 */
export class CalciumLayer {
  readonly slot = new Map<number, number>();
  readonly voxel: number[] = [];
  readonly base: number[] = [];
  readonly sum: number[] = [];
  readonly best: number[] = [];
  readonly label: number[] = [];

  add(v: number, baseHU: number, hu: number, label: number): void {
    let s = this.slot.get(v);
    if (s === undefined) {
      s = this.voxel.length;
      this.slot.set(v, s);
      this.voxel.push(v);
      this.base.push(baseHU);
      this.sum.push(0);
      this.best.push(0);
      this.label.push(0);
    }
    this.sum[s]! += hu;
    if (hu > this.best[s]!) {
      this.best[s] = hu;
      this.label[s] = label;
    }
  }

  /**
   * Adds a calcification: its blobs rasterised, blurred by the image's PSF,
   * times `excessHU` over the base HU read from `base` (contributions under
   * 0.5 HU are left out).
   */
  addBlurred(base: Float32Array, g: Grid, blobs: readonly Blob[], psf: Psf, excessHU: number, label: number): void {
    const f = rasterizeBlobs(blobs, g, psf.radius);
    blurInPlane(f.frac, f.ni, f.nj, f.nk, psf.kx, psf.ky, false);
    for (let k = 0; k < f.nk; k++)
      for (let j = 0; j < f.nj; j++)
        for (let i = 0; i < f.ni; i++) {
          const add = f.frac[i + f.ni * (j + f.nj * k)]! * excessHU;
          if (add < 0.5) continue;
          const v = f.i0 + i + g.nx * (f.j0 + j + g.ny * (f.k0 + k));
          this.add(v, base[v]!, add, label);
        }
  }
}
