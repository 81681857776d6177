/**
 * A DICOM study as a PACS or a CD exports it: any number of files in any
 * folders (with or without extensions, a DICOMDIR or not), several series of
 * which one is the calcium-scoring scan. Reads every file's header, groups the
 * slices by SeriesInstanceUID, chooses the series (or takes the one asked
 * for), and decodes only that one. Pure (no Node APIs): the CLI passes files
 * on disk, the browser app the files of a picked folder.
 *
 * Files are read twice (headers, then the chosen series' pixels) so that a
 * study of many reconstructions never has to sit in memory at once.
 */
import { acquisitionNotes, type AcquisitionInfo } from './acquisition.js';
import { assembleSeries, basename } from './dicom.js';
import { fail, parseDicomFile, type DicomObject, type DicomSlice } from './dicom-slice.js';
import { comparePreference, describeSeries, label, summariseSeries, type SeriesSummary, type SliceHeader } from './dicom-series-summary.js';
import { dicomdirReferences, pathKey } from './dicomdir.js';
import type { Volume } from './volume.js';

/** A file of a study: its path (for messages and DICOMDIR look-ups) and a way to read it. */
export interface StudyFile {
  path: string;
  read(): Promise<Uint8Array>;
}

export interface StudyOptions {
  /** SeriesInstanceUID or SeriesNumber of the series to score instead of the chosen one. */
  series?: string;
}

export interface StudyChoice {
  /** The series read, and every series of the study (the chosen one first, then by preference, then the unusable). */
  chosen: SeriesSummary;
  series: SeriesSummary[];
  /** Why this series: chosen automatically, or asked for with --series. */
  reason: string;
  /** Files found, files that are not DICOM, and the DICOMDIR used (if any). */
  files: number;
  notDicom: number;
  dicomdir?: string;
  /** Anything worth telling about how the files were read (e.g. DICOMDIR entries missing). */
  remarks: string[];
}

export interface DicomStudy {
  volume: Volume;
  choice: StudyChoice;
  acquisition: AcquisitionInfo;
  /** Voxels of padding (outside the field of view, or below air) set to -1024 HU. */
  paddedVoxels: number;
  /** Departures from the Agatston protocol and other facts for the report (see acquisitionNotes). */
  notes: string[];
}

/** Reads the study in `files` (named `name` in messages) and decodes its calcium-scoring series. */
export async function decodeDicomStudy(files: readonly StudyFile[], name: string, opts: StudyOptions = {}): Promise<DicomStudy> {
  const { selected, dicomdir, remarks } = await filesToRead(files);
  const slices = new Map<string, SliceHeader[]>();
  const others = new Map<string, DicomObject[]>();
  let notDicom = 0;
  for (const file of selected) {
    const parsed = parseDicomFile({ name: file.path, bytes: await file.read() });
    if (parsed.kind === 'not-dicom' || parsed.kind === 'dicomdir') {
      notDicom += parsed.kind === 'not-dicom' ? 1 : 0;
      continue;
    }
    if (parsed.kind === 'object') {
      push(others, parsed.object.seriesUid, parsed.object);
    } else {
      const { decode: _pixelsReadAgainLater, ...header } = parsed.slice;
      push(slices, header.seriesUid, header);
    }
  }
  const uids = [...new Set([...slices.keys(), ...others.keys()])];
  if (!uids.some((uid) => slices.has(uid))) {
    throw fail(name, `no DICOM image files found (${selected.length} files looked at${uids.length ? `; ${uids.length} non-image DICOM series` : ''})`);
  }
  const series = uids.map((uid) => summariseSeries(uid, slices.get(uid) ?? [], others.get(uid) ?? []));
  const { chosen, reason } = opts.series === undefined ? chooseSeries(series, name) : seriesAskedFor(series, opts.series, name);
  const ordered = [chosen, ...series.filter((s) => s !== chosen && !s.unusable).sort(comparePreference), ...series.filter((s) => s.unusable && s !== chosen)];
  const choice: StudyChoice = { chosen, series: ordered, reason, files: files.length, notDicom, dicomdir, remarks };

  const decoded = await readSeries(chosen, files, name);
  const first = decoded[0]!;
  const { volume, paddedVoxels } = assembleSeries(decoded, name, true);
  const acquisition: AcquisitionInfo = {
    seriesUid: chosen.uid,
    seriesNumber: chosen.number,
    seriesDescription: chosen.description || undefined,
    manufacturer: first.manufacturer,
    model: first.model,
    kvp: first.kvp,
    sliceThicknessMm: first.sliceThicknessMm,
    convolutionKernel: first.convolutionKernel,
    imageType: first.imageType,
  };
  return { volume, choice, acquisition, paddedVoxels, notes: acquisitionNotes(acquisition, volume.spacing[2], paddedVoxels) };
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** All files, or only those a DICOMDIR lists when the study has one that lists any of them. */
async function filesToRead(files: readonly StudyFile[]): Promise<{ selected: readonly StudyFile[]; dicomdir?: string; remarks: string[] }> {
  const remarks: string[] = [];
  const dirs = files.filter((f) => basename(f.path).toUpperCase() === 'DICOMDIR');
  const refs = new Set<string>();
  for (const d of dirs) {
    const parsed = parseDicomFile({ name: d.path, bytes: await d.read() });
    if (parsed.kind === 'dicomdir') for (const r of dicomdirReferences(parsed.dataSet, d.path)) refs.add(r);
  }
  if (refs.size === 0) return { selected: files, remarks };
  const selected = files.filter((f) => refs.has(pathKey(f.path)));
  const dicomdir = dirs.map((d) => d.path).join(', ');
  if (selected.length === 0) {
    remarks.push(`${dicomdir} lists none of the ${files.length} files found; every file was read`);
    return { selected: files, remarks };
  }
  if (selected.length < refs.size) remarks.push(`${dicomdir} lists ${refs.size - selected.length} files that are missing`);
  return { selected, dicomdir, remarks };
}

/** The preferred usable series, or an error listing why none can be scored. */
function chooseSeries(series: SeriesSummary[], name: string): { chosen: SeriesSummary; reason: string } {
  const usable = series.filter((s) => !s.unusable).sort(comparePreference);
  const chosen = usable[0];
  if (!chosen) {
    const why = series.map((s) => `series ${label(s)} (${s.images} images): ${s.unusable}`).join('; ');
    throw fail(name, `no series can be calcium-scored: ${why}`);
  }
  const t = chosen.thicknessMm ?? 0;
  const facts = [`axial CT, ${chosen.images} slices`, t >= 2.45 && t <= 3.05 ? 'slices 2.5-3 mm thick' : `no usable series has 2.5-3 mm slices (these are ${Number(t.toFixed(2))} mm)`];
  if (chosen.imageType[0] === 'ORIGINAL') facts.push('original images');
  if (usable.length > 1) facts.push(`preferred to ${usable.length - 1} other usable series (--series picks another)`);
  return { chosen, reason: `chosen: ${facts.join(', ')}` };
}

/** The series `wanted` names (UID or number); it must exist, be unique and be usable. */
function seriesAskedFor(series: SeriesSummary[], wanted: string, name: string): { chosen: SeriesSummary; reason: string } {
  const matches = series.filter((s) => s.uid === wanted || (s.number !== undefined && String(s.number) === wanted.trim()));
  const list = series.map((s) => `${s.number ?? '-'} (${s.uid})`).join(', ');
  if (matches.length === 0) throw fail(name, `no series ${wanted} in this study; its series (number and UID): ${list}`);
  if (matches.length > 1) throw fail(name, `${matches.length} series are numbered ${wanted}; give the SeriesInstanceUID instead: ${matches.map((s) => s.uid).join(', ')}`);
  const chosen = matches[0]!;
  if (chosen.unusable) throw fail(name, `series ${label(chosen)} cannot be calcium-scored: ${chosen.unusable}`);
  return { chosen, reason: 'asked for with --series' };
}

/** Reads the chosen series' files again, now keeping their pixels. */
async function readSeries(chosen: SeriesSummary, files: readonly StudyFile[], name: string): Promise<DicomSlice[]> {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const out: DicomSlice[] = [];
  for (const path of chosen.paths) {
    const parsed = parseDicomFile({ name: path, bytes: await byPath.get(path)!.read() });
    if (parsed.kind !== 'image' || parsed.slice.seriesUid !== chosen.uid) throw fail(path, 'changed while the study was being read');
    out.push(parsed.slice);
  }
  if (out.length === 0) throw fail(name, `series ${label(chosen)} has no images`);
  return out;
}

/** The choice as lines for people: the study, each series (the chosen one marked), remarks. */
export function describeStudy(choice: StudyChoice, name: string): string[] {
  const lines = [`study ${name}: ${choice.series.length} series in ${choice.files} files${choice.dicomdir ? ` (read through ${choice.dicomdir})` : ''}${choice.notDicom ? `, ${choice.notDicom} not DICOM` : ''}`];
  for (const s of choice.series) {
    const mark = s === choice.chosen ? '*' : ' ';
    const tail = s === choice.chosen ? ` [${choice.reason}]` : s.unusable ? ` [skipped: ${s.unusable}]` : ' [usable]';
    lines.push(`  ${mark} ${describeSeries(s)}${tail}`);
  }
  return [...lines, ...choice.remarks.map((r) => `  note: ${r}`)];
}
