/**
 * NIfTI-1 reading (.nii and .nii.gz, via nifti-reader-js) into a Volume in HU,
 * and writing of CT volumes and label maps that land on the input's grid.
 *
 * This file is pure (no Node APIs): the browser app decodes a dropped file and
 * encodes its label map with it. Reading and writing files (readNifti,
 * writeNifti, writeLabelMap) live in nifti-file.ts.
 */
import { NIFTI1, isNIFTI1 } from 'nifti-reader-js';
import { InputError } from '../base/errors.js';
import { scalingAffine, voxelCount, type LabelMap, type Volume } from './volume.js';
import { checkCtValues, checkGeometry } from './scan-plausibility.js';

// ---------------------------------------------------------------- types ----

type StoredArray = Uint8Array | Int16Array | Uint16Array | Int32Array | Float32Array | Float64Array;

interface DatatypeInfo {
  code: number;
  bytes: number;
  integer: boolean;
  /** A view of `length` stored values at `byteOffset` (which must be aligned), or a new array. */
  view: (buffer: ArrayBuffer, byteOffset: number, length: number) => StoredArray;
  create: (length: number) => StoredArray;
}

function datatype(code: number, array: { new (length: number): StoredArray; new (b: ArrayBuffer, o: number, n: number): StoredArray; BYTES_PER_ELEMENT: number }, integer: boolean): DatatypeInfo {
  return { code, bytes: array.BYTES_PER_ELEMENT, integer, view: (b, o, n) => new array(b, o, n), create: (n) => new array(n) };
}

/** The voxel types we read and write, keyed by name; `code` is the NIfTI datatype code. */
export const NIFTI_DATATYPES = {
  uint8: datatype(2, Uint8Array, true),
  int16: datatype(4, Int16Array, true),
  int32: datatype(8, Int32Array, true),
  float32: datatype(16, Float32Array, false),
  float64: datatype(64, Float64Array, false),
  uint16: datatype(512, Uint16Array, true),
} satisfies Record<string, DatatypeInfo>;

/** Typed arrays use the platform's byte order; files may use the other one. */
const NATIVE_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

export type NiftiDatatype = keyof typeof NIFTI_DATATYPES;

/** The NIfTI-1 header fields we use, in file units (see xyztUnits). */
export interface NiftiHeader {
  littleEndian: boolean;
  /** dim[0..7]: dim[0] is the number of dimensions. */
  dim: number[];
  /** pixdim[0..7]: pixdim[0] is qfac (-1 flips the third qform axis). */
  pixdim: number[];
  datatype: NiftiDatatype;
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  calMin: number;
  calMax: number;
  xyztUnits: number;
  intentCode: number;
  qformCode: number;
  sformCode: number;
  /** quatern_b, quatern_c, quatern_d */
  quatern: [number, number, number];
  qoffset: [number, number, number];
  /** srow_x, srow_y, srow_z: 12 numbers, the top three rows of the sform. */
  srow: number[];
  descrip: string;
}

/** A volume read from NIfTI, with its header so outputs can reuse the grid. */
export interface NiftiVolume extends Volume {
  nifti: NiftiHeader;
}

export interface NiftiReadOptions {
  /** Refuse images with more voxels than this (checked before allocating). */
  maxVoxels?: number;
  /** The file is a CT: its values must be HU a scanner stores (scan-plausibility.ts). */
  ct?: boolean;
}

/** 2^30 voxels: 4 GiB of float32, far above any CT (512×512×1000 is 2^28). */
export const MAX_VOXELS = 2 ** 30;
const HEADER_SIZE = 348;
/** Header + the 4-byte extension flag; where our writers put the voxels. */
const DATA_OFFSET = 352;
const NIFTI_INTENT_LABEL = 1002;
const MAX_DIM = 32767;

/** Header floats are float32: print 0.7, not 0.699999988079071. */
function fmt(x: number): string {
  return String(Number(x.toPrecision(7)));
}

function fail(name: string, problem: string): InputError {
  return new InputError(`${name}: ${problem}`);
}

// ------------------------------------------------------------- reading ----

/** Decodes NIfTI-1 bytes (gzipped or not); `name` is used in error messages. */
export async function decodeNifti(bytes: Uint8Array, name: string, options: NiftiReadOptions = {}): Promise<NiftiVolume> {
  const maxVoxels = options.maxVoxels ?? MAX_VOXELS;
  // Validate the header before inflating the rest, so a huge or bad file fails fast.
  const sizeOf = (head: Uint8Array): number => imageBytes(checkHeader(decodeHeader(head, name), name, maxVoxels));
  const gzipped = isGzip(bytes);
  const { raw, total } = gzipped ? await gunzip(bytes, name, sizeOf) : { raw: bytes, total: bytes.length };
  const header = checkHeader(decodeHeader(raw, name), name, maxVoxels);
  const need = imageBytes(header);
  if (total !== need) {
    const n = voxelCount(header.dim.slice(1, 4));
    const bpv = NIFTI_DATATYPES[header.datatype].bytes;
    const what = gzipped ? 'decompressed file' : 'file';
    const size = `${total} bytes, need ${need} (vox_offset ${header.voxOffset} + ${n} voxels × ${bpv} bytes)`;
    throw fail(name, total < need ? `${what} is shorter than its header says: ${size}; truncated?` : `${what} is longer than its header says: ${size}; are dim or datatype wrong?`);
  }
  const volume = toVolume(header, decodeVoxels(raw, header, name), name);
  if (options.ct) checkCtValues(volume, name, `scl_slope ${fmt(header.sclSlope)}, scl_inter ${fmt(header.sclInter)}`);
  return volume;
}

/** Deflate never compresses better than about 1032:1, so a gzip of n bytes holds at most this many. */
const MAX_INFLATION = 1032;

/** An array of `n` bytes, or an InputError instead of the allocator's RangeError. */
function allocate(n: number, name: string): Uint8Array {
  try {
    return new Uint8Array(n);
  } catch {
    throw fail(name, `the image needs ${n} bytes, more than this process can allocate`);
  }
}

function toVolume(header: NiftiHeader, data: Float32Array, name: string): NiftiVolume {
  const unit = spatialUnit(header.xyztUnits);
  const affine = niftiAffine(header).map((x, i) => (i < 12 ? x * unit.mm : x));
  checkAffine(affine, name);
  const [, nx, ny, nz] = header.dim as [number, number, number, number];
  const spacing: [number, number, number] = [header.pixdim[1]! * unit.mm, header.pixdim[2]! * unit.mm, header.pixdim[3]! * unit.mm];
  const volume: NiftiVolume = { data, dims: [nx, ny, nz], spacing, affine, source: name, nifti: header };
  const transform = header.sformCode > 0 ? 'the sform' : header.qformCode > 0 ? 'the qform' : 'pixdim alone';
  checkGeometry(volume, name, `pixdim ${header.pixdim.slice(1, 4).map(fmt).join(', ')} in ${unit.name} (xyzt_units), transform from ${transform}`);
  return volume;
}

/** Millimetres per spatial unit of xyzt_units; unknown units are taken as mm. */
function spatialUnit(xyztUnits: number): { mm: number; name: string } {
  const units = xyztUnits & NIFTI1.SPATIAL_UNITS_MASK;
  if (units === NIFTI1.UNITS_METER) return { mm: 1000, name: 'metres' };
  if (units === NIFTI1.UNITS_MICRON) return { mm: 0.001, name: 'micrometres' };
  return { mm: 1, name: units === NIFTI1.UNITS_MM ? 'mm' : 'mm (units unknown)' };
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Gunzips with the platform's streaming inflater (Node 20 and browsers), which
 * checks the CRC and reports truncation. `sizeOf` sees the first 348 bytes of
 * output and says how many bytes to keep, so we allocate once and can refuse
 * a huge image before inflating it.
 */
async function gunzip(bytes: Uint8Array, name: string, sizeOf: (head: Uint8Array) => number): Promise<{ raw: Uint8Array; total: number }> {
  const reader = oneChunk(bytes).pipeThrough(new DecompressionStream('gzip')).getReader();
  const head: Uint8Array[] = [];
  let headBytes = 0;
  let out: Uint8Array | undefined;
  let total = 0;
  // Bytes past what the header needs are inflated (so the CRC is checked) but not kept.
  const keep = (target: Uint8Array, chunk: Uint8Array) => {
    if (total < target.length) target.set(chunk.subarray(0, target.length - total), total);
    total += chunk.length;
  };
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      if (out !== undefined) {
        keep(out, r.value);
        continue;
      }
      head.push(r.value);
      headBytes += r.value.length;
      if (headBytes >= HEADER_SIZE) {
        const first = concat(head);
        const size = sizeOf(first);
        if (size > bytes.length * MAX_INFLATION) throw fail(name, `the header claims ${size} bytes of image, more than a gzip file of ${bytes.length} bytes can hold; truncated or corrupt`);
        out = allocate(size, name);
        keep(out, first);
      }
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    if (error instanceof InputError) throw error;
    throw fail(name, gzipProblem(error));
  }
  // Shorter than a header: decodeHeader will say so.
  if (out === undefined) {
    const all = concat(head);
    return { raw: all, total: all.length };
  }
  return { raw: out.subarray(0, Math.min(total, out.length)), total };
}

/** A stream of one chunk, without the copy that Blob would make. */
function oneChunk(bytes: Uint8Array): ReadableStream<BufferSource> {
  return new ReadableStream<BufferSource>({
    start(controller) {
      // The typings allow SharedArrayBuffer-backed arrays, which file bytes never are.
      controller.enqueue(bytes as Uint8Array<ArrayBuffer>);
      controller.close();
    },
  });
}

function gzipProblem(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'Z_BUF_ERROR') return 'truncated gzip stream';
  return `corrupt gzip stream (${(error as Error).message ?? String(error)})`;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Parses the 348-byte header with nifti-reader-js, plus the srow fields it drops when qform wins. */
function decodeHeader(bytes: Uint8Array, name: string): NiftiHeader {
  if (bytes.length < HEADER_SIZE) throw fail(name, `too short for a NIfTI-1 header (${bytes.length} bytes, need ${HEADER_SIZE})`);
  const head = new Uint8Array(bytes.subarray(0, HEADER_SIZE)).buffer; // a copy: Buffer.slice would share memory
  const view = new DataView(head);
  const sizeField = [view.getInt32(0, true), view.getInt32(0, false)];
  if (sizeField.includes(540)) throw fail(name, 'NIfTI-2 files are not supported; convert to NIfTI-1');
  if (!sizeField.includes(HEADER_SIZE)) throw fail(name, `not a NIfTI-1 file (header size field is ${sizeField[0]}, expected 348)`);
  if (!isNIFTI1(head)) {
    if (isNIFTI1(head, true)) throw fail(name, 'is the header of a .hdr/.img pair; only single-file .nii or .nii.gz is supported');
    const magic = JSON.stringify(String.fromCharCode(...new Uint8Array(head, 344, 4)));
    throw fail(name, `not a NIfTI-1 file (magic is ${magic}, expected "n+1")`);
  }
  const h = new NIFTI1();
  h.readHeader(head);
  return {
    littleEndian: h.littleEndian,
    dim: h.dims.slice(0, 8),
    pixdim: h.pixDims.slice(0, 8),
    datatype: datatypeName(h, name),
    voxOffset: h.vox_offset,
    sclSlope: h.scl_slope,
    sclInter: h.scl_inter,
    calMin: h.cal_min,
    calMax: h.cal_max,
    xyztUnits: h.xyzt_units,
    intentCode: h.intent_code,
    qformCode: h.qform_code,
    sformCode: h.sform_code,
    quatern: [h.quatern_b, h.quatern_c, h.quatern_d],
    qoffset: [h.qoffset_x, h.qoffset_y, h.qoffset_z],
    srow: Array.from({ length: 12 }, (_, i) => view.getFloat32(280 + 4 * i, h.littleEndian)),
    descrip: h.description,
  };
}

function datatypeName(h: NIFTI1, name: string): NiftiDatatype {
  for (const [key, info] of Object.entries(NIFTI_DATATYPES)) {
    if (info.code !== h.datatypeCode) continue;
    if (h.numBitsPerVoxel !== info.bytes * 8) throw fail(name, `bitpix ${h.numBitsPerVoxel} does not match datatype ${key} (${info.bytes * 8} bits)`);
    return key as NiftiDatatype;
  }
  const supported = Object.keys(NIFTI_DATATYPES).join(', ');
  throw fail(name, `unsupported datatype ${h.datatypeCode} (${h.getDatatypeCodeString(h.datatypeCode)}); supported: ${supported}`);
}

/** Checks what a 3D CT needs: dimensions, spacing, offset and a size we can allocate. */
function checkHeader(h: NiftiHeader, name: string, maxVoxels: number): NiftiHeader {
  const [rank, nx, ny, nz, nt] = h.dim as [number, number, number, number, number];
  const size = h.dim.slice(1, Math.max(1, Math.min(rank, 7)) + 1).join('×');
  if (!(rank >= 1 && rank <= 7)) throw fail(name, `invalid dim[0] = ${rank} (must be 1 to 7)`);
  if (rank !== 3 && rank !== 4) throw fail(name, `${rank}D image (${size}); expected a 3D volume`);
  if (rank === 4 && nt !== 1) throw fail(name, `4D image with ${nt} time points (${size}); expected a 3D volume or one time point`);
  if (!(nx >= 1 && ny >= 1 && nz >= 1)) throw fail(name, `invalid image size ${nx}×${ny}×${nz}`);
  const spacing = h.pixdim.slice(1, 4);
  if (!spacing.every((s) => Number.isFinite(s) && s > 0)) throw fail(name, `voxel spacing must be positive (pixdim = ${spacing.map(fmt).join(', ')})`);
  if (!(Number.isInteger(h.voxOffset) && h.voxOffset >= DATA_OFFSET)) {
    throw fail(name, `vox_offset ${h.voxOffset} is not a whole byte offset at or past the ${HEADER_SIZE}-byte header and its 4-byte extension flag (${DATA_OFFSET})`);
  }
  const n = nx * ny * nz;
  if (n > maxVoxels) throw fail(name, `image of ${nx}×${ny}×${nz} = ${n} voxels is too large to load (limit ${maxVoxels} voxels)`);
  return h;
}

/** Bytes a well-formed file holds: header and extensions up to vox_offset, then the voxels. */
function imageBytes(h: NiftiHeader): number {
  return Math.floor(h.voxOffset) + voxelCount(h.dim.slice(1, 4)) * NIFTI_DATATYPES[h.datatype].bytes;
}

/** Converts stored values to float32 HU (scl_slope 0 or non-finite means unscaled) and rejects NaN/Inf. */
function decodeVoxels(raw: Uint8Array, h: NiftiHeader, name: string): Float32Array {
  const stored = storedValues(raw, Math.floor(h.voxOffset), voxelCount(h.dim.slice(1, 4)), h);
  const scaled = Number.isFinite(h.sclSlope) && h.sclSlope !== 0;
  const slope = scaled ? h.sclSlope : 1;
  const inter = scaled && Number.isFinite(h.sclInter) ? h.sclInter : 0;
  let out: Float32Array;
  try {
    out = new Float32Array(stored.length);
  } catch {
    throw fail(name, `${stored.length} voxels are more than this process can allocate`);
  }
  if (slope === 1 && inter === 0) out.set(stored);
  else for (let i = 0; i < stored.length; i++) out[i] = stored[i]! * slope + inter;
  checkFinite(out, name);
  return out;
}

/** A typed view of the stored voxels; copied when misaligned or in the other byte order. */
function storedValues(raw: Uint8Array, offset: number, n: number, h: NiftiHeader): StoredArray {
  const info = NIFTI_DATATYPES[h.datatype];
  const start = raw.byteOffset + offset;
  if (h.littleEndian === NATIVE_LITTLE_ENDIAN && start % info.bytes === 0 && raw.buffer instanceof ArrayBuffer) {
    return info.view(raw.buffer, start, n);
  }
  const copy = new Uint8Array(raw.subarray(offset, offset + n * info.bytes)); // a copy even for a Node Buffer
  if (h.littleEndian !== NATIVE_LITTLE_ENDIAN) swapBytes(copy, info.bytes);
  return info.view(copy.buffer, 0, n);
}

/** Reverses the byte order of each `width`-byte value in place. */
function swapBytes(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i < bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

function checkFinite(data: Float32Array, name: string): void {
  let nan = 0;
  let inf = 0;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (x !== x) nan++;
    else if (x === Infinity || x === -Infinity) inf++;
  }
  if (nan + inf === 0) return;
  const parts = [nan ? `${nan} NaN` : '', inf ? `${inf} infinite` : ''].filter(Boolean).join(' and ');
  throw fail(name, `${parts} voxel${nan + inf === 1 ? '' : 's'} (of ${data.length}); a CT must hold finite HU values`);
}

function checkAffine(affine: number[], name: string): void {
  const m = affine;
  const det =
    m[0]! * (m[5]! * m[10]! - m[6]! * m[9]!) - m[1]! * (m[4]! * m[10]! - m[6]! * m[8]!) + m[2]! * (m[4]! * m[9]! - m[5]! * m[8]!);
  if (!affine.every(Number.isFinite) || Math.abs(det) < 1e-12) throw fail(name, 'voxel-to-world transform (sform/qform) is singular or not finite');
}

// --------------------------------------------------------- orientation ----

/**
 * The voxel-to-world affine (4x4 row-major, file units) as NIfTI defines it:
 * sform when sform_code > 0, else qform when qform_code > 0, else pixdim scaling.
 */
export function niftiAffine(h: NiftiHeader): number[] {
  if (h.sformCode > 0) return [...h.srow, 0, 0, 0, 1];
  if (h.qformCode > 0) return qformAffine(h);
  return scalingAffine(h.pixdim.slice(1, 4));
}

/** qform: rotation from the unit quaternion (b, c, d), scaled by pixdim, qfac on the k axis. */
function qformAffine(h: NiftiHeader): number[] {
  let [b, c, d] = h.quatern;
  let a = 1 - (b * b + c * c + d * d);
  if (a < 1e-7) {
    // b, c, d are (nearly) a unit vector: a 180° rotation, renormalised.
    const norm = Math.hypot(b, c, d);
    [a, b, c, d] = [0, b / norm, c / norm, d / norm];
  } else {
    a = Math.sqrt(a);
  }
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - b * b - c * c],
  ];
  const qfac = h.pixdim[0]! < 0 ? -1 : 1;
  const scale = [h.pixdim[1]!, h.pixdim[2]!, h.pixdim[3]! * qfac];
  const rows = r.map((row, i) => [...row.map((x, j) => x * scale[j]!), h.qoffset[i]!]);
  return [...rows.flat(), 0, 0, 0, 1];
}

/**
 * qform parameters for an affine, or undefined when its columns are not
 * orthogonal (a sheared grid, e.g. gantry tilt): then only the sform can hold it.
 */
export function affineToQform(affine: readonly number[]): { quatern: [number, number, number]; qoffset: [number, number, number]; qfac: number } | undefined {
  const col = (j: number) => [affine[j]!, affine[4 + j]!, affine[8 + j]!];
  const cols = [col(0), col(1), col(2)].map((v) => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  });
  const dot = (u: number[], v: number[]) => u[0]! * v[0]! + u[1]! * v[1]! + u[2]! * v[2]!;
  const [u, v, w] = cols as [number[], number[], number[]];
  if (!cols.flat().every(Number.isFinite) || Math.abs(dot(u, v)) > 1e-4 || Math.abs(dot(u, w)) > 1e-4 || Math.abs(dot(v, w)) > 1e-4) return undefined;
  // A left-handed grid gets qfac = -1 and a flipped third column, leaving a proper rotation.
  const cross = [u[1]! * v[2]! - u[2]! * v[1]!, u[2]! * v[0]! - u[0]! * v[2]!, u[0]! * v[1]! - u[1]! * v[0]!];
  const qfac = dot(cross, w) < 0 ? -1 : 1;
  const r = (i: number, j: number) => (j === 2 ? qfac : 1) * cols[j]![i]!;
  return { quatern: rotationToQuaternion(r), qoffset: [affine[3]!, affine[7]!, affine[11]!], qfac };
}

/** (b, c, d) of the unit quaternion with a >= 0 for a proper rotation r(i, j). */
function rotationToQuaternion(r: (i: number, j: number) => number): [number, number, number] {
  const trace = r(0, 0) + r(1, 1) + r(2, 2);
  let q: [number, number, number, number]; // a, b, c, d
  if (trace > -0.5) {
    // Largest component is a: the well-conditioned branch for most scans.
    const a = 0.5 * Math.sqrt(1 + trace);
    q = [a, (r(2, 1) - r(1, 2)) / (4 * a), (r(0, 2) - r(2, 0)) / (4 * a), (r(1, 0) - r(0, 1)) / (4 * a)];
  } else if (r(0, 0) >= r(1, 1) && r(0, 0) >= r(2, 2)) {
    const b = 0.5 * Math.sqrt(1 + r(0, 0) - r(1, 1) - r(2, 2));
    q = [(r(2, 1) - r(1, 2)) / (4 * b), b, (r(0, 1) + r(1, 0)) / (4 * b), (r(0, 2) + r(2, 0)) / (4 * b)];
  } else if (r(1, 1) >= r(2, 2)) {
    const c = 0.5 * Math.sqrt(1 + r(1, 1) - r(0, 0) - r(2, 2));
    q = [(r(0, 2) - r(2, 0)) / (4 * c), (r(0, 1) + r(1, 0)) / (4 * c), c, (r(1, 2) + r(2, 1)) / (4 * c)];
  } else {
    const d = 0.5 * Math.sqrt(1 + r(2, 2) - r(0, 0) - r(1, 1));
    q = [(r(1, 0) - r(0, 1)) / (4 * d), (r(0, 2) + r(2, 0)) / (4 * d), (r(1, 2) + r(2, 1)) / (4 * d), d];
  }
  const sign = q[0] < 0 ? -1 : 1; // q and -q are the same rotation; NIfTI stores a >= 0
  return [sign * q[1], sign * q[2], sign * q[3]];
}

// ------------------------------------------------------------- writing ----

/** A little-endian header for a 3D grid: sform = affine, qform too when the grid is not sheared. */
export function niftiHeaderForGrid(
  dims: readonly [number, number, number],
  spacing: readonly [number, number, number],
  affine: readonly number[],
  datatype: NiftiDatatype = 'int16',
): NiftiHeader {
  const q = affineToQform(affine);
  return {
    littleEndian: true,
    dim: [3, ...dims, 1, 1, 1, 1],
    pixdim: [q?.qfac ?? 1, ...spacing, 1, 1, 1, 1],
    datatype,
    voxOffset: DATA_OFFSET,
    sclSlope: 1,
    sclInter: 0,
    calMin: 0,
    calMax: 0,
    xyztUnits: NIFTI1.UNITS_MM,
    intentCode: 0,
    qformCode: q ? NIFTI1.XFORM_SCANNER_ANAT : 0,
    sformCode: NIFTI1.XFORM_SCANNER_ANAT,
    quatern: q?.quatern ?? [0, 0, 0],
    qoffset: q?.qoffset ?? [affine[3]!, affine[7]!, affine[11]!],
    srow: affine.slice(0, 12),
    descrip: '',
  };
}

/** The 352 header bytes (348 + an empty extension flag) for `h`, in its byte order. */
export function encodeNiftiHeader(h: NiftiHeader): Uint8Array {
  const bytes = new Uint8Array(DATA_OFFSET);
  const v = new DataView(bytes.buffer);
  const le = h.littleEndian;
  const info = NIFTI_DATATYPES[h.datatype];
  if (!h.dim.every((d) => Number.isInteger(d) && d >= 0 && d <= MAX_DIM)) throw new RangeError(`NIfTI-1 dimensions must be integers 0..${MAX_DIM}: ${h.dim.join(', ')}`);
  v.setInt32(0, HEADER_SIZE, le);
  bytes[38] = 0x72; // "regular" = 'r', expected by old Analyze readers
  h.dim.forEach((d, i) => v.setInt16(40 + 2 * i, d, le));
  v.setInt16(68, h.intentCode, le);
  v.setInt16(70, info.code, le);
  v.setInt16(72, info.bytes * 8, le);
  h.pixdim.forEach((p, i) => v.setFloat32(76 + 4 * i, p, le));
  v.setFloat32(108, h.voxOffset, le);
  v.setFloat32(112, h.sclSlope, le);
  v.setFloat32(116, h.sclInter, le);
  bytes[123] = h.xyztUnits;
  v.setFloat32(124, h.calMax, le);
  v.setFloat32(128, h.calMin, le);
  bytes.set(asciiBytes(h.descrip, 79), 148);
  v.setInt16(252, h.qformCode, le);
  v.setInt16(254, h.sformCode, le);
  [...h.quatern, ...h.qoffset].forEach((x, i) => v.setFloat32(256 + 4 * i, x, le));
  h.srow.forEach((x, i) => v.setFloat32(280 + 4 * i, x, le));
  bytes.set([0x6e, 0x2b, 0x31, 0], 344); // "n+1\0": header and data in one file
  return bytes;
}

function asciiBytes(text: string, max: number): Uint8Array {
  return Uint8Array.from(text.slice(0, max), (ch) => (ch.charCodeAt(0) < 128 ? ch.charCodeAt(0) : 0x3f));
}

/**
 * A whole uncompressed .nii: header, zero padding to vox_offset, then `values`
 * stored as h.datatype in h's byte order (integers rounded). Values are stored
 * as given: scl_slope/inter in `h` say how a reader turns them into HU.
 */
export function encodeNifti(h: NiftiHeader, values: ArrayLike<number>): Uint8Array {
  const rank = h.dim[0]!;
  const n = h.dim.slice(1, rank + 1).reduce((a, b) => a * b, 1);
  if (values.length !== n) throw new RangeError(`encodeNifti: ${values.length} values for a ${h.dim.slice(1, rank + 1).join('×')} image`);
  if (h.voxOffset < DATA_OFFSET) throw new RangeError(`encodeNifti: vox_offset ${h.voxOffset} < ${DATA_OFFSET}`);
  const { bytes, integer, create } = NIFTI_DATATYPES[h.datatype];
  const stored = create(n);
  if (integer) for (let i = 0; i < n; i++) stored[i] = Math.round(values[i]!);
  else stored.set(values);
  const data = new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength);
  if (h.littleEndian !== NATIVE_LITTLE_ENDIAN) swapBytes(data, bytes);
  const out = new Uint8Array(h.voxOffset + n * bytes);
  out.set(encodeNiftiHeader(h));
  out.set(data, h.voxOffset);
  return out;
}

/** Gzips with the platform's native compressor (Node 20 and browsers). */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = oneChunk(bytes).pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export interface NiftiWriteOptions {
  /** Header of the scan this volume came from: its grid (dims, pixdim, qform, sform, units) is kept. */
  reference?: NiftiHeader;
  /** Stored type: int16 (HU rounded; the default, as scanners store CT) or float32 (exact). */
  datatype?: 'int16' | 'float32';
}

/**
 * A CT volume (HU) as an uncompressed NIfTI-1 file (int16 by default);
 * `name` is used in error messages.
 */
export function encodeCtNifti(volume: Volume, options: NiftiWriteOptions = {}, name = 'CT'): Uint8Array {
  const datatype = options.datatype ?? 'int16';
  checkVolumeData(name, volume.dims, volume.data.length);
  const range = valueRange(volume.data, name);
  if (datatype === 'int16' && (Math.round(range.min) < -32768 || Math.round(range.max) > 32767)) {
    throw fail(name, `HU range [${range.min}, ${range.max}] does not fit int16; write float32 instead`);
  }
  const header: NiftiHeader = {
    ...gridHeader(volume, options.reference, name),
    datatype,
    calMin: Math.round(range.min),
    calMax: Math.round(range.max),
    descrip: 'CT, HU',
  };
  return encodeNifti(header, volume.data);
}

/** What the codes of a uint8 code map mean: the largest allowed, in words, and the header's description. */
export interface CodeMapSpec {
  maxCode: number;
  meaning: string;
  descrip: string;
}

export const LABEL_MAP_SPEC: CodeMapSpec = {
  maxCode: 3,
  meaning: 'background, LAD, LCX, RCA',
  descrip: 'CAC-Net labels: 0 bg, 1 LAD, 2 LCX, 3 RCA',
};

/**
 * A label map (uint8: 0 background, 1 LAD, 2 LCX, 3 RCA) as an uncompressed
 * NIfTI-1 file on the grid of `reference` (the scan's header) or, without
 * one, of the label map's own affine.
 */
export function encodeLabelMapNifti(labels: LabelMap, reference?: NiftiHeader, name = 'label map'): Uint8Array {
  return encodeCodeMapNifti(labels, LABEL_MAP_SPEC, reference, name);
}

/** A uint8 code map (labels, or e.g. kinds of calcium) as an uncompressed NIfTI-1 label file. */
export function encodeCodeMapNifti(codes: LabelMap, spec: CodeMapSpec, reference?: NiftiHeader, name = 'label map'): Uint8Array {
  checkVolumeData(name, codes.dims, codes.data.length);
  for (let i = 0; i < codes.data.length; i++) {
    if (codes.data[i]! > spec.maxCode) throw fail(name, `label ${codes.data[i]} at voxel ${i} is not 0..${spec.maxCode} (${spec.meaning})`);
  }
  const header: NiftiHeader = {
    ...gridHeader(codes, reference, name),
    datatype: 'uint8',
    calMin: 0,
    calMax: spec.maxCode,
    intentCode: NIFTI_INTENT_LABEL,
    descrip: spec.descrip,
  };
  return encodeNifti(header, codes.data);
}

/** An output header on the reference's grid (or one built from the grid's affine), unscaled. */
function gridHeader(grid: Pick<LabelMap, 'dims' | 'spacing' | 'affine'>, reference: NiftiHeader | undefined, path: string): NiftiHeader {
  if (!reference) return niftiHeaderForGrid(grid.dims, grid.spacing, grid.affine);
  const refDims = reference.dim.slice(1, 4);
  if (refDims.some((d, i) => d !== grid.dims[i])) {
    throw fail(path, `data is ${grid.dims.join('×')} but the reference header is ${refDims.join('×')}`);
  }
  return {
    ...reference,
    littleEndian: true,
    dim: [3, ...refDims, 1, 1, 1, 1],
    voxOffset: DATA_OFFSET,
    sclSlope: 1,
    sclInter: 0,
    intentCode: 0,
  };
}

function checkVolumeData(path: string, dims: readonly number[], length: number): void {
  if (!dims.every((d) => Number.isInteger(d) && d >= 1 && d <= MAX_DIM)) throw fail(path, `cannot write dimensions ${dims.join('×')} to NIfTI-1 (each must be 1..${MAX_DIM})`);
  if (voxelCount(dims) !== length) throw fail(path, `data has ${length} values but dimensions ${dims.join('×')} need ${voxelCount(dims)}`);
}

function valueRange(data: Float32Array, path: string): { min: number; max: number } {
  checkFinite(data, path);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    if (data[i]! < min) min = data[i]!;
    if (data[i]! > max) max = data[i]!;
  }
  return { min, max };
}
