/**
 * Sparse plaque signal over the CT: per touched voxel, the base HU, the added
 * HU, and the dominant artery; kept so that a calibration step can undo it.
 */
export class PlaqueLayer {
  readonly slot = new Map<number, number>();
  readonly voxel: number[] = [];
  readonly base: number[] = [];
  readonly sum: number[] = [];
  readonly best: number[] = [];
  readonly artery: number[] = [];

  add(v: number, baseHU: number, hu: number, artery: number): void {
    let s = this.slot.get(v);
    if (s === undefined) {
      s = this.voxel.length;
      this.slot.set(v, s);
      this.voxel.push(v);
      this.base.push(baseHU);
      this.sum.push(0);
      this.best.push(0);
      this.artery.push(0);
    }
    this.sum[s]! += hu;
    if (hu > this.best[s]!) {
      this.best[s] = hu;
      this.artery[s] = artery;
    }
  }
}
