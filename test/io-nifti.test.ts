import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'fflate';
import * as niftiReader from 'nifti-reader-js';
import { InputError } from '../src/base/errors.js';
import {
  MAX_VOXELS,
  NIFTI_DATATYPES,
  affineToQform,
  decodeNifti,
  encodeNifti,
  encodeNiftiHeader,
  gzip,
  niftiAffine,
  niftiHeaderForGrid,
  type NiftiDatatype,
  type NiftiHeader,
} from '../src/io/nifti.js';
import { readNifti, writeLabelMap, writeNifti } from '../src/io/nifti-file.js';
import { writeFileAtomic } from '../src/io/atomic-write.js';
import type { LabelMap, Volume } from '../src/io/volume.js';

const DIMS: [number, number, number] = [3, 4, 5];
const N = 60;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cacnet-nifti-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A header for DIMS with spacing 0.7 × 0.8 × 2.5 and a plain scaling affine, then `over`. */
function header(over: Partial<NiftiHeader> = {}): NiftiHeader {
  return { ...niftiHeaderForGrid(DIMS, [0.7, 0.8, 2.5], [0.7, 0, 0, 0, 0, 0.8, 0, 0, 0, 0, 2.5, 0, 0, 0, 0, 1]), ...over };
}

/** Stored values that exercise each type's range (negative where signed, beyond int16 for int32). */
const SAMPLES: Record<NiftiDatatype, (i: number) => number> = {
  uint8: (i) => 255 - 4 * i,
  int16: (i) => -1024 + 97 * i,
  uint16: (i) => 65535 - 1000 * i,
  int32: (i) => -100000 + 3517 * i,
  float32: (i) => -1000.5 + 33.25 * i,
  float64: (i) => -2000.125 + 71.0625 * i,
};
const values = (dt: NiftiDatatype) => Array.from({ length: N }, (_, i) => SAMPLES[dt](i));

async function write(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

async function expectInputError(promise: Promise<unknown>, pattern: RegExp): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  const message = (error as InputError).message;
  expect(message).toMatch(pattern);
  expect(message).not.toContain('\n');
  return error as InputError;
}

describe('NIfTI reading', () => {
  for (const dt of Object.keys(NIFTI_DATATYPES) as NiftiDatatype[]) {
    for (const littleEndian of [true, false]) {
      for (const gz of [false, true]) {
        it(`reads ${dt} ${littleEndian ? 'little' : 'big'}-endian${gz ? ', gzipped' : ''}`, async () => {
          const nii = encodeNifti(header({ datatype: dt, littleEndian }), values(dt));
          const path = await write(`${dt}-${littleEndian}-${gz}.nii${gz ? '.gz' : ''}`, gz ? await gzip(nii) : nii);
          const vol = await readNifti(path);
          expect(vol.dims).toEqual(DIMS);
          expect(vol.spacing[0]).toBeCloseTo(0.7, 6);
          expect(vol.spacing[2]).toBeCloseTo(2.5, 6);
          expect(vol.source).toBe(path);
          // x fastest: voxel (2, 1, 3) is element 2 + 3 * (1 + 4 * 3) = 41.
          expect(vol.data[41]).toBe(Math.fround(SAMPLES[dt](41)));
          expect(Array.from(vol.data)).toEqual(values(dt).map(Math.fround));
        });
      }
    }
  }

  it('encodes the header fields where NIfTI-1 puts them, in the requested byte order', () => {
    const be = encodeNifti(header({ datatype: 'int16', littleEndian: false }), values('int16'));
    expect(Array.from(be.subarray(0, 4))).toEqual([0, 0, 0x01, 0x5c]); // sizeof_hdr 348
    expect(Array.from(be.subarray(40, 48))).toEqual([0, 3, 0, 3, 0, 4, 0, 5]); // dim[0..3]
    expect(Array.from(be.subarray(70, 74))).toEqual([0, 4, 0, 16]); // datatype int16, bitpix 16
    expect(String.fromCharCode(...be.subarray(344, 348))).toBe('n+1\0');
    // First voxel -1024 = 0xFC00, big-endian, at vox_offset 352.
    expect(Array.from(be.subarray(352, 354))).toEqual([0xfc, 0x00]);
    const le = encodeNifti(header({ datatype: 'int16' }), values('int16'));
    expect(Array.from(le.subarray(352, 354))).toEqual([0x00, 0xfc]);
  });

  it('leaves the input bytes untouched (big-endian swap works on a copy, even for a Buffer)', async () => {
    const bytes = Buffer.from(encodeNifti(header({ datatype: 'int32', littleEndian: false }), values('int32')));
    const before = Buffer.from(bytes);
    const a = await decodeNifti(bytes, 'be.nii');
    const b = await decodeNifti(bytes, 'be.nii');
    expect(bytes.equals(before)).toBe(true);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    expect(a.data[1]).toBe(-100000 + 3517);
  });

  it('applies scl_slope and scl_inter to get HU; slope 0 means unscaled', async () => {
    const stored = [0, 1, 2, 400, 1024, 2000, ...Array(N - 6).fill(7)];
    const scaled = await decodeNifti(encodeNifti(header({ sclSlope: 2.5, sclInter: -1024 }), stored), 'scaled.nii');
    expect(Array.from(scaled.data.subarray(0, 7))).toEqual([-1024, -1021.5, -1019, -24, 1536, 3976, -1006.5]);
    const unscaled = await decodeNifti(encodeNifti(header({ sclSlope: 0, sclInter: -1024 }), stored), 'unscaled.nii');
    expect(Array.from(unscaled.data.subarray(0, 7))).toEqual([0, 1, 2, 400, 1024, 2000, 7]);
  });

  it('takes the affine from sform when sform_code > 0, even if qform differs', async () => {
    const srow = [0, -0.8, 0, 10, 0.7, 0, 0, -20, 0, 0, 2.5, 30];
    // qform: 90° about z, i.e. quaternion (a, b, c, d) = (cos 45°, 0, 0, sin 45°).
    const quatern: [number, number, number] = [0, 0, Math.SQRT1_2];
    const h = header({ qformCode: 1, sformCode: 2, srow, quatern, qoffset: [1, 2, 3], pixdim: [1, 0.7, 0.8, 2.5, 1, 1, 1, 1] });
    const both = await decodeNifti(encodeNifti(h, values('int16')), 'both.nii');
    expect(both.affine).toEqual([...srow.map(Math.fround), 0, 0, 0, 1]);
    const qOnly = await decodeNifti(encodeNifti({ ...h, sformCode: 0 }, values('int16')), 'q.nii');
    expectAffine(qOnly.affine, [0, -0.8, 0, 1, 0.7, 0, 0, 2, 0, 0, 2.5, 3, 0, 0, 0, 1]);
  });

  it('builds the qform affine with qfac = -1 and a 180° rotation (a = 0)', async () => {
    // (b, c, d) = (0, 0, 1): 180° about z, R = diag(-1, -1, 1); qfac -1 flips k.
    const h = header({ qformCode: 1, sformCode: 0, quatern: [0, 0, 1], qoffset: [5, 6, 7], pixdim: [-1, 0.7, 0.8, 2.5, 1, 1, 1, 1] });
    const vol = await decodeNifti(encodeNifti(h, values('int16')), 'q180.nii');
    expectAffine(vol.affine, [-0.7, 0, 0, 5, 0, -0.8, 0, 6, 0, 0, -2.5, 7, 0, 0, 0, 1]);
  });

  it('falls back to pixdim scaling when neither qform nor sform is set', async () => {
    const vol = await decodeNifti(encodeNifti(header({ qformCode: 0, sformCode: 0, srow: Array(12).fill(9) }), values('int16')), 'plain.nii');
    expectAffine(vol.affine, [0.7, 0, 0, 0, 0, 0.8, 0, 0, 0, 0, 2.5, 0, 0, 0, 0, 1]);
  });

  it('converts spacing and affine in metres to millimetres', async () => {
    const h = header({ xyztUnits: 1, pixdim: [1, 0.0007, 0.0008, 0.0025, 1, 1, 1, 1], srow: [0.0007, 0, 0, 0.1, 0, 0.0008, 0, 0, 0, 0, 0.0025, 0, ] });
    const vol = await decodeNifti(encodeNifti(h, values('int16')), 'metres.nii');
    expect(vol.spacing.map((s) => +s.toFixed(6))).toEqual([0.7, 0.8, 2.5]);
    expect(vol.affine[3]).toBeCloseTo(100, 3);
  });

  it('reads a 4D image with one time point as 3D', async () => {
    const h = header({ dim: [4, 3, 4, 5, 1, 1, 1, 1], datatype: 'float32' });
    const vol = await decodeNifti(encodeNifti(h, values('float32')), '4d.nii');
    expect(vol.dims).toEqual(DIMS);
    expect(vol.data[59]).toBe(Math.fround(SAMPLES.float32(59)));
  });
});

describe('NIfTI bad input', () => {
  const good = () => encodeNifti(header(), values('int16'));

  it('rejects a truncated gzip stream', async () => {
    const gz = await gzip(good());
    const path = await write('trunc.nii.gz', gz.subarray(0, gz.length - 30));
    await expectInputError(readNifti(path), /trunc\.nii\.gz: truncated gzip stream$/);
  });

  it('rejects a corrupt gzip stream', async () => {
    const gz = await gzip(encodeNifti(header({ datatype: 'float64' }), values('float64')));
    for (let i = 20; i < 40; i++) gz[i] ^= 0xa5;
    const path = await write('corrupt.nii.gz', gz);
    await expectInputError(readNifti(path), /corrupt\.nii\.gz: corrupt gzip stream/);
  });

  it('rejects wrong magic, NIfTI-2, hdr/img pairs and tiny files', async () => {
    const bad = good();
    bad.set([0x78, 0x79, 0x7a, 0], 344);
    await expectInputError(decodeNifti(bad, 'magic.nii'), /^magic\.nii: not a NIfTI-1 file \(magic is "xyz\\u0000", expected "n\+1"\)$/);
    const pair = good();
    pair.set([0x6e, 0x69, 0x31, 0], 344);
    await expectInputError(decodeNifti(pair, 'pair.hdr'), /\.hdr\/\.img pair/);
    const v2 = good();
    new DataView(v2.buffer).setInt32(0, 540, true);
    await expectInputError(decodeNifti(v2, 'v2.nii'), /NIfTI-2 files are not supported/);
    await expectInputError(decodeNifti(good().subarray(0, 100), 'tiny.nii'), /tiny\.nii: too short for a NIfTI-1 header \(100 bytes/);
    const text = new TextEncoder().encode('not an image at all '.repeat(30));
    await expectInputError(decodeNifti(text, 'notes.nii'), /notes\.nii: not a NIfTI-1 file/);
  });

  it('rejects a file shorter than vox_offset + data, gzipped or not', async () => {
    const short = good().subarray(0, 352 + 2 * N - 10);
    await expectInputError(decodeNifti(short, 'short.nii'), /short\.nii: file is shorter than its header says: 462 bytes, need 472/);
    await expectInputError(decodeNifti(await gzip(short), 'short.nii.gz'), /file is shorter than its header says/);
  });

  it('rejects 2D, 5D and many-time-point images', async () => {
    await expectInputError(decodeNifti(encodeNifti(header({ dim: [2, 6, 10, 1, 1, 1, 1, 1] }), values('int16')), '2d.nii'), /2d\.nii: 2D image \(6×10\); expected a 3D volume/);
    await expectInputError(decodeNifti(encodeNifti(header({ dim: [5, 3, 4, 5, 1, 2, 1, 1] }), [...values('int16'), ...values('int16')]), '5d.nii'), /5d\.nii: 5D image \(3×4×5×1×2\)/);
    await expectInputError(decodeNifti(encodeNifti(header({ dim: [4, 3, 2, 5, 2, 1, 1, 1] }), values('int16')), 't2.nii'), /4D image with 2 time points/);
  });

  it('rejects zero and negative voxel spacing', async () => {
    await expectInputError(decodeNifti(encodeNifti(header({ pixdim: [1, 0.7, 0, 2.5, 1, 1, 1, 1] }), values('int16')), 'zero.nii'), /zero\.nii: voxel spacing must be positive \(pixdim = 0\.7, 0, 2\.5\)/);
    await expectInputError(decodeNifti(encodeNifti(header({ pixdim: [1, 0.7, 0.8, -2.5, 1, 1, 1, 1] }), values('int16')), 'neg.nii'), /neg\.nii: voxel spacing must be positive/);
  });

  it('rejects NaN and infinite voxels, naming the count', async () => {
    const v = values('float32');
    v[3] = NaN;
    v[17] = NaN;
    v[40] = NaN;
    await expectInputError(decodeNifti(encodeNifti(header({ datatype: 'float32' }), v), 'nan.nii'), /^nan\.nii: 3 NaN voxels \(of 60\)/);
    v[41] = -Infinity;
    await expectInputError(decodeNifti(encodeNifti(header({ datatype: 'float64' }), v), 'naninf.nii'), /^naninf\.nii: 3 NaN and 1 infinite voxels/);
  });

  it('refuses dimensions too large to allocate before allocating, gzipped or not', async () => {
    const huge = encodeNiftiHeader(header({ dim: [3, 30000, 30000, 30000, 1, 1, 1, 1] }));
    const pattern = /huge\.nii(\.gz)?: image of 30000×30000×30000 = 27000000000000 voxels is too large to load \(limit 1073741824 voxels\)/;
    expect(MAX_VOXELS).toBe(1073741824);
    await expectInputError(readNifti(await write('huge.nii', huge)), pattern);
    await expectInputError(readNifti(await write('huge.nii.gz', await gzip(huge))), pattern);
    await expectInputError(decodeNifti(good(), 'small-limit.nii', { maxVoxels: 59 }), /60 voxels is too large to load \(limit 59 voxels\)/);
  });

  it('rejects unsupported datatypes, bitpix mismatches and missing files', async () => {
    const rgb = good();
    new DataView(rgb.buffer).setInt16(70, 128, true);
    new DataView(rgb.buffer).setInt16(72, 24, true);
    await expectInputError(decodeNifti(rgb, 'rgb.nii'), /rgb\.nii: unsupported datatype 128 \(RGB\); supported: uint8, int16/);
    const bitpix = good();
    new DataView(bitpix.buffer).setInt16(72, 8, true);
    await expectInputError(decodeNifti(bitpix, 'bitpix.nii'), /bitpix 8 does not match datatype int16/);
    await expectInputError(readNifti(join(dir, 'missing.nii')), /missing\.nii: no such file/);
  });
});

describe('NIfTI writing', () => {
  /** A scan read back from a big-endian, gzipped, 4D-with-one-frame file whose qform and sform differ. */
  async function referenceScan() {
    const h = header({
      littleEndian: false,
      dim: [4, 3, 4, 5, 1, 1, 1, 1],
      pixdim: [-1, 0.7, 0.8, 2.5, 0.5, 1, 1, 1],
      qformCode: 1,
      quatern: [0, 0, 1],
      qoffset: [5, 6, 7],
      sformCode: 2,
      srow: [-0.7, 0, 0, 5.5, 0, -0.8, 0, 6.5, 0, 0, -2.5, 7.5],
      sclSlope: 1,
      sclInter: -1024,
    });
    return readNifti(await write('ref.nii.gz', await gzip(encodeNifti(h, values('uint16').map((x) => x % 3000)))));
  }

  const labelData = () => Uint8Array.from({ length: N }, (_, i) => (i * 7) % 4);

  it('writes a label map on the reference grid that nifti-reader-js reads back', async () => {
    const scan = await referenceScan();
    const labels: LabelMap = { data: labelData(), dims: scan.dims, spacing: scan.spacing, affine: scan.affine };
    const path = join(dir, 'labels.nii.gz');
    await writeLabelMap(path, labels, scan.nifti);

    // Independent check with nifti-reader-js alone.
    const raw = gunzipSync(await readFile(path));
    const ab = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length);
    expect(niftiReader.isNIFTI1(ab)).toBe(true);
    const h = niftiReader.readHeader(ab);
    expect(h.datatypeCode).toBe(2);
    expect(h.numBitsPerVoxel).toBe(8);
    expect(h.dims.slice(0, 5)).toEqual([3, 3, 4, 5, 1]);
    expect(h.scl_slope).toBe(1);
    expect(h.scl_inter).toBe(0);
    expect([h.cal_min, h.cal_max]).toEqual([0, 3]);
    expect([h.qform_code, h.sform_code]).toEqual([1, 2]);
    expect(h.pixDims.slice(0, 4).map((x) => +x.toFixed(5))).toEqual([-1, 0.7, 0.8, 2.5]);
    expect(Array.from(new Uint8Array(niftiReader.readImage(h, ab)))).toEqual(Array.from(labels.data));

    // And through our reader: same grid as the scan.
    const back = await readNifti(path);
    expect(back.affine).toEqual(scan.affine);
    expect(back.nifti.qoffset).toEqual(scan.nifti.qoffset);
    expect(back.nifti.quatern).toEqual(scan.nifti.quatern);
    expect(Array.from(back.data)).toEqual(Array.from(labels.data));
  });

  it('writes a label map from its own affine when there is no reference (plain .nii)', async () => {
    const affine = [-0.5, 0, 0, 120, 0, -0.6, 0, 99, 0, 0, 3, -40, 0, 0, 0, 1];
    const path = join(dir, 'labels-own.nii');
    await writeLabelMap(path, { data: labelData(), dims: DIMS, spacing: [0.5, 0.6, 3], affine }, undefined);
    const bytes = await readFile(path);
    expect(bytes[0]).toBe(0x5c); // not gzipped: sizeof_hdr 348 little-endian
    const back = await readNifti(path);
    expectAffine(back.affine, affine);
    expect(back.nifti.qformCode).toBe(1);
    expectAffine(niftiAffine({ ...back.nifti, sformCode: 0 }), affine); // the qform alone says the same
    expect(back.data[5]).toBe(labelData()[5]);
  });

  it('writes a CT volume as int16 HU (rounded) or float32 (exact) and reads it back', async () => {
    const data = Float32Array.from({ length: N }, (_, i) => -1024 + 61.3 * i);
    const vol: Volume = { data, dims: DIMS, spacing: [0.7, 0.8, 2.5], affine: [0.7, 0, 0, -10, 0, 0.8, 0, -20, 0, 0, 2.5, -30, 0, 0, 0, 1], source: 'phantom' };
    const p16 = join(dir, 'ct.nii.gz');
    await writeNifti(p16, vol);
    const b16 = await readFile(p16);
    expect([b16[0], b16[1]]).toEqual([0x1f, 0x8b]);
    const back16 = await readNifti(p16);
    expect(back16.nifti.datatype).toBe('int16');
    expect(Array.from(back16.data)).toEqual(Array.from(data, (x) => Math.round(x)));
    expect([back16.nifti.calMin, back16.nifti.calMax]).toEqual([-1024, Math.round(-1024 + 61.3 * 59)]);
    expectAffine(back16.affine, vol.affine);
    const p32 = join(dir, 'ct32.nii');
    await writeNifti(p32, vol, { datatype: 'float32' });
    expect(Array.from((await readNifti(p32)).data)).toEqual(Array.from(data));
  });

  it('round-trips qform parameters for rotated and left-handed grids', () => {
    const rotations = [
      [1, 0, 0, 0, 1, 0, 0, 0, 1],
      [-1, 0, 0, 0, -1, 0, 0, 0, 1], // LPS-style flip of x and y: a 180° rotation
      [0, -1, 0, 1, 0, 0, 0, 0, 1],
      [1, 0, 0, 0, -1, 0, 0, 0, 1], // left-handed: qfac -1
      rotationFromAxisAngle([1, 2, 3], 2.9),
      rotationFromAxisAngle([-2, 0.5, 1], -1.2),
    ];
    for (const r of rotations) {
      const spacing: [number, number, number] = [0.4, 0.5, 3];
      const affine = [0, 1, 2].flatMap((i) => [r[3 * i]! * 0.4, r[3 * i + 1]! * 0.5, r[3 * i + 2]! * 3, 10 * i - 7]).concat([0, 0, 0, 1]);
      const h = niftiHeaderForGrid(DIMS, spacing, affine);
      expectAffine(niftiAffine({ ...h, sformCode: 0 }), affine);
    }
    expect(affineToQform([1, 0.5, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])).toBeUndefined(); // sheared
  });

  it('leaves no output and no temp file when a write fails', async () => {
    const sub = await mkdtemp(join(dir, 'fail-'));
    const data = Float32Array.from({ length: N }, (_, i) => i - 30);
    data[7] = NaN;
    const vol: Volume = { data, dims: DIMS, spacing: [1, 1, 1], affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], source: 'x' };
    await expectInputError(writeNifti(join(sub, 'nan.nii.gz'), vol), /nan\.nii\.gz: 1 NaN voxel \(of 60\)/);
    data[7] = 40000;
    await expectInputError(writeNifti(join(sub, 'big.nii.gz'), vol), /big\.nii\.gz: HU range \[-30, 40000\] does not fit int16/);
    const wrongGrid: LabelMap = { data: new Uint8Array(24).fill(1), dims: [2, 3, 4], spacing: [1, 1, 1], affine: vol.affine };
    await expectInputError(writeLabelMap(join(sub, 'l.nii.gz'), wrongGrid, header()), /data is 2×3×4 but the reference header is 3×4×5/);
    await expectInputError(writeLabelMap(join(sub, 'l.nii.gz'), { ...wrongGrid, data: new Uint8Array(24).fill(5) }), /label 5 at voxel 0 is not 0\.\.3/);
    expect(await readdir(sub)).toEqual([]);
  });

  it('writes atomically: a failing producer leaves the old file intact and no temp file', async () => {
    const sub = await mkdtemp(join(dir, 'atomic-'));
    const path = join(sub, 'out.nii');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    function* failing(): Generator<Uint8Array> {
      yield new Uint8Array([9, 9, 9, 9]);
      throw new Error('disk full');
    }
    await expect(writeFileAtomic(path, failing())).rejects.toThrow('disk full');
    expect(Array.from(await readFile(path))).toEqual([1, 2, 3]);
    expect(await readdir(sub)).toEqual(['out.nii']);
    await writeFileAtomic(path, [new Uint8Array([4, 5]), new Uint8Array([6])]);
    expect(Array.from(await readFile(path))).toEqual([4, 5, 6]);
  });
});

function expectAffine(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(16);
  actual.forEach((x, i) => expect(x, `affine[${i}]`).toBeCloseTo(expected[i]!, 4));
}

/** Rodrigues: a proper rotation matrix (row-major 3x3) about `axis` by `angle` radians. */
function rotationFromAxisAngle(axis: [number, number, number], angle: number): number[] {
  const n = Math.hypot(...axis);
  const [x, y, z] = axis.map((a) => a / n) as [number, number, number];
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const t = 1 - c;
  return [t * x * x + c, t * x * y - s * z, t * x * z + s * y, t * x * y + s * z, t * y * y + c, t * y * z - s * x, t * x * z - s * y, t * y * z + s * x, t * z * z + c];
}
