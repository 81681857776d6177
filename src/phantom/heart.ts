/**
 * The heart: an ellipsoid (~12 x 9 x 7 cm) with its long axis pointing
 * anterior-left-inferior, four chambers inside, epicardial fat and the
 * pericardium around it. Non-contrast CT: blood and myocardium differ by a few
 * HU only, so the heart shows mainly against the fat around it.
 */

import type { Draws } from './draws.js';
import type { Skeleton } from './skeleton.js';
import { TISSUE } from './tissue.js';
import { DEG, add, addScaled, cross, dot, normalize, rotateAbout, scale, sub, type Vec3 } from './vec.js';

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

export interface HeartLayout {
  heart: Heart;
  /** Long-axis angle from the sagittal plane towards the left, tilt below the axial plane, roll (degrees). */
  anglesDeg: { azimuth: number; elevation: number; roll: number };
  /** Epicardial fat thickness (mm; thicker towards the base). */
  fatMm: number;
  /** Squared radius around the centre beyond which nothing is heart, fat or pericardium. */
  reach2: number;
}

/** Orientation, size and position: fitted between the sternum and the spine. */
export function drawHeart(d: Draws, s: Skeleton): HeartLayout {
  const azimuth = d.uniform('heartAzimuthDeg', 38, 55);
  const elevation = d.uniform('heartElevationDeg', 28, 45);
  const roll = d.uniform('heartRollDeg', -15, 15);
  const e1 = normalize([
    -Math.sin(azimuth * DEG) * Math.cos(elevation * DEG),
    Math.cos(azimuth * DEG) * Math.cos(elevation * DEG),
    -Math.sin(elevation * DEG),
  ]);
  const up: Vec3 = [0, 1, 0];
  let e2 = normalize(sub(up, scale(e1, dot(up, e1))));
  e2 = rotateAbout(e2, e1, roll * DEG);
  const e3 = cross(e1, e2);
  const size = d.uniform('heartSize', 0.92, 1.08);
  let ha = d.uniform('heartLongSemiAxisMm', 52, 60) * size;
  let hb = d.uniform('heartWideSemiAxisMm', 40, 46) * size;
  let hcc = d.uniform('heartNarrowSemiAxisMm', 34, 40) * size;
  const probe = new Heart([0, 0, 0], e1, e2, e3, ha, hb, hcc);
  const front = s.sternumIn - 7;
  // The left atrium may wrap around the oesophagus and aorta (painted first); only the spine is a hard stop.
  const back = s.spineY + s.spineRy + 2;
  let hy = probe.halfExtent(1);
  if (2 * hy > front - back) {
    const f = (front - back) / (2 * hy);
    ha *= f;
    hb *= f;
    hcc *= f;
    hy *= f;
  }
  const hcy = back + hy + d.uniform('heartAboveSpineSlackMm', 0, Math.max(0, front - back - 2 * hy));
  const hcx = d.uniform('heartXMm', -26, -14);
  const hcz = d.uniform('heartZMm', -4, 4);
  const heart = new Heart([hcx, hcy, hcz], e1, e2, e3, ha, hb, hcc);
  const fatMm = d.uniform('epicardialFatMm', 2.5, 7);
  return { heart, anglesDeg: { azimuth, elevation, roll }, fatMm, reach2: (ha + fatMm * 1.6 + 10) ** 2 };
}

/** Heart tissue at offset (hx, hy, hz) from its centre; -2 just outside (paracardial fat), -1 far. */
export function heartTissue(l: HeartLayout, hx: number, hy: number, hz: number): number {
  const h = l.heart;
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
  const fe = l.fatMm * (1 + 0.6 * Math.max(0, -u - 0.2));
  if (out <= fe) return TISSUE.fat;
  if (out <= fe + 1.2) return TISSUE.pericardium;
  return out <= fe + 9 ? -2 : -1;
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
