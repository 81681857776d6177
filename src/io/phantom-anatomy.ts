/**
 * The anatomy of the synthetic cardiac CT phantom: analytic shapes for a chest
 * at heart level and the coronary centrelines, with a point classifier
 * `classify(x, y, z) -> tissue` that the renderer samples.
 *
 * Coordinates are patient millimetres, RAS+ (+x patient right, +y anterior,
 * +z superior), origin near the middle of the chest at mid-heart level. Sizes
 * are adult averages with a random spread per phantom (chest CT anatomy texts
 * and the usual cardiac CT numbers: heart ~12 x 9 x 7 cm with its long axis
 * pointing anterior-left-inferior, coronary lumen 4 mm proximal to 1.5 mm
 * distal, vertebral bodies ~4 cm wide, ribs ~1 x 0.7 cm at ~2.5 cm pitch).
 *
 * Non-contrast CT: blood and myocardium differ by a few HU only, so the
 * coronaries are visible mainly through the fat around them, as in real
 * calcium-scoring scans.
 */

import type { Rng } from './rng.js';

export type Vec3 = [number, number, number];

/** Tissue classes of the phantom; the renderer maps them to HU per phantom. */
export const TISSUE = {
  air: 0,
  lung: 1,
  fat: 2,
  muscle: 3,
  skin: 4,
  blood: 5,
  myocardium: 6,
  coronary: 7,
  pericardium: 8,
  corticalBone: 9,
  marrow: 10,
  cartilage: 11,
  disc: 12,
  csf: 13,
  gas: 14,
  liver: 15,
  abdomen: 16,
} as const;

export const TISSUE_NAMES = Object.keys(TISSUE) as Array<keyof typeof TISSUE>;
export const TISSUE_COUNT = TISSUE_NAMES.length;

export function isBoneTissue(t: number): boolean {
  return t === TISSUE.corticalBone || t === TISSUE.marrow;
}

// --- small vector helpers -----------------------------------------------------

export const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
export const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
export const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const len = (a: Vec3): number => Math.sqrt(dot(a, a));
export const cross = (a: Vec3, b: Vec3): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];
export function normalize(a: Vec3): Vec3 {
  const l = len(a);
  return l > 0 ? scale(a, 1 / l) : [0, 0, 0];
}
/** a + s * b */
export const addScaled = (a: Vec3, b: Vec3, s: number): Vec3 => [a[0] + s * b[0], a[1] + s * b[1], a[2] + s * b[2]];

/** Rotates v about the unit axis k by `angle` radians (Rodrigues). */
export function rotateAbout(v: Vec3, k: Vec3, angle: number): Vec3 {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return add(add(scale(v, c), scale(cross(k, v), s)), scale(k, dot(k, v) * (1 - c)));
}

const DEG = Math.PI / 180;

function smoothstep(x: number): number {
  const t = Math.min(1, Math.max(0, x));
  return t * t * (3 - 2 * t);
}

// --- tubes with a spatial hash ---------------------------------------------------

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

// --- curves ----------------------------------------------------------------------

/** Centripetal Catmull-Rom through `pts` (no overshoot loops), sampled about every `step` mm. */
export function catmullRom(pts: readonly Vec3[], step: number): Vec3[] {
  const out: Vec3[] = [];
  const n = pts.length;
  for (let i = 0; i + 1 < n; i++) {
    const p1 = pts[i]!;
    const p2 = pts[i + 1]!;
    const p0 = i > 0 ? pts[i - 1]! : sub(scale(p1, 2), p2);
    const p3 = i + 2 < n ? pts[i + 2]! : sub(scale(p2, 2), p1);
    const knot = (a: Vec3, b: Vec3) => Math.max(1e-6, Math.sqrt(len(sub(b, a))));
    const t0 = 0;
    const t1 = t0 + knot(p0, p1);
    const t2 = t1 + knot(p1, p2);
    const t3 = t2 + knot(p2, p3);
    const lerp = (a: Vec3, b: Vec3, ta: number, tb: number, t: number): Vec3 =>
      add(scale(a, (tb - t) / (tb - ta)), scale(b, (t - ta) / (tb - ta)));
    const m = Math.max(1, Math.ceil(len(sub(p2, p1)) / step));
    for (let s = 0; s < m; s++) {
      const t = t1 + ((t2 - t1) * s) / m;
      const a1 = lerp(p0, p1, t0, t1, t);
      const a2 = lerp(p1, p2, t1, t2, t);
      const a3 = lerp(p2, p3, t2, t3, t);
      const b1 = lerp(a1, a2, t0, t2, t);
      const b2 = lerp(a2, a3, t1, t3, t);
      out.push(lerp(b1, b2, t1, t2, t));
    }
  }
  out.push(pts[n - 1]!);
  return out;
}

/** A coronary centreline, densely sampled. */
export interface Vessel {
  /** 'LAD' (with the left main at its start), 'D1', 'LCX', 'OM1' or 'RCA' (with the PDA at its end). */
  name: string;
  /** Label of the artery it belongs to: 1 LAD, 2 LCX, 3 RCA. */
  artery: 1 | 2 | 3;
  points: Vec3[];
  radii: number[];
  /** Cumulative arc length (mm) at each point. */
  arc: number[];
  /** Arc length where the vessel leaves the aortic root (plaques start there). */
  ostiumMm: number;
  /** For the LAD: arc length of the left main bifurcation; 0 otherwise. */
  leftMainMm: number;
}

/** Point, unit tangent and radius at arc length s (nearest sample). */
export function vesselAt(v: Vessel, s: number): { p: Vec3; t: Vec3; r: number; index: number } {
  let i = 0;
  while (i + 1 < v.arc.length && v.arc[i + 1]! <= s) i++;
  const a = v.points[Math.max(0, i - 1)]!;
  const b = v.points[Math.min(v.points.length - 1, i + 1)]!;
  return { p: v.points[i]!, t: normalize(sub(b, a)), r: v.radii[i]!, index: i };
}

function arcLengths(points: readonly Vec3[]): number[] {
  const arc = [0];
  for (let i = 1; i < points.length; i++) arc.push(arc[i - 1]! + len(sub(points[i]!, points[i - 1]!)));
  return arc;
}

// --- the heart ---------------------------------------------------------------------

/** An ellipsoidal heart in its own frame: e1 long axis (base to apex), e2 anterior-ish, e3 = e1 x e2. */
export class Heart {
  constructor(
    readonly c: Vec3,
    readonly e1: Vec3,
    readonly e2: Vec3,
    readonly e3: Vec3,
    /** Semi-axes along e1, e2, e3 (mm). */
    readonly a: number,
    readonly b: number,
    readonly cc: number,
  ) {}

  toLocal(p: Vec3): Vec3 {
    const d = sub(p, this.c);
    return [dot(d, this.e1), dot(d, this.e2), dot(d, this.e3)];
  }

  toWorld(q: Vec3): Vec3 {
    return add(this.c, add(add(scale(this.e1, q[0]), scale(this.e2, q[1])), scale(this.e3, q[2])));
  }

  /** Surface point at long-axis position t in [-1 base, 1 apex] and azimuth phi (degrees, from e2 towards e3). */
  surface(t: number, phiDeg: number): Vec3 {
    const r = Math.sqrt(Math.max(0, 1 - t * t));
    return this.toWorld([this.a * t, this.b * r * Math.cos(phiDeg * DEG), this.cc * r * Math.sin(phiDeg * DEG)]);
  }

  /** Radial projection of p onto the surface, then `lift` mm out along the surface normal. */
  project(p: Vec3, lift: number): Vec3 {
    const q = this.toLocal(p);
    const s = Math.sqrt((q[0] / this.a) ** 2 + (q[1] / this.b) ** 2 + (q[2] / this.cc) ** 2);
    const qs = scale(q, 1 / Math.max(s, 1e-9));
    const n = normalize([qs[0] / this.a ** 2, qs[1] / this.b ** 2, qs[2] / this.cc ** 2]);
    return this.toWorld(addScaled(qs, n, lift));
  }

  /** Half-extent of the heart along world axis `axis` (support function of the ellipsoid). */
  halfExtent(axis: 0 | 1 | 2): number {
    return Math.hypot(this.a * this.e1[axis], this.b * this.e2[axis], this.cc * this.e3[axis]);
  }
}

/** The random draws of one anatomy, kept for the phantom's metadata. */
export interface AnatomySummary {
  bodyWidthMm: number;
  bodyDepthMm: number;
  subcutaneousFatMm: number;
  heartCenterMm: Vec3;
  heartLongAxis: Vec3;
  heartSemiAxesMm: Vec3;
  /** Long-axis angle from the sagittal plane towards the left, tilt below the axial plane, roll (degrees). */
  heartAnglesDeg: { azimuth: number; elevation: number; roll: number };
  epicardialFatMm: number;
  tissueHU: Record<string, number>;
}

/** Tissue HU for one phantom: soft tissues within their usual non-contrast ranges. */
function drawTissueHU(rng: Rng): Float32Array {
  const hu = new Float32Array(TISSUE_COUNT);
  const blood = rng.uniform(38, 50);
  hu[TISSUE.air] = -1000;
  hu[TISSUE.lung] = rng.uniform(-870, -830);
  hu[TISSUE.fat] = rng.uniform(-110, -85);
  hu[TISSUE.muscle] = rng.uniform(40, 55);
  hu[TISSUE.skin] = rng.uniform(20, 40);
  hu[TISSUE.blood] = blood;
  hu[TISSUE.myocardium] = blood - rng.uniform(2, 8);
  hu[TISSUE.coronary] = blood;
  hu[TISSUE.pericardium] = rng.uniform(25, 40);
  hu[TISSUE.corticalBone] = rng.uniform(550, 1150);
  hu[TISSUE.marrow] = rng.uniform(160, 260);
  hu[TISSUE.cartilage] = rng.uniform(85, 115);
  hu[TISSUE.disc] = rng.uniform(70, 95);
  hu[TISSUE.csf] = rng.uniform(5, 20);
  hu[TISSUE.gas] = rng.uniform(-980, -900);
  hu[TISSUE.liver] = rng.uniform(50, 65);
  hu[TISSUE.abdomen] = rng.uniform(30, 45);
  return hu;
}

/**
 * One random anatomy. `classify` is the hot path (called tens of millions of
 * times for a 512 x 512 scan), so its parameters are plain numeric fields.
 */
export class Anatomy {
  readonly tissueHU: Float32Array;
  readonly heart: Heart;
  readonly vessels: Vessel[];
  readonly coronaryTubes: TubeSet;
  readonly lungTubes: TubeSet;
  /** Fat sleeve around each coronary (mm beyond the lumen radius). */
  readonly sleeveMm: number;
  readonly summary: AnatomySummary;

  // body
  readonly bodyA: number;
  readonly bodyCy: number;
  readonly bodyBAnt: number;
  readonly bodyBPost: number;
  /** The back is flattened by the table below this y. */
  readonly bodyYMin: number;
  readonly skinMm = 1.8;
  readonly fatMm: number;
  // spine
  readonly spineY: number;
  readonly spineRx: number;
  readonly spineRy: number;
  readonly levelMm: number;
  readonly discMm: number;
  readonly spineZ0: number;
  readonly canalY: number;
  readonly canalR: number;
  readonly laminaMm = 4.5;
  readonly spinousMm: number;
  readonly transverseMm: number;
  // sternum
  readonly sternumIn: number;
  readonly sternumOut: number;
  readonly sternumHalfW: number;
  // rib cage (pleural boundary) and ribs
  readonly cageA: number;
  readonly cageB: number;
  readonly cageCy: number;
  readonly ribPitch: number;
  readonly ribZ0: number;
  readonly ribDrop: number;
  readonly ribHalfT: number;
  readonly ribHalfH: number;
  readonly ribGap = 1;
  readonly ribStart = 0.3;
  readonly ribEnd: number;
  readonly cortexMm = 1.2;
  // vessels and mediastinum
  readonly dAortaX: number;
  readonly dAortaY: number;
  readonly dAortaR: number;
  readonly esoX: number;
  readonly esoY: number;
  readonly esoR: number;
  readonly rootC: Vec3;
  readonly rootR: number;
  /** Left main bifurcation, on the heart surface. */
  readonly bifurcation: Vec3;
  readonly ascTop: Vec3;
  readonly ascR: number;
  readonly svcX: number;
  readonly svcY: number;
  readonly svcR: number;
  readonly svcZ0: number;
  readonly paA: Vec3;
  readonly paB: Vec3;
  readonly paR: number;
  readonly columnX: number;
  readonly columnHalfW: number;
  // squared radii of the fat around vessels (hot path)
  private readonly aortaFat2: number;
  private readonly esoFat2: number;
  private readonly rootFat2: number;
  // heart (hot-path copies)
  private readonly hc: Vec3;
  private readonly hR2: number;
  private readonly fe: number;
  // diaphragm domes
  readonly domeRx: number;
  readonly domeRy: number;
  readonly domeRz: number;
  readonly domeLx: number;
  readonly domeLy: number;
  readonly domeLz: number;
  readonly domeK: number;
  readonly lungGrad: number;

  constructor(rng: Rng) {
    this.tissueHU = drawTissueHU(rng.fork('hu'));
    const r = rng.fork('shape');

    // Spine and sternum first: they bound the thoracic cavity.
    this.spineY = -r.uniform(44, 54);
    this.spineRx = r.uniform(18, 22);
    this.spineRy = r.uniform(14, 17);
    this.levelMm = r.uniform(21, 25);
    this.discMm = r.uniform(5, 7);
    this.spineZ0 = r.uniform(0, this.levelMm);
    this.canalR = r.uniform(7, 8.5);
    this.canalY = this.spineY - this.spineRy - this.canalR - 1;
    this.spinousMm = r.uniform(22, 30);
    this.transverseMm = r.uniform(22, 28);
    this.sternumOut = r.uniform(88, 100);
    this.sternumIn = this.sternumOut - r.uniform(10, 14);
    this.sternumHalfW = r.uniform(14, 20);

    const cageAnt = this.sternumIn - 1;
    const cagePost = this.canalY - 2;
    this.cageCy = (cageAnt + cagePost) / 2;
    this.cageB = (cageAnt - cagePost) / 2;
    this.cageA = r.uniform(118, 142);
    this.ribPitch = r.uniform(24, 30);
    this.ribZ0 = r.uniform(0, this.ribPitch);
    this.ribDrop = r.uniform(70, 100);
    this.ribHalfT = r.uniform(2.8, 3.8);
    this.ribHalfH = r.uniform(5, 6.5);
    this.ribEnd = r.uniform(2.3, 2.55);

    this.fatMm = r.uniform(6, 30);
    const muscleMm = r.uniform(8, 20);
    this.bodyA = this.cageA + this.ribGap + 2 * this.ribHalfT + 2 + muscleMm + this.fatMm;
    const yAnt = this.sternumOut + 2 + this.fatMm * 0.8;
    const yPost = this.canalY - this.canalR - this.spinousMm - r.uniform(6, 14) - this.fatMm;
    this.bodyCy = (yAnt + yPost) / 2;
    this.bodyBAnt = yAnt - this.bodyCy;
    // The posterior half-ellipse is deeper than the body and cut flat: the back on the table.
    this.bodyBPost = (this.bodyCy - yPost) * 1.18;
    this.bodyYMin = yPost;

    this.dAortaR = r.uniform(10, 13);
    const aDir = normalize([-0.78, 0.62, 0]);
    const aDist = Math.hypot(this.spineRx * aDir[0], this.spineRy * aDir[1]) + this.dAortaR + 3;
    this.dAortaX = aDir[0] * aDist;
    this.dAortaY = this.spineY + aDir[1] * aDist;
    this.esoR = r.uniform(6, 8);
    this.esoX = this.dAortaX + this.dAortaR + this.esoR + 2;
    this.esoY = this.dAortaY + 4;

    // Heart: long axis anterior-left-inferior; then fitted between sternum and spine.
    const azimuth = r.uniform(38, 55);
    const elevation = r.uniform(28, 45);
    const roll = r.uniform(-15, 15);
    const e1 = normalize([
      -Math.sin(azimuth * DEG) * Math.cos(elevation * DEG),
      Math.cos(azimuth * DEG) * Math.cos(elevation * DEG),
      -Math.sin(elevation * DEG),
    ]);
    const up: Vec3 = [0, 1, 0];
    let e2 = normalize(sub(up, scale(e1, dot(up, e1))));
    e2 = rotateAbout(e2, e1, roll * DEG);
    const e3 = cross(e1, e2);
    const size = r.uniform(0.92, 1.08);
    let ha = r.uniform(52, 60) * size;
    let hb = r.uniform(40, 46) * size;
    let hcc = r.uniform(34, 40) * size;
    const probe = new Heart([0, 0, 0], e1, e2, e3, ha, hb, hcc);
    const front = this.sternumIn - 7;
    // The left atrium may wrap around the oesophagus and aorta (painted first); only the spine is a hard stop.
    const back = this.spineY + this.spineRy + 2;
    let hy = probe.halfExtent(1);
    if (2 * hy > front - back) {
      const f = (front - back) / (2 * hy);
      ha *= f;
      hb *= f;
      hcc *= f;
      hy *= f;
    }
    const hcy = back + hy + r.uniform(0, Math.max(0, front - back - 2 * hy));
    const hcx = r.uniform(-26, -14);
    const hcz = r.uniform(-4, 4);
    this.heart = new Heart([hcx, hcy, hcz], e1, e2, e3, ha, hb, hcc);
    this.hc = this.heart.c;
    this.fe = r.uniform(2.5, 7);
    this.hR2 = (ha + this.fe * 1.6 + 10) ** 2;

    // Great vessels. The aortic root sits at the top of the ventricles, right of and a
    // little behind the left main bifurcation (itself at the top of the AV ring).
    const h = this.heart;
    const cr = r.fork('coronary');
    this.bifurcation = h.surface(-0.5 + cr.uniform(-0.04, 0.04), -30 + cr.uniform(-6, 6));
    this.rootR = r.uniform(13, 16);
    this.rootC = add(this.bifurcation, [r.uniform(19, 24), -r.uniform(5, 10), -r.uniform(1, 5)]);
    this.ascR = this.rootR * r.uniform(0.85, 0.95);
    this.ascTop = add(this.rootC, [r.uniform(4, 12), r.uniform(0, 10), 140]);
    this.svcR = r.uniform(8, 10);
    this.svcX = this.rootC[0] + this.ascR + this.svcR + 3;
    this.svcY = this.rootC[1] - 6;
    this.svcZ0 = this.rootC[2] - 15;
    this.paR = r.uniform(12, 14);
    // Pulmonary trunk: in front of and left of the root, running up and back.
    this.paA = add(this.rootC, [-r.uniform(4, 8), r.uniform(20, 24), -r.uniform(2, 6)]);
    this.paB = add(this.paA, [-14, -30, 45]);
    this.columnX = hcx * 0.3;
    this.aortaFat2 = (this.dAortaR + 5) * (this.dAortaR + 5);
    this.esoFat2 = (this.esoR + 4) * (this.esoR + 4);
    this.rootFat2 = (this.rootR + 6) * (this.rootR + 6);
    this.columnHalfW = r.uniform(16, 24);

    // Diaphragm: the right dome is higher; the heart rests on the central tendon.
    this.domeK = r.uniform(0.004, 0.006);
    this.domeRx = r.uniform(45, 65);
    this.domeRy = this.cageCy - 10;
    this.domeLx = -r.uniform(55, 75);
    this.domeLy = this.cageCy - 15;
    // Domes passing just under the heart's lowest point.
    const under = hcz - this.heart.halfExtent(2) + r.uniform(-4, 2);
    const rise = (dx: number, dy: number) => this.domeK * (dx * dx + dy * dy);
    this.domeRz = Math.min(hcz - 5, under + rise(hcx - this.domeRx, hcy - this.domeRy));
    this.domeLz = Math.min(this.domeRz - 5, under - r.uniform(3, 10) + rise(hcx - this.domeLx, hcy - this.domeLy));
    this.lungGrad = r.uniform(20, 60);

    this.sleeveMm = r.uniform(1.4, 2.2);
    this.vessels = buildCoronaries(h, this.rootC, this.rootR, this.bifurcation, cr);
    const segs: TubeSegment[] = [];
    for (const v of this.vessels) {
      for (let i = 0; i + 2 < v.points.length; i += 2) {
        segs.push({ a: v.points[i]!, b: v.points[i + 2]!, ra: v.radii[i]!, rb: v.radii[i + 2]!, owner: v.artery });
      }
    }
    this.coronaryTubes = new TubeSet(segs, this.sleeveMm);
    this.lungTubes = new TubeSet(this.buildLungVessels(rng.fork('lung')), 0, 8);

    const hu: Record<string, number> = {};
    TISSUE_NAMES.forEach((n, i) => (hu[n] = Math.round(this.tissueHU[i]! * 10) / 10));
    this.summary = {
      bodyWidthMm: 2 * this.bodyA,
      bodyDepthMm: yAnt - yPost,
      subcutaneousFatMm: this.fatMm,
      heartCenterMm: [hcx, hcy, hcz],
      heartLongAxis: e1,
      heartSemiAxesMm: [ha, hb, hcc],
      heartAnglesDeg: { azimuth, elevation, roll },
      epicardialFatMm: this.fe,
      tissueHU: hu,
    };
  }

  /** Pulmonary vessel trees from both hila: random branching tubes, 4 mm down to under 1 mm. */
  private buildLungVessels(r: Rng): TubeSegment[] {
    const segs: TubeSegment[] = [];
    const h = this.heart;
    const grow = (p: Vec3, dir: Vec3, length: number, r0: number, depth: number) => {
      const r1 = r0 * 0.6;
      let a = p;
      let d = dir;
      for (let s = 0; s < 3; s++) {
        d = normalize(add(d, [r.uniform(-0.3, 0.3), r.uniform(-0.3, 0.3), r.uniform(-0.3, 0.3)]));
        const b = addScaled(a, d, length / 3);
        segs.push({ a, b, ra: r0 + ((r1 - r0) * s) / 3, rb: r0 + ((r1 - r0) * (s + 1)) / 3, owner: 0 });
        a = b;
      }
      if (depth < 2) {
        for (let c = 0; c < 2; c++) {
          const nd = normalize(add(d, [r.uniform(-0.8, 0.8), r.uniform(-0.8, 0.8), r.uniform(-0.8, 0.8)]));
          grow(a, nd, length * r.uniform(0.55, 0.8), r1, depth + 1);
        }
      }
    };
    const right: Vec3 = [h.c[0] + h.halfExtent(0) + 8, this.spineY + this.spineRy + 30, h.c[2] + 18];
    const left: Vec3 = [-58, this.spineY + this.spineRy + 22, h.c[2] + 28];
    for (const [hilum, side] of [
      [right, 1],
      [left, -1],
    ] as Array<[Vec3, number]>) {
      for (let b = 0; b < 6; b++) {
        const dir = normalize([side * r.uniform(0.4, 1), r.uniform(-0.8, 0.8), r.uniform(-1, 1)]);
        grow(hilum, dir, r.uniform(40, 65), r.uniform(3.5, 5), 0);
      }
    }
    return segs;
  }

  /** Lung parenchyma is denser posteriorly (gravity), by up to `lungGrad` HU. */
  lungOffset(y: number): number {
    const f = (this.cageCy - y) / this.cageB;
    return f > 0 ? this.lungGrad * Math.min(1, f) : 0;
  }

  /** The tissue at a point (mm). */
  classify(x: number, y: number, z: number): number {
    // Body outline: half-ellipses joined at bodyCy, the back cut flat by the table.
    const ry = y - this.bodyCy;
    const bx = x / this.bodyA;
    const by = ry / (ry >= 0 ? this.bodyBAnt : this.bodyBPost);
    const rho2 = bx * bx + by * by;
    if (rho2 > 1 || y < this.bodyYMin) return TISSUE.air;
    const rho = Math.sqrt(rho2);
    const depth = Math.min(rho > 1e-6 ? Math.sqrt(x * x + ry * ry) * (1 / rho - 1) : Infinity, y - this.bodyYMin);
    if (depth < this.skinMm) return TISSUE.skin;
    if (depth < this.skinMm + this.fatMm) return TISSUE.fat;

    // Spine: vertebral bodies with discs, canal, posterior elements.
    const spineT = this.spineClass(x, y, z);
    if (spineT >= 0) return spineT;

    // Sternum.
    const ax = Math.abs(x);
    if (ax < this.sternumHalfW && y >= this.sternumIn && y <= this.sternumOut) {
      const edge = Math.min(this.sternumHalfW - ax, y - this.sternumIn, this.sternumOut - y);
      return edge < this.cortexMm ? TISSUE.corticalBone : TISSUE.marrow;
    }

    // Outside the pleura: ribs and chest-wall muscle.
    const cx = x / this.cageA;
    const cy = (y - this.cageCy) / this.cageB;
    const rc2 = cx * cx + cy * cy;
    if (rc2 > 1) return this.ribClass(x, y, z, rc2);

    // Thoracic cavity. Posterior mediastinum first.
    let dx = x - this.dAortaX;
    let dy = y - this.dAortaY;
    const dA2 = dx * dx + dy * dy;
    if (dA2 <= this.dAortaR * this.dAortaR) return TISSUE.blood;
    dx = x - this.esoX;
    dy = y - this.esoY;
    const dE2 = dx * dx + dy * dy;
    if (dE2 <= this.esoR * this.esoR) return dE2 < 4 ? TISSUE.gas : TISSUE.muscle;

    // Aortic root and ascending aorta.
    const dRoot = capsuleDistance(x, y, z, this.rootC, this.ascTop);
    const px = x - this.rootC[0];
    const py = y - this.rootC[1];
    const pz = z - this.rootC[2];
    const pr2 = px * px + py * py + pz * pz;
    if (pr2 <= this.rootR * this.rootR || dRoot <= this.ascR) return TISSUE.blood;

    // Coronaries: lumen, then the thin fat sleeve that makes them visible.
    const sd = this.coronaryTubes.query(x, y, z);
    if (sd <= 0) return TISSUE.coronary;
    if (sd <= this.sleeveMm) return TISSUE.fat;

    // Pulmonary trunk and superior vena cava.
    const dPa = capsuleDistance(x, y, z, this.paA, this.paB);
    if (dPa <= this.paR) return TISSUE.blood;
    const dSx = x - this.svcX;
    const dSy = y - this.svcY;
    const dSvc = Math.sqrt(dSx * dSx + dSy * dSy);
    if (z >= this.svcZ0 && dSvc <= this.svcR) return TISSUE.blood;

    // Heart: myocardium and cavities, epicardial fat, pericardium.
    let nearHeart = false;
    const hx = x - this.hc[0];
    const hy = y - this.hc[1];
    const hz = z - this.hc[2];
    if (hx * hx + hy * hy + hz * hz < this.hR2) {
      const heartT = this.heartClass(hx, hy, hz);
      if (heartT >= 0) return heartT;
      nearHeart = heartT === -2;
    }

    // Diaphragm, liver (right) and upper abdomen (left) under the domes.
    const rx = x - this.domeRx;
    const rdy = y - this.domeRy;
    const lx = x - this.domeLx;
    const ldy = y - this.domeLy;
    const zr = this.domeRz - this.domeK * (rx * rx + rdy * rdy);
    const zl = this.domeLz - this.domeK * (lx * lx + ldy * ldy);
    const zDome = zr > zl ? zr : zl;
    if (z < zDome) return zr > zl ? TISSUE.liver : TISSUE.abdomen;
    if (z < zDome + 4) return TISSUE.muscle;

    // Mediastinal fat: around the heart and vessels, and the central column from spine to sternum.
    if (nearHeart) return TISSUE.fat;
    if (Math.abs(x - this.columnX) < this.columnHalfW && y > this.spineY + this.spineRy - 4) return TISSUE.fat;
    if (dA2 < this.aortaFat2 || dE2 < this.esoFat2) return TISSUE.fat;
    if (dRoot < this.ascR + 8 || pr2 < this.rootFat2 || dPa < this.paR + 6) return TISSUE.fat;
    if (z >= this.svcZ0 - 5 && dSvc < this.svcR + 5) return TISSUE.fat;

    if (this.lungTubes.query(x, y, z) <= 0) return TISSUE.blood;
    return TISSUE.lung;
  }

  /** Spine tissue at a point, or -1 outside the spine. */
  private spineClass(x: number, y: number, z: number): number {
    const ax = Math.abs(x);
    if (ax > this.canalR + this.transverseMm + 1 || y > this.spineY + this.spineRy + 1) return -1;
    if (y < this.canalY - this.canalR - this.spinousMm - 1) return -1;
    const L = this.levelMm;
    let ph = (z - this.spineZ0) % L;
    if (ph < 0) ph += L;
    const D = this.discMm;
    const c = this.cortexMm;
    const sx = x / this.spineRx;
    const sy = (y - this.spineY) / this.spineRy;
    const e2 = sx * sx + sy * sy;
    if (e2 <= 1) {
      if (ph < D) return TISSUE.disc;
      return Math.sqrt(e2) > 1 - c / this.spineRy || ph < D + c || ph > L - c ? TISSUE.corticalBone : TISSUE.marrow;
    }
    const dyc = y - this.canalY;
    const rc = Math.sqrt(x * x + dyc * dyc);
    if (rc < this.canalR) return TISSUE.csf;
    // Posterior elements occupy part of each level (level phase p in [lo, hi] of the bony part).
    const span = L - D;
    let edge = -1;
    // Pedicles and laminae: a ring around the canal, open towards the vertebral body.
    if (rc < this.canalR + this.laminaMm && dyc < this.spineRy * 0.3 && ph >= D + 0.05 * span && ph <= D + 0.8 * span) {
      edge = Math.min(rc - this.canalR, this.canalR + this.laminaMm - rc);
    } else if (
      // Transverse processes.
      dyc < 4.5 &&
      dyc > -4.5 &&
      ax > this.canalR &&
      ax < this.canalR + this.transverseMm &&
      ph >= D + 0.15 * span &&
      ph <= D + 0.6 * span
    ) {
      edge = Math.min(4.5 - Math.abs(dyc), this.canalR + this.transverseMm - ax);
    } else {
      // Spinous process, sloping down as it runs back.
      const back = -dyc - this.canalR;
      if (ax < 3.5 && back > 0 && back < this.spinousMm) {
        let ps = (ph + 0.6 * back) % L;
        if (ps < 0) ps += L;
        if (ps >= D + 0.2 * span && ps <= D + 0.85 * span) edge = 3.5 - ax;
      }
    }
    if (edge < 0) return -1;
    return edge < c ? TISSUE.corticalBone : TISSUE.marrow;
  }

  /** Ribs, costal cartilage or chest-wall muscle, outside the pleura (rc2 > 1). */
  private ribClass(x: number, y: number, z: number, rc2: number): number {
    const rc = Math.sqrt(rc2);
    const yy = y - this.cageCy;
    const out = Math.sqrt(x * x + yy * yy) * (1 - 1 / rc);
    const thick = this.ribGap + 2 * this.ribHalfT;
    if (out > thick + 0.5) return TISSUE.muscle;
    const alpha = Math.atan2(Math.abs(x), -yy); // 0 at the back, pi at the front
    if (alpha < this.ribStart) return TISSUE.muscle;
    const q = alpha / Math.PI;
    // Ribs run down and forward, steeper towards the front: the anterior end sits
    // ribDrop mm (about three intercostal spaces) below the posterior end.
    const u = (z - this.ribZ0 + this.ribDrop * q * (0.4 + 0.6 * q)) / this.ribPitch;
    const dz = (u - Math.round(u)) * this.ribPitch;
    const er0 = (out - this.ribGap - this.ribHalfT) / this.ribHalfT;
    const er1 = dz / this.ribHalfH;
    const er = er0 * er0 + er1 * er1;
    if (er > 1) return TISSUE.muscle;
    if (alpha > this.ribEnd) return Math.abs(x) >= this.sternumHalfW ? TISSUE.cartilage : TISSUE.muscle;
    return Math.sqrt(er) > 1 - this.cortexMm / this.ribHalfT ? TISSUE.corticalBone : TISSUE.marrow;
  }

  /** Heart tissue at offset (hx, hy, hz) from its centre; -2 just outside (paracardial fat), -1 far. */
  private heartClass(hx: number, hy: number, hz: number): number {
    const h = this.heart;
    const q1 = hx * h.e1[0] + hy * h.e1[1] + hz * h.e1[2];
    const q2 = hx * h.e2[0] + hy * h.e2[1] + hz * h.e2[2];
    const q3 = hx * h.e3[0] + hy * h.e3[1] + hz * h.e3[2];
    const u = q1 / h.a;
    const v = q2 / h.b;
    const w = q3 / h.cc;
    const s2 = u * u + v * v + w * w;
    if (s2 <= 1) return cavity(u, v, w, Math.sqrt(s2)) ? TISSUE.blood : TISSUE.myocardium;
    const s = Math.sqrt(s2);
    const out = Math.sqrt(q1 * q1 + q2 * q2 + q3 * q3) * (1 - 1 / s);
    // Epicardial fat is thicker towards the base (atrioventricular groove).
    const fe = this.fe * (1 + 0.6 * Math.max(0, -u - 0.2));
    if (out <= fe) return TISSUE.fat;
    if (out <= fe + 1.2) return TISSUE.pericardium;
    return out <= fe + 9 ? -2 : -1;
  }
}

/** Squared normalised radius of (u, v, w) in the ellipsoid centred (cu, cv, cw) with semi-axes (su, sv, sw). */
function ell(u: number, v: number, w: number, cu: number, cv: number, cw: number, su: number, sv: number, sw: number): number {
  const a = (u - cu) / su;
  const b = (v - cv) / sv;
  const c = (w - cw) / sw;
  return a * a + b * b + c * c;
}

/** Chambers in the heart's normalised frame: LV (thick wall), RV, LA, RA. */
function cavity(u: number, v: number, w: number, s: number): boolean {
  const lv = ell(u, v, w, 0.1, -0.3, -0.15, 0.62, 0.42, 0.45);
  if (lv <= 1) return s < 0.8;
  if (lv > 1.7 && ell(u, v, w, 0.0, 0.42, 0.25, 0.55, 0.32, 0.5) <= 1) return s < 0.9;
  if (ell(u, v, w, -0.68, -0.35, -0.15, 0.3, 0.4, 0.45) <= 1) return s < 0.94;
  if (ell(u, v, w, -0.62, 0.2, 0.45, 0.32, 0.35, 0.35) <= 1) return s < 0.94;
  return false;
}

/** Distance from (x, y, z) to the segment a-b. */
function capsuleDistance(x: number, y: number, z: number, a: Vec3, b: Vec3): number {
  const ux = b[0] - a[0];
  const uy = b[1] - a[1];
  const uz = b[2] - a[2];
  const px = x - a[0];
  const py = y - a[1];
  const pz = z - a[2];
  let t = (px * ux + py * uy + pz * uz) / (ux * ux + uy * uy + uz * uz);
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const dx = px - t * ux;
  const dy = py - t * uy;
  const dz = pz - t * uz;
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}

/**
 * The coronary tree on the heart surface, as (t, phi) control points (see
 * Heart.surface): t = -1 at the base, 1 at the apex; phi = 0 faces the
 * anterior (right-ventricular) surface, +90 the acute margin, 180 the
 * posterior left-ventricular wall, -90 the left (obtuse) margin. The left main
 * and right coronary start at the aortic root; the LCX runs in the left
 * atrioventricular groove, the LAD in the anterior interventricular groove, the
 * RCA in the right AV groove and on as the posterior descending artery.
 */
function buildCoronaries(h: Heart, rootC: Vec3, rootR: number, bif: Vec3, r: Rng): Vessel[] {
  const j = (x: number) => x + r.uniform(-1, 1) * 0.04; // small per-phantom wobble in t
  const p = (x: number) => x + r.uniform(-6, 6); // and in phi (degrees)
  const S = (t: number, phi: number) => h.surface(j(t), p(phi));

  const make = (name: string, artery: 1 | 2 | 3, ctrl: Vec3[], r0: number, r1: number, fromRoot: boolean): Vessel => {
    const raw = catmullRom(ctrl, 0.5);
    const rawArc = arcLengths(raw);
    const total = rawArc[rawArc.length - 1]!;
    const radii = rawArc.map((s) => r0 + ((r1 - r0) * s) / total);
    const points = raw.map((q, i) => {
      const onSurface = h.project(q, radii[i]! + 0.6);
      // Near the aortic root the vessel leaves the surface to join the root.
      const w = fromRoot ? smoothstep((len(sub(q, rootC)) - rootR) / 6) : 1;
      return add(scale(q, 1 - w), scale(onSurface, w));
    });
    const arc = arcLengths(points);
    let ostium = 0;
    if (fromRoot) {
      const i = points.findIndex((q) => len(sub(q, rootC)) > rootR + 1.5);
      ostium = arc[Math.max(0, i)]!;
    }
    return { name, artery, points, radii, arc, ostiumMm: ostium, leftMainMm: 0 };
  };

  const lad = make(
    'LAD',
    1,
    [rootC, bif, S(-0.2, -33), S(0.2, -30), S(0.55, -26), S(0.93, -16)],
    r.uniform(1.9, 2.3),
    r.uniform(0.7, 0.9),
    true,
  );
  // The left main ends at the sample nearest the bifurcation control point.
  let bi = 0;
  lad.points.forEach((q, i) => {
    if (len(sub(q, bif)) < len(sub(lad.points[bi]!, bif))) bi = i;
  });
  lad.leftMainMm = lad.arc[bi]!;
  const ladAt = (f: number) => lad.points[Math.round(bi + f * (lad.points.length - 1 - bi))]!;

  const lcx = make(
    'LCX',
    2,
    [lad.points[bi]!, S(-0.52, -60), S(-0.5, -95), S(-0.47, -130), S(-0.42, -168)],
    r.uniform(1.6, 1.9),
    r.uniform(0.8, 1.0),
    false,
  );
  const d1 = make('D1', 1, [ladAt(0.25), S(0.1, -58), S(0.4, -80), S(0.7, -95)], 1.1, 0.6, false);
  const om1 = make(
    'OM1',
    2,
    [lcx.points[Math.round(lcx.points.length * 0.45)]!, S(-0.1, -118), S(0.25, -122), S(0.55, -126)],
    1.1,
    0.6,
    false,
  );
  const rca = make(
    'RCA',
    3,
    [rootC, S(-0.55, 20), S(-0.5, 50), S(-0.45, 85), S(-0.4, 115), S(-0.36, 140), S(-0.1, 146), S(0.3, 150), S(0.62, 152)],
    r.uniform(1.8, 2.1),
    r.uniform(0.7, 0.9),
    true,
  );
  return [lad, d1, lcx, om1, rca];
}
