import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDicomSeries } from '../src/io/dicom-file.js';
import { readScan } from '../src/io/read-scan.js';
import { encodeNifti, gzip, niftiHeaderForGrid } from '../src/io/nifti.js';
import { readNifti, writeLabelMap } from '../src/io/nifti-file.js';
import { expectInputError } from './helpers/expect-error.js';
import { TRANSFER_SYNTAX, encodeCtSlice, encodeDicomFile, type CtSlice, type Encoding } from './helpers/dicom-writer.js';

const ROWS = 4;
const COLS = 5;
const NZ = 6;
/** File order on disk: deliberately neither slice order nor its reverse. */
const FILE_ORDER = [3, 0, 5, 1, 4, 2];
const SERIES = '1.2.826.0.1.3680043.10.99.1';

let root: string;
let folders = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cacnet-dicom-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Stored value of column i, row j in slice k (k in ascending position order). */
const storedSigned = (i: number, j: number, k: number) => -900 + 40 * i + 300 * j + 17 * k;
const storedUnsigned = (i: number, j: number, k: number) => 1100 + 40 * i + 300 * j + 17 * k;
/** Slice 3 has its own rescale, as scanners may do per slice. */
const rescale = (k: number) => (k === 3 ? { slope: 0.5, intercept: -1000 } : { slope: 1, intercept: -1024 });

/** Axial slice k of the standard test series: 2.5 mm apart, LPS origin (-120.5, -80.25, -50). */
function axialSlice(k: number, signed = true, over: Partial<CtSlice> = {}): CtSlice {
  const stored = signed ? storedSigned : storedUnsigned;
  return {
    seriesUid: SERIES,
    instanceNumber: NZ - k, // reversed, so sorting must use positions
    rows: ROWS,
    columns: COLS,
    pixelSpacing: [0.6, 0.7],
    orientation: [1, 0, 0, 0, 1, 0],
    position: [-120.5, -80.25, -50 + 2.5 * k],
    pixels: Array.from({ length: ROWS * COLS }, (_, p) => stored(p % COLS, Math.floor(p / COLS), k)),
    signed,
    ...rescale(k),
    ...over,
  };
}

/** Writes `files` (name -> bytes) into a fresh folder and returns its path. */
async function folderWith(files: Array<[string, Uint8Array]>): Promise<string> {
  const dir = join(root, `series-${folders++}`);
  await mkdir(dir);
  for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
  return dir;
}

/** The standard series in FILE_ORDER, with `slice(k)` deciding each file's content. */
function seriesFiles(slice: (k: number) => CtSlice | Uint8Array, encoding: Encoding = 'explicitLE'): Array<[string, Uint8Array]> {
  return FILE_ORDER.map((k, n) => {
    const s = slice(k);
    return [`IM${n}`, s instanceof Uint8Array ? s : encodeCtSlice(s, encoding)];
  });
}

function expectAffine(actual: readonly number[], expected: readonly number[]): void {
  actual.forEach((x, i) => expect(x, `affine[${i}]`).toBeCloseTo(expected[i]!, 6));
}

describe('DICOM series reading', () => {
  for (const encoding of ['explicitLE', 'implicitLE', 'explicitBE'] as const) {
    for (const signed of [true, false]) {
      it(`reads a shuffled ${encoding} series of ${signed ? 'signed' : 'unsigned'} 16-bit slices in position order`, async () => {
        const notes = new TextEncoder().encode('scanner export log, not DICOM');
        const dir = await folderWith([...seriesFiles((k) => axialSlice(k, signed), encoding), ['notes.txt', notes]]);
        await mkdir(join(dir, 'subfolder'));
        const vol = await readDicomSeries(dir);
        expect(vol.dims).toEqual([COLS, ROWS, NZ]);
        expect(vol.spacing.map((s) => +s.toFixed(6))).toEqual([0.7, 0.6, 2.5]);
        const stored = signed ? storedSigned : storedUnsigned;
        for (let k = 0; k < NZ; k++) {
          for (let j = 0; j < ROWS; j++) {
            for (let i = 0; i < COLS; i++) {
              const { slope, intercept } = rescale(k);
              expect(vol.data[i + COLS * (j + ROWS * k)]).toBe(stored(i, j, k) * slope + intercept);
            }
          }
        }
        // Hand-computed spot checks: (4, 3, 5) = -900 + 160 + 900 + 85 - 1024; slice 3 is scaled by 0.5.
        if (signed) {
          expect(vol.data[4 + COLS * (3 + ROWS * 5)]).toBe(-779);
          expect(vol.data[0 + COLS * (0 + ROWS * 3)]).toBe(-849 * 0.5 - 1000);
        }
        // LPS -> RAS: x and y change sign.
        expectAffine(vol.affine, [-0.7, 0, 0, 120.5, 0, -0.6, 0, 80.25, 0, 0, 2.5, -50, 0, 0, 0, 1]);
      });
    }
  }

  it('sorts a coronal series along its normal and keeps gantry-tilt shear in the affine', async () => {
    // Row (1,0,0), column (0,0,-1): the normal is +y (LPS). Each slice also shifts 0.4 mm in z (tilt).
    const coronal = (k: number) => axialSlice(k, true, { orientation: [1, 0, 0, 0, 0, -1], position: [10, -30 + 3 * k, 60 + 0.4 * k] });
    const vol = await readDicomSeries(await folderWith(seriesFiles(coronal)));
    expect(vol.spacing[2]).toBeCloseTo(3, 6);
    expect(vol.data[2 + COLS * (1 + ROWS * 4)]).toBe(storedSigned(2, 1, 4) - 1024);
    expectAffine(vol.affine, [-0.7, 0, 0, -10, 0, 0, -3, 30, 0, -0.6, 0.4, 60, 0, 0, 0, 1]);
  });

  it('honours Bits Stored: sign-extends 12-bit signed values and masks unused high bits', async () => {
    const signed12 = (k: number) => axialSlice(k, true, { bitsStored: 12, pixels: Array(ROWS * COLS).fill(0x0ffb), slope: 1, intercept: 0 });
    const a = await readDicomSeries(await folderWith(seriesFiles(signed12)));
    expect(a.data[7]).toBe(-5);
    const unsigned12 = (k: number) => axialSlice(k, false, { bitsStored: 12, pixels: Array(ROWS * COLS).fill(0xf123), slope: 1, intercept: -1024 });
    const b = await readDicomSeries(await folderWith(seriesFiles(unsigned12)));
    expect(b.data[7]).toBe(0x123 - 1024);
  });

  it('ignores DICOM files without pixel data (e.g. a DICOMDIR)', async () => {
    const dicomdir = encodeDicomFile([{ tag: 0x00041130, vr: 'CS', value: 'SERIES' }], TRANSFER_SYNTAX.explicitLE, 'explicitLE');
    const vol = await readDicomSeries(await folderWith([...seriesFiles((k) => axialSlice(k)), ['DICOMDIR', dicomdir]]));
    expect(vol.dims).toEqual([COLS, ROWS, NZ]);
  });

  it('writes a label map on a DICOM grid that reads back with the same affine', async () => {
    const vol = await readDicomSeries(await folderWith(seriesFiles((k) => axialSlice(k))));
    const data = Uint8Array.from({ length: vol.data.length }, (_, i) => (vol.data[i]! > -500 ? 1 + (i % 3) : 0));
    const path = join(root, 'dicom-labels.nii.gz');
    await writeLabelMap(path, { data, dims: vol.dims, spacing: vol.spacing, affine: vol.affine });
    const back = await readNifti(path);
    expectAffine(back.affine, vol.affine);
    expect(Array.from(back.data)).toEqual(Array.from(data));
  });
});

describe('DICOM bad input', () => {
  it('rejects a folder holding two series, listing both', async () => {
    const mixed = (k: number) => axialSlice(k, true, k < 3 ? {} : { seriesUid: '1.2.826.0.1.3680043.10.99.2' });
    const dir = await folderWith(seriesFiles(mixed));
    await expectInputError(
      readDicomSeries(dir),
      /series-\d+: 2 series in one folder: 1\.2\.826\.0\.1\.3680043\.10\.99\.[12] \(3 files\), 1\.2\.826\.0\.1\.3680043\.10\.99\.[12] \(3 files\); put each series in its own folder$/,
    );
  });

  it('names a compressed transfer syntax and the file', async () => {
    const files = seriesFiles((k) => (k === 2 ? encodeCtSlice(axialSlice(k), 'explicitLE', TRANSFER_SYNTAX.jpeg2000Lossless) : axialSlice(k)));
    await expectInputError(
      readDicomSeries(await folderWith(files)),
      /IM5: compressed transfer syntax JPEG 2000 \(Lossless Only\) \(1\.2\.840\.10008\.1\.2\.4\.90\) is not supported/,
    );
  });

  it('rejects a missing slice, a duplicate position and irregular spacing', async () => {
    const missing = seriesFiles((k) => axialSlice(k)).filter(([name]) => name !== 'IM0'); // IM0 is slice 3
    await expectInputError(
      readDicomSeries(await folderWith(missing)),
      /series-\d+: missing slice: gap of 5 mm between IM5 and IM4 where the spacing is 2\.5 mm \(about 1 missing\)/,
    );
    const duplicate = seriesFiles((k) => axialSlice(k, true, k === 4 ? { position: [-120.5, -80.25, -50 + 2.5 * 3] } : {}));
    await expectInputError(readDicomSeries(await folderWith(duplicate)), /: (IM0 and IM4|IM4 and IM0) are at the same position \(-42\.5 mm along the slice normal\)$/);
    const irregular = seriesFiles((k) => axialSlice(k, true, k === 3 ? { position: [-120.5, -80.25, -50 + 2.5 * 3 + 1] } : {}));
    await expectInputError(readDicomSeries(await folderWith(irregular)), /series-\d+: irregular slice spacing: 3\.5 mm between IM5 and IM0, 2\.5 mm elsewhere$/);
  });

  it('rejects folders without images, single slices, mismatched slices and truncated files', async () => {
    const text = new TextEncoder().encode('hello');
    await expectInputError(readDicomSeries(await folderWith([['a.txt', text], ['b.jpg', text]])), /no DICOM image files found \(2 files looked at\)$/);
    await expectInputError(readDicomSeries(await folderWith([['only', encodeCtSlice(axialSlice(0))]])), /only one image slice \(only\); a 3D scan needs at least 2/);
    const wrongSize = seriesFiles((k) => (k === 1 ? axialSlice(k, true, { rows: 2, pixels: Array(2 * COLS).fill(5) }) : axialSlice(k)));
    await expectInputError(readDicomSeries(await folderWith(wrongSize)), /IM3: image is 5×2 but .*IM0 is 5×4/);
    const truncated = seriesFiles((k) => (k === 5 ? encodeCtSlice(axialSlice(k)).subarray(0, 400) : axialSlice(k)));
    await expectInputError(readDicomSeries(await folderWith(truncated)), /IM2: corrupt or truncated DICOM file \(.*(past end of buffer|overrun)/);
    await expectInputError(readDicomSeries(join(root, 'nope')), /nope: no such folder/);
  });
});

describe('readScan', () => {
  it('reads a DICOM folder or a NIfTI file, and refuses anything else', async () => {
    const dicom = await readScan(await folderWith(seriesFiles((k) => axialSlice(k))));
    expect(dicom.format).toBe('dicom');
    expect(dicom.nifti).toBeUndefined();
    expect(dicom.dims).toEqual([COLS, ROWS, NZ]);

    const header = niftiHeaderForGrid([2, 2, 2], [1, 1, 2], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1]);
    const path = join(root, 'scan.nii.gz');
    await writeFile(path, await gzip(encodeNifti(header, [-1000, -500, 0, 130, 200, 300, 400, 1000])));
    const nifti = await readScan(path);
    expect(nifti.format).toBe('nifti');
    expect(nifti.nifti?.datatype).toBe('int16');
    expect(Array.from(nifti.data)).toEqual([-1000, -500, 0, 130, 200, 300, 400, 1000]);

    const other = join(root, 'scan.mhd');
    await writeFile(other, 'ObjectType = Image');
    await expectInputError(readScan(other), /scan\.mhd: not a \.nii or \.nii\.gz file; for DICOM give the folder/);
    await expectInputError(readScan(join(root, 'absent.nii')), /absent\.nii: no such file or folder/);
  });
});
