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
}
