/** What a phantom records about itself: its draws, its plaques, its own score. */

import { ARTERIES, type Artery } from '../io/volume.js';
import type { ArteryScore, ScanScore, ScoringConventions } from '../scoring/score.js';
import type { Anatomy, AnatomySummary } from './anatomy.js';
import type { CalcificationInfo, NonCoronaryInfo } from './noncoronary-calcium.js';
import type { Plaque } from './plaques.js';
import type { PhantomPreset } from './presets.js';
import type { Framing } from './scanner.js';
import type { PhantomSplit } from './scanner-ranges.js';
import { round3 } from './round.js';
import type { Vec3 } from './vec.js';

export interface PlaqueInfo {
  artery: Artery;
  /** 'LM', 'LAD', 'D1', 'LCX', 'OM1' or 'RCA'. */
  vessel: string;
  /** Distance along the vessel from its origin (mm). */
  arcMm: number;
  centerMm: Vec3;
  /** Along the vessel, radial, circumferential (mm). */
  semiAxesMm: Vec3;
  /** Density before partial volume and blur (HU). */
  densityHU: number;
  volumeMm3: number;
}

export interface PhantomScoreSummary {
  perArtery: Record<Artery, ArteryScore>;
  total: ArteryScore;
  riskCategory: number;
  riskLabel: string;
  conventions: ScoringConventions;
}

export interface PhantomMeta {
  generator: 'cacnet-phantom';
  version: 1;
  seed: number;
  preset: PhantomPreset;
  riskTarget: number;
  /** Category of meta.score; equals riskTarget unless riskMatched is false. */
  riskCategory: number;
  riskMatched: boolean;
  /** Total Agatston the plaque design aimed at (inside the target category). */
  agatstonGoal: number;
  /** Plaque renderings scored before the category was hit. */
  calibrationSteps: number;
  dims: [number, number, number];
  spacing: [number, number, number];
  noiseHU: number;
  blurMm: number;
  plaques: PlaqueInfo[];
  aorticCalcifications: CalcificationInfo[];
  anatomy: AnatomySummary;
  /** scoreScan of this phantom's CT and labels (lesion details left out). */
  score: PhantomScoreSummary;
  /** The scanner preset's acquisition and patient, for binning an evaluation. */
  scanner?: ScannerMeta;
}

export interface ScannerMeta {
  split: PhantomSplit;
  /** Heart-centred field of view, or the whole chest. */
  framing: Framing;
  fovMm: number;
  pixelMm: number;
  matrix: 256 | 512;
  sliceMm: number;
  /** White noise, or noise with the reconstruction kernel's grain. */
  noiseTexture: 'white' | 'psf';
  coronaryDominance: 'right' | 'co' | 'left';
  armsDown: boolean;
  /** Centre and bounding box of the heart (the myocardium's ellipsoid), patient mm (RAS+, as the affine). */
  heartCenterMm: Vec3;
  heartBoxMm: { min: Vec3; max: Vec3 };
  /** Calcium that is not coronary; the `nonCoronary` volume marks its voxels >= 130 HU. */
  nonCoronaryCalcium: NonCoronaryInfo[];
  /** Every parameter drawn for this phantom, by name (scanner-ranges.ts for those with ranges; categorical ones as indices). */
  parameters: Record<string, number>;
}

export function summariseScore(s: ScanScore): PhantomScoreSummary {
  const copy = (a: ArteryScore): ArteryScore => ({ ...a });
  return {
    perArtery: { LAD: copy(s.perArtery.LAD), LCX: copy(s.perArtery.LCX), RCA: copy(s.perArtery.RCA) },
    total: copy(s.total),
    riskCategory: s.riskCategory,
    riskLabel: s.riskLabel,
    conventions: { ...s.conventions, riskThresholds: [...s.conventions.riskThresholds] },
  };
}

/** The plaques as meta records (left main named as such, numbers rounded to 0.001). */
export function describePlaques(anat: Anatomy, plaques: readonly Plaque[]): PlaqueInfo[] {
  return plaques.map((p) => {
    const v = anat.vessels[p.vessel]!;
    const name = v.name === 'LAD' && p.arcMm < v.leftMainMm ? 'LM' : v.name;
    const vol = (4 / 3) * Math.PI * p.blob.semi[0] * p.blob.semi[1] * p.blob.semi[2];
    return {
      artery: ARTERIES[p.artery - 1]!,
      vessel: name,
      arcMm: round3(p.arcMm),
      centerMm: p.blob.c.map(round3) as Vec3,
      semiAxesMm: p.blob.semi.map(round3) as Vec3,
      densityHU: Math.round(p.densityHU),
      volumeMm3: round3(vol),
    };
  });
}
