/**
 * Writes a phantom cohort to a folder (Node only): per case `<id>_ct.nii.gz`
 * (int16 HU) and `<id>_label.nii.gz` (uint8: 0 bg, 1 LAD, 2 LCX, 3 RCA), for
 * the scanner preset also `<id>_noncoronary.nii.gz` (uint8: the kind of
 * non-coronary calcium, CALCIUM_KIND_CODES), and a `manifest.json` listing every
 * case with its seed, grid and scores (scanner preset: and meta.scanner, the
 * acquisition and patient parameters to bin an evaluation by).
 *
 * The scores are `scoreScan` of the case's own CT and ground truth, the same
 * data that is written (phantom HU are integers, so int16 storage is exact):
 * scoring the files gives the manifest's numbers. The manifest holds no
 * timestamps, so a cohort seed always writes the same bytes.
 */

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { scoreScan, type ArteryScore, type ScoringConventions, type ScoringOptions } from '../scoring/score.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { writeCodeMap, writeLabelMap, writeNifti } from '../io/nifti-file.js';
import type { Artery } from '../io/volume.js';
import { generateCohort, type CohortCase, type CohortOptions } from './cohort.js';
import type { ScannerMeta } from './meta.js';
import { NON_CORONARY_SPEC } from './noncoronary-calcium.js';

export interface ManifestScores {
  perArtery: Record<Artery, ArteryScore>;
  total: ArteryScore;
  riskCategory: number;
  riskLabel: string;
}

export interface ManifestCase {
  id: string;
  /** Seed of this phantom: generatePhantom({ seed, preset, riskTarget }) rebuilds it. */
  seed: number;
  preset: string;
  riskTarget: number;
  /** File names relative to the manifest. */
  files: { ct: string; labels: string; nonCoronary?: string };
  dims: [number, number, number];
  spacing: [number, number, number];
  noiseHU: number;
  plaqueCount: number;
  scores: ManifestScores;
  /** Scanner preset: split, framing, field of view, heart box, non-coronary calcium, every drawn parameter. */
  scanner?: ScannerMeta;
}

export interface CohortManifest {
  generator: 'cacnet-phantom';
  version: 1;
  /** The generation options when the cohort was written by writeGeneratedCohort. */
  cohort?: Record<string, unknown>;
  /** How the scores were computed (threshold, connectivity, minimum lesion volume, ...). */
  conventions: ScoringConventions | null;
  cases: ManifestCase[];
}

export interface WriteCohortOptions {
  /** Scoring conventions for the manifest (default: the scorer's defaults). */
  scoring?: ScoringOptions;
  /** Stored under manifest.cohort. */
  cohort?: Record<string, unknown>;
  /** Called after each case is written (progress). */
  onCase?: (c: ManifestCase, index: number) => void;
}

const arteryScore = (a: ArteryScore): ArteryScore => ({
  agatston: a.agatston,
  volumeMm3: a.volumeMm3,
  massMg: a.massMg,
  lesionCount: a.lesionCount,
});

/** Writes the cases (consumed one at a time) and the manifest; returns the manifest. */
export async function writeCohort(
  dir: string,
  cases: Iterable<CohortCase> | AsyncIterable<CohortCase>,
  opts: WriteCohortOptions = {},
): Promise<CohortManifest> {
  await mkdir(dir, { recursive: true });
  const manifest: CohortManifest = { generator: 'cacnet-phantom', version: 1, conventions: null, cases: [] };
  if (opts.cohort) manifest.cohort = opts.cohort;
  for await (const c of cases) {
    const { ct, labels, meta } = c.phantom;
    const files: ManifestCase['files'] = { ct: `${c.id}_ct.nii.gz`, labels: `${c.id}_label.nii.gz` };
    await writeNifti(join(dir, files.ct), ct);
    await writeLabelMap(join(dir, files.labels), labels);
    if (meta.scanner) {
      files.nonCoronary = `${c.id}_noncoronary.nii.gz`;
      await writeCodeMap(join(dir, files.nonCoronary), { ...labels, data: c.phantom.nonCoronary }, NON_CORONARY_SPEC);
    }
    const s = scoreScan(ct, labels, opts.scoring);
    manifest.conventions ??= s.conventions;
    const entry: ManifestCase = {
      id: c.id,
      seed: c.seed,
      preset: meta.preset,
      riskTarget: c.riskTarget,
      files,
      dims: [...ct.dims],
      spacing: [...ct.spacing],
      noiseHU: meta.noiseHU,
      plaqueCount: meta.plaques.length,
      scores: {
        perArtery: { LAD: arteryScore(s.perArtery.LAD), LCX: arteryScore(s.perArtery.LCX), RCA: arteryScore(s.perArtery.RCA) },
        total: arteryScore(s.total),
        riskCategory: s.riskCategory,
        riskLabel: s.riskLabel,
      },
      ...(meta.scanner ? { scanner: meta.scanner } : {}),
    };
    manifest.cases.push(entry);
    opts.onCase?.(entry, manifest.cases.length - 1);
  }
  await writeFileAtomic(join(dir, 'manifest.json'), new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`));
  return manifest;
}

/** Generates a cohort (risk categories cycling 0..4) and writes it; the options go into the manifest. */
export async function writeGeneratedCohort(
  dir: string,
  opts: CohortOptions,
  onCase?: (c: ManifestCase, index: number) => void,
): Promise<CohortManifest> {
  const cohort: Record<string, unknown> = JSON.parse(JSON.stringify(opts));
  return writeCohort(dir, generateCohort(opts), { scoring: opts.scoring, cohort, onCase });
}
