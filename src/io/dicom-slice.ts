/**
 * One DICOM file: what it is (an image slice, a non-image object, a DICOMDIR,
 * or not DICOM at all) and, for an image, its geometry, acquisition attributes
 * and a decoder of its pixels to HU. Pure (no Node APIs).
 *
 * A slice whose pixels we cannot decode (compressed, colour, multi-frame)
 * still yields its header, so that a study holding, say, a JPEG screenshot of
 * the dose report can be sorted and the screenshot skipped; the problem is
 * raised only if that series is asked to be decoded.
 */
import dicomParser from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import { InputError } from '../base/errors.js';

/** A file's name (for messages) and bytes. */
export interface DicomFile {
  name: string;
  bytes: Uint8Array;
}

const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';
export const DICOMDIR_SOP_CLASS = '1.2.840.10008.1.3.10';

/** Names for the transfer syntaxes people meet in practice, so the error can say which one. */
const COMPRESSED: Record<string, string> = {
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline (Process 1)',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended (Process 2 & 4)',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless, Non-Hierarchical (Process 14)',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless, Non-Hierarchical, First-Order Prediction',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 (Lossless Only)',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K (Lossless Only)',
  '1.2.840.10008.1.2.4.202': 'HTJ2K with RPCL Options (Lossless Only)',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

export const TAG = {
  mediaStorageSopClass: 'x00020002',
  transferSyntax: 'x00020010',
  imageType: 'x00080008',
  sopClass: 'x00080016',
  modality: 'x00080060',
  manufacturer: 'x00080070',
  seriesDescription: 'x0008103e',
  model: 'x00081090',
  sliceThickness: 'x00180050',
  kvp: 'x00180060',
  gantryTilt: 'x00181120',
  convolutionKernel: 'x00181210',
  seriesUid: 'x0020000e',
  seriesNumber: 'x00200011',
  position: 'x00200032',
  orientation: 'x00200037',
  samplesPerPixel: 'x00280002',
  frames: 'x00280008',
  rows: 'x00280010',
  columns: 'x00280011',
  pixelSpacing: 'x00280030',
  bitsAllocated: 'x00280100',
  bitsStored: 'x00280101',
  pixelRepresentation: 'x00280103',
  pixelPaddingValue: 'x00280120',
  pixelPaddingRangeLimit: 'x00280121',
  rescaleIntercept: 'x00281052',
  rescaleSlope: 'x00281053',
  pixelData: 'x7fe00010',
} as const;

/** HU written where the scanner padded outside its reconstruction circle: air. */
export const OUTSIDE_FOV_HU = -1024;

/** Writes a slice's HU into `out` from `offset`; with `cleanPadding`, padding and values below air become air. Returns the voxels so replaced. */
export type SliceDecoder = (out: Float32Array, offset: number, cleanPadding: boolean) => number;

/** The attributes of a file that say which series it belongs to and what it is. */
export interface DicomObject {
  file: string;
  seriesUid: string;
  seriesNumber?: number;
  seriesDescription: string;
  modality: string;
  sopClassUid: string;
  /** ImageType (0008,0008) values, upper case, e.g. ['ORIGINAL', 'PRIMARY', 'AXIAL']. */
  imageType: string[];
  manufacturer?: string;
  model?: string;
  kvp?: number;
  sliceThicknessMm?: number;
  gantryTiltDeg?: number;
  convolutionKernel?: string;
}

/** An image slice: its object attributes, its grid, and (unless `problem` says why not) its pixels. */
export interface DicomSlice extends DicomObject {
  rows: number;
  columns: number;
  /** DICOM order: [between rows (mm), between columns (mm)] */
  pixelSpacing: [number, number];
  /** Row direction cosines, then column direction cosines (LPS). */
  orientation: number[];
  position: [number, number, number];
  /** Why the pixels cannot be decoded (compressed, colour, multi-frame...); decode throws it. */
  problem?: string;
  decode: SliceDecoder;
}

export type ParsedDicom =
  | { kind: 'not-dicom' }
  | { kind: 'dicomdir'; file: string; dataSet: DataSet }
  | { kind: 'object'; object: DicomObject }
  | { kind: 'image'; slice: DicomSlice };

export function fail(name: string, problem: string): InputError {
  return new InputError(`${name}: ${problem}`);
}

function hasDicmPrefix(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/** dicom-parser throws strings, Errors, or { exception, dataSet }. */
function parserMessage(error: unknown): string {
  const inner = (error as { exception?: unknown })?.exception ?? error;
  const text = inner instanceof Error ? inner.message : String(inner);
  return text.replace(/^dicomParser[.:]\w+: /, '').split('\n')[0]!;
}

/**
 * Parses one file. Files without the Part-10 "DICM" prefix are not DICOM (a
 * viewer, a text file); a file that has it but cannot be parsed is an error
 * naming the file, since it may be a slice of the scan.
 */
export function parseDicomFile({ name, bytes }: DicomFile): ParsedDicom {
  if (!hasDicmPrefix(bytes)) return { kind: 'not-dicom' };
  let meta: DataSet;
  try {
    meta = dicomParser.readPart10Header(bytes);
  } catch (error) {
    throw fail(name, `corrupt DICOM meta header (${parserMessage(error)})`);
  }
  const syntax = meta.string(TAG.transferSyntax);
  if (syntax === undefined) throw fail(name, 'DICOM meta header has no transfer syntax (0002,0010); truncated file?');
  const syntaxProblem = transferSyntaxProblem(syntax);
  // Deflated data sets cannot even be parsed without an inflater: the file is unusable.
  if (syntaxProblem && syntax === '1.2.840.10008.1.2.1.99') throw fail(name, syntaxProblem);
  let ds: DataSet;
  try {
    ds = dicomParser.parseDicom(bytes);
  } catch (error) {
    // An unsupported encoding explains a parse failure better than the parser does.
    throw fail(name, syntaxProblem ?? `corrupt or truncated DICOM file (${parserMessage(error)})`);
  }
  if (meta.string(TAG.mediaStorageSopClass) === DICOMDIR_SOP_CLASS || ds.elements['x00041220']) return { kind: 'dicomdir', file: name, dataSet: ds };
  const object = objectAttributes(name, ds);
  // Reports and presentation states carry no pixels: not part of any volume.
  if (!ds.elements[TAG.pixelData]) return { kind: 'object', object };
  return { kind: 'image', slice: imageSlice(object, ds, syntax === EXPLICIT_BE, syntaxProblem) };
}

function transferSyntaxProblem(uid: string): string | undefined {
  if (uid === IMPLICIT_LE || uid === EXPLICIT_LE || uid === EXPLICIT_BE) return undefined;
  const known = COMPRESSED[uid];
  if (known) return `compressed transfer syntax ${known} (${uid}) is not supported; decompress the series first (e.g. gdcmconv --raw)`;
  return `unsupported transfer syntax ${uid}; only uncompressed little/big endian DICOM is read`;
}

function optionalNumber(ds: DataSet, tag: string): number | undefined {
  const text = ds.string(tag, 0);
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function objectAttributes(file: string, ds: DataSet): DicomObject {
  const text = (tag: string) => ds.string(tag)?.trim() || undefined;
  return {
    file,
    seriesUid: text(TAG.seriesUid) ?? '(no SeriesInstanceUID)',
    seriesNumber: optionalNumber(ds, TAG.seriesNumber),
    seriesDescription: text(TAG.seriesDescription) ?? '',
    modality: (text(TAG.modality) ?? '').toUpperCase(),
    sopClassUid: text(TAG.sopClass) ?? '',
    imageType: (text(TAG.imageType) ?? '').split('\\').map((v) => v.trim().toUpperCase()).filter(Boolean),
    manufacturer: text(TAG.manufacturer),
    model: text(TAG.model),
    kvp: optionalNumber(ds, TAG.kvp),
    sliceThicknessMm: optionalNumber(ds, TAG.sliceThickness),
    gantryTiltDeg: optionalNumber(ds, TAG.gantryTilt),
    convolutionKernel: text(TAG.convolutionKernel),
  };
}

function imageSlice(object: DicomObject, ds: DataSet, bigEndian: boolean, syntaxProblem: string | undefined): DicomSlice {
  const name = object.file;
  const rows = required(ds.uint16(TAG.rows), name, 'Rows (0028,0010)');
  const columns = required(ds.uint16(TAG.columns), name, 'Columns (0028,0011)');
  const pixelSpacing = decimals(ds, TAG.pixelSpacing, 2, name, 'PixelSpacing (0028,0030)') as [number, number];
  if (!pixelSpacing.every((s) => s > 0)) throw fail(name, `pixel spacing must be positive (PixelSpacing = ${pixelSpacing.join('\\')})`);
  const problem = syntaxProblem ?? pixelFormatProblem(ds);
  return {
    ...object,
    rows,
    columns,
    pixelSpacing,
    orientation: checkOrientation(decimals(ds, TAG.orientation, 6, name, 'ImageOrientationPatient (0020,0037)'), name),
    position: decimals(ds, TAG.position, 3, name, 'ImagePositionPatient (0020,0032)') as [number, number, number],
    problem,
    decode: problem
      ? () => {
          throw fail(name, problem);
        }
      : pixelDecoder(name, ds, rows * columns, bigEndian),
  };
}

/** Greyscale, one frame, 16 bits: what a CT slice is; anything else is named. */
function pixelFormatProblem(ds: DataSet): string | undefined {
  const samples = ds.uint16(TAG.samplesPerPixel) ?? 1;
  const frames = ds.intString(TAG.frames) ?? 1;
  const bitsAllocated = ds.uint16(TAG.bitsAllocated);
  if (samples !== 1) return `${samples} samples per pixel (colour image); expected greyscale CT`;
  if (frames !== 1) return `multi-frame image (${frames} frames) is not supported; expected one slice per file`;
  if (bitsAllocated !== 16) return `Bits Allocated ${bitsAllocated} is not supported; expected 16`;
  return undefined;
}

function required<T>(value: T | undefined, name: string, what: string): T {
  if (value === undefined) throw fail(name, `missing ${what}`);
  return value;
}

/** A multi-valued decimal string (DS) attribute with exactly `count` finite values. */
function decimals(ds: DataSet, tag: string, count: number, name: string, what: string): number[] {
  const text = required(ds.string(tag), name, what);
  const values = text.split('\\').map((v) => Number(v.trim()));
  if (values.length !== count || !values.every(Number.isFinite)) throw fail(name, `${what} must be ${count} numbers, got "${text}"`);
  return values;
}

/** Row and column cosines must be unit length and perpendicular, or the grid is meaningless. */
function checkOrientation(o: number[], name: string): number[] {
  const [r, c] = [o.slice(0, 3), o.slice(3, 6)];
  const len = (u: number[]) => Math.hypot(u[0]!, u[1]!, u[2]!);
  const dot = r[0]! * c[0]! + r[1]! * c[1]! + r[2]! * c[2]!;
  const ok = Math.abs(len(r) - 1) < 1e-3 && Math.abs(len(c) - 1) < 1e-3 && Math.abs(dot) < 1e-3;
  if (!ok) throw fail(name, `ImageOrientationPatient ${o.join('\\')} is not two perpendicular unit vectors`);
  return o;
}

/** The stored values the scanner used for "no data" (PixelPaddingValue, up to PixelPaddingRangeLimit). */
function paddingRange(ds: DataSet, signed: boolean): [number, number] | undefined {
  const read = (tag: string) => (ds.elements[tag] ? (signed ? ds.int16(tag) : ds.uint16(tag)) : undefined);
  const value = read(TAG.pixelPaddingValue);
  if (value === undefined) return undefined;
  const limit = read(TAG.pixelPaddingRangeLimit) ?? value;
  return [Math.min(value, limit), Math.max(value, limit)];
}

/**
 * HU from 16-bit stored values: sign or mask by Bits Stored, then Rescale
 * Slope/Intercept. With `cleanPadding`, stored padding values and anything
 * below air (the -2048 or -3024 scanners write outside the reconstruction
 * circle) become air, so they never look like tissue, let alone calcium.
 */
function pixelDecoder(name: string, ds: DataSet, n: number, bigEndian: boolean): SliceDecoder {
  const element = ds.elements[TAG.pixelData]!;
  if (element.encapsulatedPixelData) throw fail(name, 'pixel data is encapsulated (compressed) although the transfer syntax says uncompressed');
  if (element.length < 2 * n) throw fail(name, `pixel data has ${element.length} bytes, expected ${2 * n}; truncated file?`);
  const signed = ds.uint16(TAG.pixelRepresentation) === 1;
  const bitsStored = ds.uint16(TAG.bitsStored) ?? 16;
  if (!(bitsStored >= 1 && bitsStored <= 16)) throw fail(name, `Bits Stored ${bitsStored} is not 1..16`);
  const slope = ds.floatString(TAG.rescaleSlope) ?? 1;
  const intercept = ds.floatString(TAG.rescaleIntercept) ?? 0;
  if (!Number.isFinite(slope) || !Number.isFinite(intercept)) throw fail(name, 'RescaleSlope/RescaleIntercept are not numbers');
  const [padLow, padHigh] = paddingRange(ds, signed) ?? [Infinity, -Infinity];
  const bytes = ds.byteArray;
  const view = new DataView(bytes.buffer, bytes.byteOffset + element.dataOffset, 2 * n);
  // Shifting the stored bits to the top of an int32 and back sign-extends (or masks) them.
  const shift = 32 - bitsStored;
  return (out, offset, cleanPadding) => {
    let replaced = 0;
    for (let i = 0; i < n; i++) {
      const raw = view.getUint16(2 * i, !bigEndian) << shift;
      const stored = signed ? raw >> shift : raw >>> shift;
      let hu = stored * slope + intercept;
      if (cleanPadding && ((stored >= padLow && stored <= padHigh) || hu < OUTSIDE_FOV_HU)) {
        hu = OUTSIDE_FOV_HU;
        replaced++;
      }
      out[offset + i] = hu;
    }
    return replaced;
  };
}
