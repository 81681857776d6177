/**
 * DICOM studies as exported: nested folders, DICOMDIR, several series of which
 * the calcium-scoring one is chosen, padding, tilt. Studies are written with
 * the test DICOM writer; the real QRM phantom scan is read from ../shared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readDicomSeries } from '../src/io/dicom-file.js';
import { describeStudy } from '../src/io/dicom-study.js';
import { readScan } from '../src/io/read-scan.js';
import { REPO } from './helpers/cli.js';
import { expectInputError } from './helpers/expect-error.js';
import { TRANSFER_SYNTAX, encodeCtSlice, encodeDicomdir, encodeDicomFile, type CtSlice, type DicomElement } from './helpers/dicom-writer.js';

const N = 8; // rows and columns
let root: string;
let studies = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cacnet-study-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const text = (tag: number, vr: string, value: string): DicomElement => ({ tag, vr, value });

interface SeriesSpec {
  uid: string;
  number: number;
  description: string;
  slices: number;
  thickness: number;
  imageType?: string;
  kvp?: number;
  orientation?: number[];
  /** Position of slice k (LPS mm). */
  position?: (k: number) => number[];
  pixels?: (k: number) => number[];
  extra?: DicomElement[];
}

/** Stored value (HU + 1024, unsigned) of voxel (i, j) in slice k: distinct per series and voxel. */
const stored = (number: number, i: number, j: number, k: number) => 1000 + 100 * number + 3 * i + 5 * j + 7 * k;

function seriesSlices(s: SeriesSpec): CtSlice[] {
  return Array.from({ length: s.slices }, (_, k) => ({
    seriesUid: s.uid,
    instanceNumber: k + 1,
    rows: N,
    columns: N,
    pixelSpacing: [0.7, 0.7],
    orientation: s.orientation ?? [1, 0, 0, 0, 1, 0],
    position: s.position?.(k) ?? [-2.8, -2.8, -40 + s.thickness * k],
    pixels: s.pixels?.(k) ?? Array.from({ length: N * N }, (_, p) => stored(s.number, p % N, Math.floor(p / N), k)),
    signed: false,
    intercept: -1024,
    extra: [
      text(0x00080008, 'CS', s.imageType ?? 'ORIGINAL\\PRIMARY\\AXIAL'),
      text(0x0008103e, 'LO', s.description),
      text(0x00180050, 'DS', String(s.thickness)),
      text(0x00180060, 'DS', String(s.kvp ?? 120)),
      text(0x00200011, 'IS', String(s.number)),
      ...(s.extra ?? []),
    ],
  }));
}

/** Writes files (relative path -> bytes) under a fresh study folder. */
async function studyWith(files: Array<[string, Uint8Array]>): Promise<string> {
  const dir = join(root, `study-${studies++}`);
  for (const [rel, bytes] of files) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), bytes);
  }
  return dir;
}

function seriesFiles(s: SeriesSpec, folder: string, ext = ''): Array<[string, Uint8Array]> {
  return seriesSlices(s).map((slice, k) => [`${folder}/IM${String(k + 1).padStart(4, '0')}${ext}`, encodeCtSlice(slice)]);
}

const CARDIAC_3MM: SeriesSpec = { uid: '1.2.826.0.1.3680043.10.7.3', number: 3, description: 'CaSc 3.0', slices: 8, thickness: 3 };
const CARDIAC_1MM: SeriesSpec = { uid: '1.2.826.0.1.3680043.10.7.4', number: 4, description: 'CaSc 1.0', slices: 24, thickness: 1 };
const LOCALISER: SeriesSpec = {
  uid: '1.2.826.0.1.3680043.10.7.1',
  number: 1,
  description: 'Topogram 0.6',
  slices: 2,
  thickness: 1,
  imageType: 'ORIGINAL\\PRIMARY\\LOCALIZER',
  orientation: [1, 0, 0, 0, 0, -1],
  position: (k) => [-2.8, k, 60],
};

/** A radiation dose structured report: a DICOM object without pixels. */
function doseReport(): Uint8Array {
  const sr = '1.2.840.10008.5.1.4.1.1.88.67';
  const elements = [
    text(0x00080016, 'UI', sr),
    text(0x00080018, 'UI', '1.2.826.0.1.3680043.10.7.501.1'),
    text(0x00080060, 'CS', 'SR'),
    text(0x0008103e, 'LO', 'Dose Report'),
    text(0x0020000e, 'UI', '1.2.826.0.1.3680043.10.7.501'),
    text(0x00200011, 'IS', '501'),
  ];
  return encodeDicomFile(elements, TRANSFER_SYNTAX.explicitLE, 'explicitLE', '1.2.826.0.1.3680043.10.7.501.1', sr);
}

/** A secondary-capture screenshot (e.g. the dose screen): an image, but not a CT scan. */
function secondaryCapture(): Uint8Array {
  const [slice] = seriesSlices({ uid: '1.2.826.0.1.3680043.10.7.502', number: 502, description: 'Patient Protocol', slices: 1, thickness: 1 });
  slice!.extra!.push(text(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.7'), text(0x00080060, 'CS', 'OT'));
  return encodeCtSlice(slice!);
}

/** A study as a PACS export lays it out: nested folders, a localiser, two reconstructions, a dose report, a screenshot, a stray text file. */
async function exportedStudy(): Promise<string> {
  return studyWith([
    ...seriesFiles(LOCALISER, 'DICOM/PAT1/ST1/SE1'),
    ...seriesFiles(CARDIAC_1MM, 'DICOM/PAT1/ST1/SE4', '.dcm'),
    ...seriesFiles(CARDIAC_3MM, 'DICOM/PAT1/ST1/SE3'),
    ['DICOM/PAT1/ST1/SE501/SR0001', doseReport()],
    ['DICOM/PAT1/ST1/SE502/SC0001.dcm', secondaryCapture()],
    ['README.TXT', new TextEncoder().encode('exported by a PACS')],
  ]);
}

describe('DICOM studies', () => {
  it('a nested export with a localiser, a dose report, a screenshot and 3 mm and 1 mm reconstructions: the 3 mm series is read', async () => {
    const dir = await exportedStudy();
    const scan = await readScan(dir);
    expect(scan.study!.chosen.uid).toBe(CARDIAC_3MM.uid);
    expect(scan.dims).toEqual([N, N, 8]);
    expect(scan.spacing).toEqual([0.7, 0.7, 3]);
    // Voxel (2, 5) of slice 6 holds series 3's own value: stored - 1024.
    expect(scan.data[2 + N * (5 + N * 6)]).toBe(stored(3, 2, 5, 6) - 1024);
    expect(scan.acquisition).toMatchObject({ seriesNumber: 3, kvp: 120, sliceThicknessMm: 3, imageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'] });
    expect(scan.notes).toEqual([]);

    const lines = describeStudy(scan.study!, dir);
    expect(lines[0]).toBe(`study ${dir}: 5 series in 37 files, 1 not DICOM`);
    expect(lines[1]).toMatch(/^ {2}\* series 3 "CaSc 3\.0": 8 CT images 8x8, 3 mm slices, 120 kVp, ORIGINAL\\PRIMARY\\AXIAL \[chosen: axial CT, 8 slices, slices 2\.5-3 mm thick, original images, preferred to 1 other usable series/);
    expect(lines[2]).toMatch(/^ {4}series 4 "CaSc 1\.0": 24 CT images 8x8, 1 mm slices.* \[usable\]$/);
    const skipped = lines.slice(3).join('\n');
    expect(skipped).toMatch(/series 1 "Topogram 0\.6".*\[skipped: localiser/);
    expect(skipped).toMatch(/series 501 "Dose Report": 1 SR object without pixels.*\[skipped: no images: a structured report/);
    expect(skipped).toMatch(/series 502 "Patient Protocol".*\[skipped: secondary capture/);
  });

  it('--series picks another reconstruction by number or UID, and refuses a localiser or an unknown series', async () => {
    const dir = await exportedStudy();
    const thin = await readScan(dir, { series: '4' });
    expect(thin.dims).toEqual([N, N, 24]);
    expect(thin.study!.reason).toBe('asked for with --series');
    expect(thin.data[1 + N * (1 + N * 20)]).toBe(stored(4, 1, 1, 20) - 1024);
    expect(thin.notes).toHaveLength(1);
    expect(thin.notes[0]).toMatch(/^slice thickness 1 mm, not 3 mm: Agatston is defined on 3 mm slices/);
    expect((await readScan(dir, { series: CARDIAC_1MM.uid })).dims).toEqual([N, N, 24]);
    await expectInputError(readScan(dir, { series: '1' }), /series 1 "Topogram 0\.6" cannot be calcium-scored: localiser/);
    await expectInputError(readScan(dir, { series: '7' }), /no series 7 in this study; its series \(number and UID\): .*3 \(1\.2\.826\.0\.1\.3680043\.10\.7\.3\)/);
  });

  it('reads through a DICOMDIR: only the files it lists, matched without regard to case', async () => {
    // The DICOMDIR lists the 1 mm series only; the 3 mm series beside it is not part of this export.
    const listed = seriesFiles(CARDIAC_1MM, 'dicom/se4');
    const refs = listed.map(([rel]) => rel.toUpperCase().split('/'));
    const dir = await studyWith([['DICOMDIR', encodeDicomdir([...refs, ['DICOM', 'GONE']])], ...listed, ...seriesFiles(CARDIAC_3MM, 'other')]);
    const scan = await readScan(dir);
    expect(scan.study!.chosen.uid).toBe(CARDIAC_1MM.uid);
    expect(scan.study!.series).toHaveLength(1);
    expect(scan.study!.dicomdir).toBe(join(dir, 'DICOMDIR'));
    expect(scan.study!.remarks).toEqual([`${join(dir, 'DICOMDIR')} lists 1 files that are missing`]);
    expect(describeStudy(scan.study!, dir)[0]).toBe(`study ${dir}: 1 series in 33 files (read through ${join(dir, 'DICOMDIR')})`);
  });

  it('padding outside the field of view becomes air: PixelPaddingValue, -2048 and -3024 never reach the volume', async () => {
    // Unsigned, intercept -1024: stored 0xFFFF is the declared padding (it would read 64511 HU, "calcium");
    // stored 0 reads -1024, air, and stays.
    const padValue = 0xffff;
    const padded: SeriesSpec = {
      ...CARDIAC_3MM,
      pixels: (k) => Array.from({ length: N * N }, (_, p) => (p % N === 0 ? padValue : p % N === 1 ? 0 : stored(3, p % N, Math.floor(p / N), k))),
      extra: [{ tag: 0x00280120, vr: 'US', value: [padValue] }],
    };
    const scan = await readScan(await studyWith(seriesFiles(padded, 'S')));
    for (let k = 0; k < 8; k++) {
      for (let j = 0; j < N; j++) {
        expect(scan.data[0 + N * (j + N * k)]).toBe(-1024); // declared padding
        expect(scan.data[1 + N * (j + N * k)]).toBe(-1024); // stored 0: exactly air, left as is
        expect(scan.data[2 + N * (j + N * k)]).toBe(stored(3, 2, j, k) - 1024);
      }
    }
    expect(scan.notes).toEqual([`${8 * N} voxels of padding outside the field of view (or below air) set to -1024 HU`]);

    // Signed data with the usual -2048 / -3024 fill and no PixelPaddingValue.
    const signedFill: SeriesSpec = { ...CARDIAC_3MM, pixels: () => Array.from({ length: N * N }, (_, p) => (p < N ? -2048 : p < 2 * N ? -3024 : 40)) };
    const slices = seriesSlices(signedFill).map((s) => ({ ...s, signed: true, intercept: 0 }));
    const scan2 = await readScan(await studyWith(slices.map((s, k) => [`IM${k}`, encodeCtSlice(s)])));
    expect(Math.min(...scan2.data)).toBe(-1024);
    expect(scan2.data.filter((v) => v === -1024)).toHaveLength(2 * N * 8);
    expect(scan2.data.filter((v) => v === 40)).toHaveLength((N - 2) * N * 8);
  });

  it('refuses gantry tilt and uneven slice spacing with a clear message', async () => {
    const tilted: SeriesSpec = {
      ...CARDIAC_3MM,
      // Positions step 3 mm in z and 0.8 mm in y: the stack is sheared by atan(0.8 / 3) = 14.9 degrees.
      position: (k) => [-2.8, -2.8 + 0.8 * k, -40 + 3 * k],
      extra: [text(0x00181120, 'DS', '15')],
    };
    await expectInputError(
      readScan(await studyWith(seriesFiles(tilted, 'T'))),
      /: no series can be calcium-scored: series 3 "CaSc 3\.0" \(8 images\): gantry tilt of 15° \(slices not stacked along their normal\).*reconstruct without tilt/,
    );
    const uneven: SeriesSpec = { ...CARDIAC_3MM, position: (k) => [-2.8, -2.8, -40 + 3 * k + (k === 5 ? 1 : 0)] };
    await expectInputError(readScan(await studyWith(seriesFiles(uneven, 'U'))), /series 3 "CaSc 3\.0" \(8 images\): irregular slice spacing: 4 mm between IM0005 and IM0006, 3 mm elsewhere/);
    // A usable series beside the tilted one is chosen, and the tilted one is listed as skipped.
    const both = await readScan(await studyWith([...seriesFiles(tilted, 'T'), ...seriesFiles(CARDIAC_1MM, 'S')]));
    expect(both.study!.chosen.uid).toBe(CARDIAC_1MM.uid);
    expect(both.study!.series[1]!.unusable).toMatch(/^gantry tilt of 15°/);
  });

  it('states a tube voltage other than 120 kVp', async () => {
    const scan = await readScan(await studyWith(seriesFiles({ ...CARDIAC_3MM, kvp: 100 }, 'K')));
    expect(scan.acquisition.kvp).toBe(100);
    expect(scan.notes).toEqual([expect.stringMatching(/^tube voltage 100 kVp, not 120: Agatston is defined at 120 kVp/)]);
  });
});

const QRM = join(REPO, '..', 'shared', 'data', 'qrm-canon-large-rep1');

describe.skipIf(!existsSync(QRM))('the real QRM phantom scan (Canon, 47 files without extension)', () => {
  it('loads through the study path: series 29, the DICOM grid, padding replaced, pixels as the series reader decodes them', async () => {
    const scan = await readScan(QRM);
    expect(scan.study!.chosen.number).toBe(29);
    expect(scan.study!.notDicom).toBe(6); // README, LICENSE, the CSVs and the PNG beside the scan folder
    expect(scan.dims).toEqual([512, 512, 47]);
    expect(scan.spacing.map((s) => +s.toFixed(4))).toEqual([0.488, 0.488, 3]);
    expect(scan.affine.map((a) => +a.toFixed(5))).toEqual([-0.488, 0, 0, 128.5058, 0, -0.488, 0, 106.00581, 0, 0, 3, 534.875, 0, 0, 0, 1]);
    expect(scan.acquisition).toMatchObject({ kvp: 120, sliceThicknessMm: 3, manufacturer: 'TOSHIBA', convolutionKernel: 'FC12' });
    const raw = await readDicomSeries(join(QRM, 'Large_rep1'));
    let padded = 0;
    let wrong = 0;
    for (let i = 0; i < raw.data.length; i++) {
      const want = raw.data[i]! < -1024 ? -1024 : raw.data[i]!;
      if (raw.data[i]! < -1024) padded++;
      if (scan.data[i] !== want) wrong++;
    }
    expect(wrong).toBe(0);
    // The reconstruction circle is padded at -2048: about 21% of a 512x512 square lies outside a 512-wide circle.
    expect(padded).toBeGreaterThan(0.2 * 512 * 512 * 47);
    expect(scan.notes).toEqual([`${padded} voxels of padding outside the field of view (or below air) set to -1024 HU`]);
  });
});
