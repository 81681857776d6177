/**
 * Where the scanner preset puts calcium that is not coronary, each kind by
 * chance and independently of the coronary burden (so it also appears alone in
 * scans with no coronary calcium), sized and dense like real ones:
 * - aortic wall plaques on the ascending aorta, the arch and the descending aorta;
 * - aortic valve nodules on the cusps, inside the root just above the ventricle;
 * - mitral annular calcification: a crescent along the posterior annulus,
 *   which runs a few mm inside the left AV groove and so near the LCX;
 * - mitral leaflet nodules;
 * - calcified patches of the costal cartilages.
 * Only calcifications whose centre lies in the grid are kept.
 */

import type { Rng } from '../base/rng.js';
import type { Anatomy } from './anatomy.js';
import type { Blob } from './blob.js';
import type { Grid } from './grid.js';
import type { Calcification } from './noncoronary-calcium.js';
import { TISSUE } from './tissue.js';
import { DEG, addScaled, cross, normalize, sub, type Vec3 } from './vec.js';

/** Unit vectors p, q with (p, q, n) orthonormal. */
function planeBasis(n: Vec3): [Vec3, Vec3] {
  const ref: Vec3 = Math.abs(n[2]) < 0.9 ? [0, 0, 1] : [1, 0, 0];
  const p = normalize(cross(n, ref));
  return [p, cross(n, p)];
}

function inGrid(g: Grid, c: Vec3): boolean {
  const i = (g.ox - c[0]) / g.dx;
  const j = (g.oy - c[1]) / g.dy;
  const k = (c[2] - g.oz) / g.dz;
  return i >= 0 && j >= 0 && k >= 0 && i <= g.nx - 1 && j <= g.ny - 1 && k <= g.nz - 1;
}

/** A point on the aorta's axis in the scan, its direction and radius; null when no aorta is in range. */
function aortaSite(r: Rng, anat: Anatomy, zlo: number, zhi: number): { p: Vec3; t: Vec3; radius: number } | null {
  const gv = anat.great;
  const pm = anat.posterior;
  const sites: Array<{ p: Vec3; t: Vec3; radius: number }> = [];
  // Ascending aorta (above the root sphere).
  const asc = sub(gv.ascTop, gv.rootC);
  const u = r.uniform(0.15, 1);
  const pa = addScaled(gv.rootC, asc, u);
  if (pa[2] >= zlo && pa[2] <= zhi) sites.push({ p: pa, t: normalize(asc), radius: gv.ascR });
  // Arch.
  if (anat.arch) {
    const n = anat.arch.points.length;
    const i = Math.min(n - 2, Math.floor(r.float() * (n - 1)));
    const p = anat.arch.points[i]!;
    if (p[2] >= zlo && p[2] <= zhi) sites.push({ p, t: normalize(sub(anat.arch.points[i + 1]!, p)), radius: anat.arch.radii[i]! });
  }
  // Descending aorta (below the arch), weighted double: it calcifies most.
  const top = anat.arch ? Math.min(zhi, anat.arch.topZ) : zhi;
  if (top > zlo) {
    const z = r.uniform(zlo, top);
    const d = { p: [pm.dAortaX, pm.dAortaY, z] as Vec3, t: [0, 0, 1] as Vec3, radius: pm.dAortaR };
    sites.push(d, d);
  }
  return sites.length ? sites[r.int(0, sites.length - 1)]! : null;
}

function aorticWall(r: Rng, anat: Anatomy, zlo: number, zhi: number): Calcification[] {
  const out: Calcification[] = [];
  const count = r.int(1, 6);
  for (let n = 0; n < count; n++) {
    const site = aortaSite(r, anat, zlo, zhi);
    if (!site) break;
    const [p, q] = planeBasis(site.t);
    const th = r.uniform(0, 2 * Math.PI);
    const radial = normalize(addScaled([p[0] * Math.cos(th), p[1] * Math.cos(th), p[2] * Math.cos(th)], q, Math.sin(th)));
    const blob: Blob = {
      c: addScaled(site.p, radial, site.radius),
      axes: [site.t, radial, cross(site.t, radial)],
      semi: [r.logUniform(1, 8), r.uniform(0.4, 1.5), r.uniform(1, Math.min(6, site.radius))],
    };
    out.push({ kind: 'aortic-wall', blobs: [blob], densityHU: r.logUniform(200, 1300) });
  }
  return out;
}

/** Nodules on 1-3 cusps, in the annulus plane a little inside the root. */
function aorticValve(r: Rng, anat: Anatomy): Calcification[] {
  const gv = anat.great;
  const n = normalize(sub(anat.heart.c, gv.rootC));
  const centre = addScaled(gv.rootC, n, gv.rootR * 0.5);
  const [p, q] = planeBasis(n);
  const th0 = r.uniform(0, 2 * Math.PI);
  const out: Calcification[] = [];
  const cusps = r.int(1, 3);
  for (let k = 0; k < cusps; k++) {
    const th = th0 + (k * 2 * Math.PI) / 3 + r.uniform(-0.3, 0.3);
    const dir = normalize(addScaled([p[0] * Math.cos(th), p[1] * Math.cos(th), p[2] * Math.cos(th)], q, Math.sin(th)));
    const blob: Blob = {
      c: addScaled(centre, dir, gv.rootR * r.uniform(0.45, 0.65)),
      axes: [cross(n, dir), dir, n],
      semi: [r.uniform(1, 3.5), r.uniform(1, 3), r.uniform(0.8, 2)],
    };
    out.push({ kind: 'aortic-valve', blobs: [blob], densityHU: r.logUniform(300, 1500) });
  }
  return out;
}

/** The mitral annulus: a ring between the left atrium and ventricle, normal to the heart's long axis. */
function mitralRing(r: Rng, anat: Anatomy) {
  const h = anat.heart;
  const centre = [-0.42 * h.a, -0.3 * h.b, -0.12 * h.cc] as Vec3;
  const radius = h.b * r.uniform(0.3, 0.38);
  const at = (phiDeg: number, rho: number): Vec3 =>
    h.toWorld([centre[0], centre[1] + rho * Math.cos(phiDeg * DEG), centre[2] + rho * Math.sin(phiDeg * DEG)]);
  const radial = (phiDeg: number): Vec3 => normalize(addScaled([h.e2[0] * Math.cos(phiDeg * DEG), h.e2[1] * Math.cos(phiDeg * DEG), h.e2[2] * Math.cos(phiDeg * DEG)], h.e3, Math.sin(phiDeg * DEG)));
  return { radius, at, radial, normal: h.e1 };
}

/** Mitral annular calcification: a crescent on the posterior (LCX) side, chained blobs along the ring. */
function mitralAnnulus(r: Rng, anat: Anatomy): Calcification[] {
  const ring = mitralRing(r, anat);
  const mid = r.uniform(-165, -105);
  const extent = r.uniform(30, 200);
  const thick = r.uniform(1.2, 2.8);
  const tall = r.uniform(1.5, 3.5);
  const step = (2 / ring.radius) / DEG; // blobs every ~2 mm of arc
  const blobs: Blob[] = [];
  for (let phi = mid - extent / 2; phi <= mid + extent / 2; phi += step) {
    const u = (phi - mid) / (extent / 2);
    const taper = Math.max(0.4, Math.sqrt(Math.max(0, 1 - u * u)));
    const radial = ring.radial(phi);
    blobs.push({ c: ring.at(phi, ring.radius), axes: [cross(ring.normal, radial), radial, ring.normal], semi: [1.6, thick * taper, tall * taper] });
  }
  return [{ kind: 'mitral-annulus', blobs, densityHU: r.logUniform(300, 1100) }];
}

function mitralLeaflets(r: Rng, anat: Anatomy): Calcification[] {
  const ring = mitralRing(r, anat);
  const out: Calcification[] = [];
  const count = r.int(1, 3);
  for (let k = 0; k < count; k++) {
    const phi = r.uniform(-200, -80);
    const radial = ring.radial(phi);
    const blob: Blob = {
      c: ring.at(phi, ring.radius * r.uniform(0.3, 0.7)),
      axes: [cross(ring.normal, radial), radial, ring.normal],
      semi: [r.uniform(0.8, 2), r.uniform(0.8, 2), r.uniform(0.8, 1.6)],
    };
    out.push({ kind: 'mitral-valve', blobs: [blob], densityHU: r.logUniform(250, 900) });
  }
  return out;
}

/** Patches of calcified costal cartilage, chained along a cartilage between rib end and sternum. */
function costalCartilage(r: Rng, anat: Anatomy, zlo: number, zhi: number): Calcification[] {
  const s = anat.skeleton;
  const out: Calcification[] = [];
  const count = r.int(1, 4);
  // The centreline of rib k's cartilage at angle alpha from the back (see ribTissue).
  const point = (side: number, k: number, alpha: number): Vec3 => {
    const t = 1 / Math.hypot(Math.sin(alpha) / s.cageA, Math.cos(alpha) / s.cageB);
    const rad = t + s.ribGap + s.ribHalfT;
    const q = alpha / Math.PI;
    return [side * rad * Math.sin(alpha), s.cageCy - rad * Math.cos(alpha), s.ribZ0 + k * s.ribPitch - s.ribDrop * q * (0.4 + 0.6 * q)];
  };
  for (let n = 0; n < count * 4 && out.length < count; n++) {
    const side = r.chance(0.5) ? 1 : -1;
    const alpha = r.uniform(s.ribEnd + 0.05, Math.PI - 0.05);
    // The rib whose cartilage passes nearest the middle of the scan at this angle.
    const k = Math.round((0.5 * (zlo + zhi) - point(side, 0, alpha)[2]) / s.ribPitch) + r.int(-2, 2);
    const c = point(side, k, alpha);
    if (c[2] < zlo || c[2] > zhi || anat.classify(c[0], c[1], c[2]) !== TISSUE.cartilage) continue;
    const length = r.uniform(2, 14);
    const halfAngle = length / 2 / Math.hypot(c[0], c[1] - s.cageCy);
    const across = r.uniform(0.8, s.ribHalfT * 0.8);
    const high = r.uniform(0.8, s.ribHalfH * 0.6);
    const blobs: Blob[] = [];
    for (let a = alpha - halfAngle; a <= alpha + halfAngle + 1e-9; a += Math.max(halfAngle / 3, 0.005)) {
      const p = point(side, k, a);
      if (anat.classify(p[0], p[1], p[2]) !== TISSUE.cartilage) continue;
      const along = normalize(sub(point(side, k, a + 0.01), p));
      const out2 = normalize([p[0], p[1] - s.cageCy, 0]);
      blobs.push({ c: p, axes: [along, out2, normalize(cross(along, out2))], semi: [1.5, across, high] });
    }
    if (blobs.length) out.push({ kind: 'costal-cartilage', blobs, densityHU: r.logUniform(200, 800) });
  }
  return out;
}

/** The scanner preset's non-coronary calcium for one patient and grid. */
export function drawNonCoronaryCalcium(r: Rng, anat: Anatomy, g: Grid): Calcification[] {
  const zlo = g.oz;
  const zhi = g.oz + (g.nz - 1) * g.dz;
  const all: Calcification[] = [];
  if (r.chance(0.45)) all.push(...aorticWall(r.fork('aortic-wall'), anat, zlo, zhi));
  if (r.chance(0.2)) all.push(...aorticValve(r.fork('aortic-valve'), anat));
  if (r.chance(0.2)) all.push(...mitralAnnulus(r.fork('mitral-annulus'), anat));
  if (r.chance(0.1)) all.push(...mitralLeaflets(r.fork('mitral-valve'), anat));
  if (r.chance(0.5)) all.push(...costalCartilage(r.fork('costal-cartilage'), anat, zlo, zhi));
  return all.filter((c) => c.blobs.length > 0 && inGrid(g, c.blobs[Math.floor(c.blobs.length / 2)]!.c));
}
