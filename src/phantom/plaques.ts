/**
 * Where calcified plaques go and what shape they take: ellipsoids in the
 * coronary wall, proximal-weighted, LAD most often, clear of bone and of the
 * grid's edges. Their size follows from a volume that calibration scales.
 */

import type { Rng } from '../base/rng.js';
import type { Anatomy } from './anatomy.js';
import type { Blob } from './blob.js';
import { vesselAt } from './coronary-tree.js';
import type { Grid } from './grid.js';
import { addScaled, cross, dot, normalize, sub, type Vec3 } from './vec.js';

/** Plaque shape limits (semi-axes, mm): radial and around the vessel (then volume goes into length). */
const MAX_RADIAL_SEMI_MM = 1.5;
const MAX_CIRC_SEMI_MM = 2.5;
/** Spacing of the blobs of a plaque that follows the vessel (mm). */
const CHAIN_STEP_MM = 0.8;

/** What plaques a preset makes. */
export interface PlaqueStyle {
  /** Largest volume one plaque is designed with (mm^3); heavier burdens get more plaques. */
  maxVolumeMm3: number;
  /** Longest semi-axis along the vessel (mm); past it every axis grows. */
  maxLengthSemiMm: number;
  /** Plaques with a longer semi-axis (mm) follow the vessel's curve as a chain of blobs. */
  chainAboveSemiMm: number;
  /** Density before partial volume (HU), drawn log-uniform. */
  densityHU: [number, number];
  /** Volume of the tiny specks around and below the 1.5 mm^3 rule (mm^3), and how many a design has. */
  tinyMm3: [number, number];
  tinyCount: [number, number];
}

/** The small and realistic presets: ellipsoids up to 12 mm long. */
export const LEGACY_PLAQUES: PlaqueStyle = {
  maxVolumeMm3: 70,
  maxLengthSemiMm: 6,
  chainAboveSemiMm: Infinity,
  densityHU: [230, 1200],
  tinyMm3: [0.05, 0.4],
  tinyCount: [0, 2],
};

/** The scanner preset: also long dense plaques along the vessel (up to 50 mm, 1600 HU). */
export const SCANNER_PLAQUES: PlaqueStyle = {
  maxVolumeMm3: 400,
  maxLengthSemiMm: 25,
  chainAboveSemiMm: 3,
  densityHU: [200, 1600],
  tinyMm3: [0.3, 2],
  tinyCount: [1, 3],
};

/** A plaque's random layout; its size follows from a volume scale during calibration. */
export interface PlaqueLayout {
  vessel: number;
  arcMm: number;
  /** Angle around the vessel (rad). */
  psi: number;
  /** Relative semi-axes: along the vessel, radial, circumferential. */
  aspect: Vec3;
  densityHU: number;
  /** Labelled volume aimed at before scaling (mm^3); fixed for tiny sub-threshold specks. */
  volumeMm3: number;
  tiny: boolean;
}

/** A plaque's shape: its envelope (centre, axes and semi-axes, for meta) and the blobs rendered. */
export interface PlaqueShape {
  blob: Blob;
  parts: Blob[];
}

export interface Plaque extends PlaqueLayout, PlaqueShape {
  artery: 1 | 2 | 3;
}

/** The Agatston density weight a plaque's peak will roughly get after partial volume. */
function expectedWeight(densityHU: number): number {
  const p = 0.8 * densityHU;
  return p >= 400 ? 4 : p >= 300 ? 3 : p >= 200 ? 2 : 1;
}

export class PlaqueSampler {
  /** `blocked`: bone (with its blur halo) and other calcium, which plaques keep 3 mm away from. */
  constructor(
    private readonly anat: Anatomy,
    private readonly g: Grid,
    private readonly blocked: Uint8Array,
    private readonly style: PlaqueStyle,
  ) {}

  /** Oriented ellipsoid in the vessel wall at arc length s (semi-axes along, radial, around). */
  private wallBlob(l: PlaqueLayout, s: number, semi: Vec3): Blob {
    const v = this.anat.vessels[l.vessel]!;
    const at = vesselAt(v, s);
    // Reference normal: away from the heart centre, so psi = 0 is the epicardial side.
    const out = sub(at.p, this.anat.heart.c);
    const n = normalize(sub(out, [at.t[0] * dot(out, at.t), at.t[1] * dot(out, at.t), at.t[2] * dot(out, at.t)]));
    const b = cross(at.t, n);
    const radial = normalize(addScaled([n[0] * Math.cos(l.psi), n[1] * Math.cos(l.psi), n[2] * Math.cos(l.psi)], b, Math.sin(l.psi)));
    const circ = cross(at.t, radial);
    // Centre in the wall; thick plaques bulge both into the lumen and outwards.
    return { c: addScaled(at.p, radial, at.r * 0.9), axes: [at.t, radial, circ], semi };
  }

  /** The plaque of a layout at a volume (mm^3). */
  shapeFor(l: PlaqueLayout, volumeMm3: number): PlaqueShape {
    const st = this.style;
    const g = Math.cbrt(volumeMm3 / ((4 / 3) * Math.PI * l.aspect[0] * l.aspect[1] * l.aspect[2]));
    const semi: Vec3 = [l.aspect[0] * g, l.aspect[1] * g, l.aspect[2] * g];
    // Calcium grows along the vessel: past ~3 mm of thickness and ~5 mm around, volume goes into length.
    const vol = (4 / 3) * Math.PI * semi[0] * semi[1] * semi[2];
    semi[1] = Math.min(semi[1], MAX_RADIAL_SEMI_MM);
    semi[2] = Math.min(semi[2], MAX_CIRC_SEMI_MM);
    semi[0] = vol / ((4 / 3) * Math.PI * semi[1] * semi[2]);
    if (semi[0] > st.maxLengthSemiMm) {
      const f = Math.sqrt(semi[0] / st.maxLengthSemiMm);
      semi[0] = st.maxLengthSemiMm;
      semi[1] *= f;
      semi[2] *= f;
    }
    const blob = this.wallBlob(l, l.arcMm, semi);
    if (semi[0] <= st.chainAboveSemiMm) return { blob, parts: [blob] };
    // A long plaque follows the vessel: overlapping blobs along it, thinning towards both ends.
    const v = this.anat.vessels[l.vessel]!;
    const first = v.ostiumMm + 0.5;
    const last = v.arc[v.arc.length - 1]! - 0.5;
    const n = Math.ceil((2 * semi[0]) / CHAIN_STEP_MM) + 1;
    const parts: Blob[] = [];
    for (let q = 0; q < n; q++) {
      const u = -1 + (2 * q) / (n - 1);
      const taper = Math.max(0.35, Math.sqrt(1 - u * u));
      const s = Math.min(last, Math.max(first, l.arcMm + u * semi[0]));
      parts.push(this.wallBlob(l, s, [CHAIN_STEP_MM, semi[1] * taper, semi[2] * taper]));
    }
    return { blob, parts };
  }

  /** True when a blob of up to `reachMm` around `c` stays inside the grid and clear of blocked voxels. */
  placeable(c: Vec3, reachMm: number): boolean {
    const g = this.g;
    const fi = (g.ox - c[0]) / g.dx;
    const fj = (g.oy - c[1]) / g.dy;
    const fk = (c[2] - g.oz) / g.dz;
    const ri = Math.ceil(reachMm / g.dx);
    const rj = Math.ceil(reachMm / g.dy);
    const rk = Math.ceil(reachMm / g.dz);
    const margin = 1;
    if (fi - ri < margin || fj - rj < margin || fk < 0.5 || fi + ri > g.nx - 1 - margin || fj + rj > g.ny - 1 - margin) return false;
    if (fk > g.nz - 1.5) return false;
    const ci = Math.round(fi);
    const cj = Math.round(fj);
    const ck = Math.round(fk);
    // Bone and other calcium must stay well away (3 mm more than the plaque reaches).
    const bi = ri + Math.ceil(3 / g.dx);
    const bj = rj + Math.ceil(3 / g.dy);
    const bk = rk + 1;
    for (let k = Math.max(0, ck - bk); k <= Math.min(g.nz - 1, ck + bk); k++)
      for (let j = Math.max(0, cj - bj); j <= Math.min(g.ny - 1, cj + bj); j++)
        for (let i = Math.max(0, ci - bi); i <= Math.min(g.nx - 1, ci + bi); i++)
          if (this.blocked[i + g.nx * (j + g.ny * k)]) return false;
    return true;
  }

  /** Random plaque layouts sharing an Agatston goal; positions proximal-weighted, LAD most often. */
  layout(r: Rng, count: number, goal: number, tinyCount: number): PlaqueLayout[] {
    // count may grow below so that no plaque is implausibly big.
    const out: PlaqueLayout[] = [];
    const vessels = this.anat.vessels;
    // LAD (with LM and D1) ~45 %, LCX (with OM1) ~20 %, RCA ~35 % of calcium: registry proportions.
    const arteryWeights = [0.45, 0.2, 0.35];
    // Agatston ~ labelled volume x weight / 3 (area x slices x dz / 3), so volume ~ 3 A / w.
    const [dLo, dHi] = this.style.densityHU;
    const densities = Array.from({ length: count }, () => r.logUniform(dLo, dHi));
    const meanWeight = densities.reduce((a, d) => a + expectedWeight(d), 0) / Math.max(1, count);
    count = Math.min(40, Math.max(count, Math.ceil((3 * goal) / meanWeight / this.style.maxVolumeMm3)));
    while (densities.length < count) densities.push(r.logUniform(dLo, dHi));
    const shares = Array.from({ length: count }, () => Math.max(0.2, -Math.log(1 - r.float() * 0.999)));
    const shareSum = shares.reduce((a, b) => a + b, 0);
    for (let p = 0; p < count + tinyCount; p++) {
      const tiny = p >= count;
      const densityHU = tiny ? r.uniform(200, 700) : densities[p]!;
      const w = expectedWeight(densityHU);
      const volumeMm3 = tiny ? r.uniform(...this.style.tinyMm3) : Math.min(this.style.maxVolumeMm3, (3 * goal * (shares[p]! / shareSum)) / w);
      const aspect: Vec3 = [r.uniform(1.2, 3), r.uniform(0.5, 0.9), r.uniform(0.8, 1.4)];
      for (let attempt = 0; attempt < 40; attempt++) {
        const artery = (r.pick(arteryWeights) + 1) as 1 | 2 | 3;
        const candidates = vessels.map((v, i) => ({ v, i })).filter((e) => e.v.artery === artery);
        // Main vessel (listed first) 85 %, side branch 15 %.
        const pickIndex = candidates.length > 1 && r.chance(0.15) ? 1 + r.int(0, candidates.length - 2) : 0;
        const { v, i } = candidates[pickIndex]!;
        const length = v.arc[v.arc.length - 1]!;
        const s = v.ostiumMm + 1 + (length - v.ostiumMm - 3) * Math.pow(r.float(), 1.7);
        const layout: PlaqueLayout = { vessel: i, arcMm: s, psi: r.uniform(0, 2 * Math.PI), aspect, densityHU, volumeMm3, tiny };
        // Check with the largest size calibration may reach (4x volume).
        const { parts } = this.shapeFor(layout, volumeMm3 * 4);
        if (parts.every((b) => this.placeable(b.c, Math.max(...b.semi) + 1))) {
          out.push(layout);
          break;
        }
      }
    }
    return out;
  }
}
