/** Tubes with a spatial hash: the coronary tree and the lung vessels. */

import { dot, sub, type Vec3 } from './vec.js';

export interface TubeSegment {
  a: Vec3;
  b: Vec3;
  /** Radius at a and at b (mm); linear in between. */
  ra: number;
  rb: number;
  owner: number;
}

/**
 * A union of tapered capsules with a uniform-grid index, so that a point query
 * costs one cell lookup away from the tubes. Used for the coronary tree and the
 * lung vessels, which would be far too slow to test segment by segment per voxel.
 */
export class TubeSet {
  private readonly seg: Float64Array;
  private readonly owners: Uint8Array;
  private readonly x0: number = 0;
  private readonly y0: number = 0;
  private readonly z0: number = 0;
  private readonly cell: number;
  private readonly gx: number = 0;
  private readonly gy: number = 0;
  private readonly gz: number = 0;
  private readonly start: Int32Array;
  private readonly items: Int32Array;
  /** Owner of the nearest tube found by the last `query` that hit something. */
  lastOwner = 0;

  /** `reach`: how far outside the radius queries must still see a tube (e.g. a fat sleeve). */
  constructor(segments: readonly TubeSegment[], reach: number, cell = 6) {
    this.cell = cell;
    const n = segments.length;
    this.seg = new Float64Array(n * 9);
    this.owners = new Uint8Array(n);
    if (n === 0) {
      this.start = new Int32Array(1);
      this.items = new Int32Array(0);
      return;
    }
    let lo: Vec3 = [Infinity, Infinity, Infinity];
    let hi: Vec3 = [-Infinity, -Infinity, -Infinity];
    const boxes: Array<[Vec3, Vec3]> = [];
    segments.forEach((s, i) => {
      const ab = sub(s.b, s.a);
      const l2 = dot(ab, ab);
      this.seg.set([s.a[0], s.a[1], s.a[2], ab[0], ab[1], ab[2], s.ra, s.rb, l2 > 0 ? 1 / l2 : 0], i * 9);
      this.owners[i] = s.owner;
      const m = Math.max(s.ra, s.rb) + reach;
      const bl: Vec3 = [Math.min(s.a[0], s.b[0]) - m, Math.min(s.a[1], s.b[1]) - m, Math.min(s.a[2], s.b[2]) - m];
      const bh: Vec3 = [Math.max(s.a[0], s.b[0]) + m, Math.max(s.a[1], s.b[1]) + m, Math.max(s.a[2], s.b[2]) + m];
      boxes.push([bl, bh]);
      lo = [Math.min(lo[0], bl[0]), Math.min(lo[1], bl[1]), Math.min(lo[2], bl[2])];
      hi = [Math.max(hi[0], bh[0]), Math.max(hi[1], bh[1]), Math.max(hi[2], bh[2])];
    });
    this.x0 = lo[0];
    this.y0 = lo[1];
    this.z0 = lo[2];
    this.gx = Math.max(1, Math.ceil((hi[0] - lo[0]) / cell));
    this.gy = Math.max(1, Math.ceil((hi[1] - lo[1]) / cell));
    this.gz = Math.max(1, Math.ceil((hi[2] - lo[2]) / cell));
    const cells = this.gx * this.gy * this.gz;
    // Compressed rows: count the cells each segment touches, then fill.
    const visit = (f: (cell: number, segIndex: number) => void) => {
      boxes.forEach((b, si) => {
        const [i0, i1] = this.cellRange(b, 0);
        const [j0, j1] = this.cellRange(b, 1);
        const [k0, k1] = this.cellRange(b, 2);
        for (let k = k0; k <= k1; k++)
          for (let j = j0; j <= j1; j++) for (let i = i0; i <= i1; i++) f(i + this.gx * (j + this.gy * k), si);
      });
    };
    const start = new Int32Array(cells + 1);
    visit((c) => start[c + 1]!++);
    for (let c = 0; c < cells; c++) start[c + 1]! += start[c]!;
    this.start = start;
    this.items = new Int32Array(start[cells]!);
    const fill = start.slice(0, cells);
    visit((c, si) => (this.items[fill[c]!++] = si));
  }

  private cellRange(b: [Vec3, Vec3], axis: 0 | 1 | 2): [number, number] {
    const o = axis === 0 ? this.x0 : axis === 1 ? this.y0 : this.z0;
    const g = axis === 0 ? this.gx : axis === 1 ? this.gy : this.gz;
    return [Math.max(0, Math.floor((b[0][axis] - o) / this.cell)), Math.min(g - 1, Math.floor((b[1][axis] - o) / this.cell))];
  }

  /** min over tubes of (distance to axis - radius) in mm, or +Infinity when none is within reach. */
  query(x: number, y: number, z: number): number {
    const i = Math.floor((x - this.x0) / this.cell);
    const j = Math.floor((y - this.y0) / this.cell);
    const k = Math.floor((z - this.z0) / this.cell);
    if (i < 0 || j < 0 || k < 0 || i >= this.gx || j >= this.gy || k >= this.gz) return Infinity;
    const c = i + this.gx * (j + this.gy * k);
    let best = Infinity;
    const seg = this.seg;
    for (let n = this.start[c]!, end = this.start[c + 1]!; n < end; n++) {
      const s = this.items[n]! * 9;
      const px = x - seg[s]!;
      const py = y - seg[s + 1]!;
      const pz = z - seg[s + 2]!;
      const ux = seg[s + 3]!;
      const uy = seg[s + 4]!;
      const uz = seg[s + 5]!;
      let t = (px * ux + py * uy + pz * uz) * seg[s + 8]!;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const dx = px - t * ux;
      const dy = py - t * uy;
      const dz = pz - t * uz;
      const d = Math.sqrt(dx * dx + dy * dy + dz * dz) - (seg[s + 6]! + t * (seg[s + 7]! - seg[s + 6]!));
      if (d < best) {
        best = d;
        this.lastOwner = this.owners[this.items[n]!]!;
      }
    }
    return best;
  }
}
