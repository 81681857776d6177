/**
 * What one series of a study is, and whether it can be calcium-scored: the
 * series chooser's view of it. A calcium-scoring series is CT images, axial,
 * one stack of evenly spaced parallel slices without gantry tilt; among those
 * the chooser prefers 2.5-3 mm slices, original images and the most slices.
 * Pure (no Node APIs).
 */
import { InputError } from '../base/errors.js';
import { cross, dot, stackGeometry } from './dicom.js';
import type { DicomObject, DicomSlice } from './dicom-slice.js';

/** A slice without its pixel decoder: all the chooser looks at. */
export type SliceHeader = Omit<DicomSlice, 'decode'>;

export interface SeriesSummary {
  uid: string;
  number?: number;
  description: string;
  modality: string;
  imageType: string[];
  /** Files of the series, and how many are images. */
  files: number;
  images: number;
  rows?: number;
  columns?: number;
  /** SliceThickness, else the slice spacing (mm). */
  thicknessMm?: number;
  spacingMm?: number;
  kvp?: number;
  /** Why it cannot be scored; undefined when it can. */
  unusable?: string;
  /** The image files in the series (paths as given). */
  paths: string[];
}

/** Fewer slices than this is a localiser pair or a single image, not a scan. */
export const MIN_SLICES = 3;
/** A slice normal within about 37 degrees of the patient's long axis counts as axial. */
const AXIAL_MIN_COSINE = 0.8;
/** Slices sheared by more than this (degrees) are tilted. */
const MAX_TILT_DEG = 0.5;

const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
const STRUCTURED_REPORT = '1.2.840.10008.5.1.4.1.1.88.';
const PRESENTATION_STATE = '1.2.840.10008.5.1.4.1.1.11.';
const LOCALISER_WORDS = /topogram|scout|surview|scanogram|locali[sz]er|locator/i;

const fmt = (x: number) => String(Number(x.toFixed(2)));

/** Summarises one series from its image headers and its other objects (reports etc.). */
export function summariseSeries(uid: string, slices: SliceHeader[], others: DicomObject[]): SeriesSummary {
  const first: DicomObject = slices[0] ?? others[0]!;
  const summary: SeriesSummary = {
    uid,
    number: first.seriesNumber,
    description: first.seriesDescription,
    modality: first.modality,
    imageType: first.imageType,
    files: slices.length + others.length,
    images: slices.length,
    rows: slices[0]?.rows,
    columns: slices[0]?.columns,
    thicknessMm: first.sliceThicknessMm,
    kvp: first.kvp,
    paths: slices.map((s) => s.file),
  };
  summary.unusable = objectProblem(first, slices) ?? stackProblem(slices, summary);
  return summary;
}

/** Reasons visible from the attributes alone: not an image, not CT, a localiser, undecodable. */
function objectProblem(o: DicomObject, slices: SliceHeader[]): string | undefined {
  if (slices.length === 0) {
    if (o.sopClassUid.startsWith(STRUCTURED_REPORT)) return 'no images: a structured report (e.g. a dose report)';
    if (o.sopClassUid.startsWith(PRESENTATION_STATE)) return 'no images: a presentation state';
    return 'no images (no pixel data)';
  }
  if (o.sopClassUid.startsWith(SECONDARY_CAPTURE)) return 'secondary capture (a screenshot, e.g. a dose screen)';
  if (o.modality && o.modality !== 'CT') return `${o.modality} images, not CT`;
  if (o.imageType.includes('LOCALIZER') || LOCALISER_WORDS.test(o.seriesDescription)) return 'localiser (scout / topogram)';
  const bad = slices.find((s) => s.problem);
  if (bad) return `${bad.file}: ${bad.problem}`;
  if (slices.length < MIN_SLICES) return `only ${slices.length} image${slices.length > 1 ? 's' : ''}; a scan needs at least ${MIN_SLICES}`;
  return undefined;
}

/** Reasons that need the geometry: not one stack, not axial, tilted. Fills in the spacing. */
function stackProblem(slices: SliceHeader[], summary: SeriesSummary): string | undefined {
  const name = `series ${label(summary)}`;
  let sorted: SliceHeader[];
  let step: number;
  try {
    ({ sorted, step } = stackGeometry(slices, name));
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return error.message.startsWith(`${name}: `) ? error.message.slice(name.length + 2) : error.message;
  }
  summary.spacingMm = step;
  summary.thicknessMm ??= step;
  const o = sorted[0]!.orientation;
  const normal = cross(o.slice(0, 3), o.slice(3, 6));
  if (Math.abs(normal[2]!) < AXIAL_MIN_COSINE) {
    const plane = Math.abs(normal[1]!) > Math.abs(normal[0]!) ? 'coronal' : 'sagittal';
    return `not axial (${Math.abs(normal[0]!) > 0.8 || Math.abs(normal[1]!) > 0.8 ? plane : 'oblique'} slices)`;
  }
  const [a, b] = [sorted[0]!.position, sorted[sorted.length - 1]!.position];
  const along = [0, 1, 2].map((i) => b[i]! - a[i]!);
  const shearDeg = (Math.acos(Math.min(1, Math.abs(dot(along, normal)) / Math.hypot(along[0]!, along[1]!, along[2]!))) * 180) / Math.PI;
  const tagged = Math.abs(sorted[0]!.gantryTiltDeg ?? 0);
  if (shearDeg > MAX_TILT_DEG || tagged > MAX_TILT_DEG) {
    const deg = Math.max(shearDeg, tagged);
    return `gantry tilt of ${fmt(deg)}° (slices not stacked along their normal): Agatston areas and lesion shapes assume an orthogonal grid; reconstruct without tilt, or resample to an orthogonal grid first`;
  }
  return undefined;
}

/** "3 \"Cardiac 3.0\"" or the UID when the series has no number. */
export function label(s: Pick<SeriesSummary, 'number' | 'uid' | 'description'>): string {
  const id = s.number !== undefined ? String(s.number) : s.uid;
  return s.description ? `${id} "${s.description}"` : id;
}

/** Sort key for usable series: 2.5-3 mm slices first, then original images, then more slices. */
export function preference(s: SeriesSummary): number[] {
  const t = s.thicknessMm ?? 0;
  return [t >= 2.45 && t <= 3.05 ? 0 : 1, s.imageType[0] === 'ORIGINAL' ? 0 : 1, -s.images];
}

export function comparePreference(a: SeriesSummary, b: SeriesSummary): number {
  const [ka, kb] = [preference(a), preference(b)];
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
  return a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0;
}

/** One line about a series, e.g. `series 3 "Cardiac 3.0": 47 CT images 512x512, 3 mm slices, 120 kVp, ORIGINAL\PRIMARY\AXIAL`. */
export function describeSeries(s: SeriesSummary): string {
  const kind = s.modality || 'DICOM';
  const parts = [s.images ? `${s.images} ${kind} image${s.images === 1 ? '' : 's'} ${s.columns}x${s.rows}` : `${s.files} ${kind} object${s.files === 1 ? '' : 's'} without pixels`];
  if (s.images && s.files > s.images) parts[0] += ` (+${s.files - s.images} objects without pixels)`;
  if (s.thicknessMm !== undefined && s.images) parts.push(`${fmt(s.thicknessMm)} mm slices`);
  if (s.kvp !== undefined) parts.push(`${fmt(s.kvp)} kVp`);
  if (s.imageType.length) parts.push(s.imageType.join('\\'));
  return `series ${label(s)}: ${parts.join(', ')}`;
}
