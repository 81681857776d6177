/**
 * The anatomy of the synthetic cardiac CT phantom: analytic shapes for a chest
 * at heart level and the coronary centrelines, with a point classifier
 * `classify(x, y, z) -> tissue` that the renderer samples.
 *
 * Coordinates are patient millimetres, RAS+ (+x patient right, +y anterior,
 * +z superior), origin near the middle of the chest at mid-heart level. Sizes
 * are adult averages with a random spread per phantom (chest CT anatomy texts
 * and the usual cardiac CT numbers).
 *
 * The layout is drawn part by part, in an order where each part only needs the
 * ones before it: skeleton (bounds the thoracic cavity), body wall, posterior
 * mediastinum, heart, great vessels, diaphragm, lungs, coronary tree. The draw
 * order is fixed: it is what makes a seed give the same patient.
 */

import { LEGACY_COURSE, drawCourse, drawCoronaryTree, drawLeftMainBifurcation, type CoronaryTree, type Vessel } from './coronary-tree.js';
import type { Draws } from './draws.js';
import { drawHeart, heartTissue, type Heart, type HeartLayout } from './heart.js';
import {
  airwayTissue,
  drawAirway,
  drawAorticArch,
  drawGreatVessels,
  drawPosteriorMediastinum,
  type Airway,
  type AorticArch,
  type GreatVessels,
  type PosteriorMediastinum,
} from './mediastinum.js';
import { drawSkeleton, ribTissue, spineTissue, sternumTissue, type Skeleton } from './skeleton.js';
import {
  armTissue,
  belowDiaphragmTissue,
  bodyWallTissue,
  buildLungVessels,
  drawArms,
  drawBodyWall,
  drawDiaphragm,
  hila,
  lungOffset,
  type Arms,
  type BodyWall,
  type Diaphragm,
} from './thorax.js';
import { TISSUE, TISSUE_NAMES, adjustTissueHU, drawTissueHU } from './tissue.js';
import { TubeSet } from './tubes.js';
import { capsuleDistance, type Vec3 } from './vec.js';

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

/**
 * One random anatomy. `classify` is the hot path (called tens of millions of
 * times for a 512 x 512 scan): it reads the parts' plain numeric fields.
 */
export class Anatomy {
  readonly tissueHU: Float32Array;
  readonly skeleton: Skeleton;
  readonly body: BodyWall;
  readonly posterior: PosteriorMediastinum;
  readonly heartLayout: HeartLayout;
  readonly great: GreatVessels;
  readonly diaphragm: Diaphragm;
  /** Extra HU of the posterior lung (gravity). */
  readonly lungGradHU: number;
  readonly lungTubes: TubeSet;
  readonly coronary: CoronaryTree;
  /** Scanner preset only: the aortic arch and arms hanging beside the chest (null when raised). */
  readonly arch: AorticArch | null = null;
  readonly arms: Arms | null = null;
  readonly airway: Airway | null = null;
  readonly summary: AnatomySummary;
  /** The descending aorta ends at the arch (no arch: it runs through the scan). */
  private readonly descendingTopZ: number;
  // Squared radii of the fat around vessels (hot path).
  private readonly aortaFat2: number;
  private readonly esoFat2: number;
  private readonly rootFat2: number;

  /**
   * `d`: the anatomy's stream and range table. `variant` 'scanner' adds what
   * the scanner preset varies on streams of its own (tissue calibration and
   * bone density, coronary course, the aortic arch, arms); 'legacy' draws
   * exactly what the small and realistic presets always drew.
   */
  constructor(d: Draws, variant: 'legacy' | 'scanner' = 'legacy') {
    const scanner = variant === 'scanner';
    const hu = d.fork('hu');
    this.tissueHU = drawTissueHU(hu);
    if (scanner) adjustTissueHU(this.tissueHU, hu);
    const r = d.fork('shape');
    this.skeleton = drawSkeleton(r);
    this.body = drawBodyWall(r, this.skeleton);
    this.posterior = drawPosteriorMediastinum(r, this.skeleton);
    this.heartLayout = drawHeart(r, this.skeleton);
    const cr = r.fork('coronary');
    const bifurcation = drawLeftMainBifurcation(cr, this.heart);
    let great = drawGreatVessels(r, bifurcation, this.heart.c);
    this.diaphragm = drawDiaphragm(r, this.skeleton, this.heart);
    this.lungGradHU = r.uniform('lungGradientHU', 20, 60);
    const course = scanner ? drawCourse(d.fork('course')) : LEGACY_COURSE;
    this.coronary = drawCoronaryTree(r, cr, this.heart, great.rootC, great.rootR, bifurcation, course);
    this.lungTubes = new TubeSet(buildLungVessels(d.rng.fork('lung'), this.skeleton, this.heart), 0, 8);
    if (scanner) {
      const withArch = drawAorticArch(d.fork('arch'), great, this.posterior);
      great = withArch.great;
      this.arch = withArch.arch;
      this.arms = drawArms(d.fork('arms'), this.body);
      this.airway = drawAirway(d.fork('airway'), great, this.posterior, withArch.arch, hila(this.skeleton, this.heart), this.skeleton.spineY + this.skeleton.spineRy);
    }
    this.great = great;
    this.descendingTopZ = this.arch ? this.arch.topZ : Infinity;

    this.aortaFat2 = (this.posterior.dAortaR + 5) * (this.posterior.dAortaR + 5);
    this.esoFat2 = (this.posterior.esoR + 4) * (this.posterior.esoR + 4);
    this.rootFat2 = (this.great.rootR + 6) * (this.great.rootR + 6);
    this.summary = this.summarise();
  }

  get heart(): Heart {
    return this.heartLayout.heart;
  }

  get vessels(): Vessel[] {
    return this.coronary.vessels;
  }

  private summarise(): AnatomySummary {
    const hu: Record<string, number> = {};
    TISSUE_NAMES.forEach((n, i) => (hu[n] = Math.round(this.tissueHU[i]! * 10) / 10));
    const h = this.heart;
    return {
      bodyWidthMm: 2 * this.body.bodyA,
      bodyDepthMm: this.body.bodyYMax - this.body.bodyYMin,
      subcutaneousFatMm: this.body.fatMm,
      heartCenterMm: [...h.c],
      heartLongAxis: h.e1,
      heartSemiAxesMm: [h.a, h.b, h.cc],
      heartAnglesDeg: { ...this.heartLayout.anglesDeg },
      epicardialFatMm: this.heartLayout.fatMm,
      tissueHU: hu,
    };
  }

  /** Inside the pleural boundary (the rib cage's inner ellipse), with a 5% margin. */
  insideRibCage(x: number, y: number): boolean {
    const cx = x / this.skeleton.cageA;
    const cy = (y - this.skeleton.cageCy) / this.skeleton.cageB;
    return cx * cx + cy * cy <= 1.1;
  }

  /** Lung parenchyma is denser posteriorly (gravity). */
  lungOffset(y: number): number {
    return lungOffset(this.skeleton, this.lungGradHU, y);
  }

  /** The tissue at a point (mm): the parts in order of precedence. */
  classify(x: number, y: number, z: number): number {
    const wall = bodyWallTissue(this.body, x, y);
    if (wall === TISSUE.air && this.arms) {
      const arm = armTissue(this.arms, x, y);
      if (arm >= 0) return arm;
    }
    if (wall >= 0) return wall;

    const sk = this.skeleton;
    const spine = spineTissue(sk, x, y, z);
    if (spine >= 0) return spine;
    const sternum = sternumTissue(sk, x, y);
    if (sternum >= 0) return sternum;

    // Outside the pleura: ribs and chest-wall muscle.
    const cx = x / sk.cageA;
    const cy = (y - sk.cageCy) / sk.cageB;
    const rc2 = cx * cx + cy * cy;
    if (rc2 > 1) return ribTissue(sk, x, y, z, rc2);

    // Thoracic cavity. Posterior mediastinum first.
    const pm = this.posterior;
    let dx = x - pm.dAortaX;
    let dy = y - pm.dAortaY;
    const dA2 = z <= this.descendingTopZ ? dx * dx + dy * dy : Infinity;
    if (dA2 <= pm.dAortaR * pm.dAortaR) return TISSUE.blood;
    dx = x - pm.esoX;
    dy = y - pm.esoY;
    const dE2 = dx * dx + dy * dy;
    if (dE2 <= pm.esoR * pm.esoR) return dE2 < 4 ? TISSUE.gas : TISSUE.muscle;

    // Aortic root and ascending aorta.
    const gv = this.great;
    const dRoot = capsuleDistance(x, y, z, gv.rootC, gv.ascTop);
    const px = x - gv.rootC[0];
    const py = y - gv.rootC[1];
    const pz = z - gv.rootC[2];
    const pr2 = px * px + py * py + pz * pz;
    if (pr2 <= gv.rootR * gv.rootR || dRoot <= gv.ascR) return TISSUE.blood;
    const dArch = this.arch ? this.arch.tubes.query(x, y, z) : Infinity;
    if (dArch <= 0) return TISSUE.blood;

    // Coronaries: lumen, then the thin fat sleeve that makes them visible.
    const sd = this.coronary.tubes.query(x, y, z);
    if (sd <= 0) return TISSUE.coronary;
    if (sd <= this.coronary.sleeveMm) return TISSUE.fat;

    // Pulmonary trunk and superior vena cava.
    const dPa = capsuleDistance(x, y, z, gv.paA, gv.paB);
    if (dPa <= gv.paR) return TISSUE.blood;
    const dSx = x - gv.svcX;
    const dSy = y - gv.svcY;
    const dSvc = Math.sqrt(dSx * dSx + dSy * dSy);
    if (z >= gv.svcZ0 && dSvc <= gv.svcR) return TISSUE.blood;

    // Heart: myocardium and cavities, epicardial fat, pericardium.
    let nearHeart = false;
    const hl = this.heartLayout;
    const hc = hl.heart.c;
    const hx = x - hc[0];
    const hy = y - hc[1];
    const hz = z - hc[2];
    if (hx * hx + hy * hy + hz * hz < hl.reach2) {
      const heartT = heartTissue(hl, hx, hy, hz);
      if (heartT >= 0) return heartT;
      nearHeart = heartT === -2;
    }

    // The airway (scanner preset) gives way to the heart: the left bronchus runs just above the atrium.
    if (this.airway) {
      const air = airwayTissue(this.airway, x, y, z);
      if (air >= 0) return air;
    }

    const below = belowDiaphragmTissue(this.diaphragm, x, y, z);
    if (below >= 0) return below;

    // Mediastinal fat: around the heart and vessels, and the central column from spine to sternum.
    if (nearHeart) return TISSUE.fat;
    if (Math.abs(x - gv.columnX) < gv.columnHalfW && y > sk.spineY + sk.spineRy - 4) return TISSUE.fat;
    if (dA2 < this.aortaFat2 || dE2 < this.esoFat2) return TISSUE.fat;
    if (dRoot < gv.ascR + 8 || pr2 < this.rootFat2 || dPa < gv.paR + 6 || dArch < 8) return TISSUE.fat;
    if (z >= gv.svcZ0 - 5 && dSvc < gv.svcR + 5) return TISSUE.fat;

    if (this.lungTubes.query(x, y, z) <= 0) return TISSUE.blood;
    return TISSUE.lung;
  }
}
