/**
 * A minimal DICOM Part-10 writer for test fixtures: preamble, "DICM", the meta
 * group (always explicit VR little endian), then the data set in explicit VR
 * LE, implicit VR LE or explicit VR BE. Enough for single-frame CT slices.
 */

export const TRANSFER_SYNTAX = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  explicitBE: '1.2.840.10008.1.2.2',
  jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
} as const;

export type Encoding = 'explicitLE' | 'implicitLE' | 'explicitBE';

export interface DicomElement {
  /** (group << 16) | element */
  tag: number;
  vr: string;
  /** Text for string VRs (multiple values joined by "\\"), numbers for US/UL/SS, arrays for OB/OW. */
  value: string | number[] | Uint8Array | Int16Array | Uint16Array;
}

/** VRs whose explicit encoding has 2 reserved bytes and a 32-bit length. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

function valueBytes(e: DicomElement, littleEndian: boolean): Uint8Array {
  if (typeof e.value === 'string') {
    const bytes = Array.from(e.value, (ch) => ch.charCodeAt(0));
    if (bytes.length % 2) bytes.push(e.vr === 'UI' ? 0 : 0x20); // even length: UIDs pad with NUL, text with space
    return Uint8Array.from(bytes);
  }
  if (e.value instanceof Uint8Array) {
    const out = new Uint8Array(e.value.length + (e.value.length % 2));
    out.set(e.value);
    return out;
  }
  const values = Array.from(e.value);
  const width = e.vr === 'UL' ? 4 : 2;
  const out = new Uint8Array(values.length * width);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (width === 4) view.setUint32(4 * i, v, littleEndian);
    else if (e.vr === 'SS') view.setInt16(2 * i, v, littleEndian);
    else view.setUint16(2 * i, v & 0xffff, littleEndian); // US and OW; OW keeps signed values' bits
  });
  return out;
}

function encodeElement(e: DicomElement, encoding: Encoding): Uint8Array {
  const le = encoding !== 'explicitBE';
  const value = valueBytes(e, le);
  const explicit = encoding !== 'implicitLE';
  const long = !explicit || LONG_VRS.has(e.vr);
  const head = explicit ? (long ? 12 : 8) : 8;
  const out = new Uint8Array(head + value.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, e.tag >>> 16, le);
  view.setUint16(2, e.tag & 0xffff, le);
  if (explicit) {
    out[4] = e.vr.charCodeAt(0);
    out[5] = e.vr.charCodeAt(1);
    if (long) view.setUint32(8, value.length, le);
    else view.setUint16(6, value.length, le);
  } else {
    view.setUint32(4, value.length, le);
  }
  out.set(value, head);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A Part-10 file: `transferSyntax` goes in the meta group, `encoding` is how the data set is written. */
export function encodeDicomFile(
  elements: DicomElement[],
  transferSyntax: string,
  encoding: Encoding,
  sopInstanceUid = '1.2.3.4.5',
  mediaStorageSopClass = '1.2.840.10008.5.1.4.1.1.2',
): Uint8Array {
  const meta = [
    { tag: 0x00020001, vr: 'OB', value: Uint8Array.of(0, 1) },
    { tag: 0x00020002, vr: 'UI', value: mediaStorageSopClass },
    { tag: 0x00020003, vr: 'UI', value: sopInstanceUid },
    { tag: 0x00020010, vr: 'UI', value: transferSyntax },
    { tag: 0x00020012, vr: 'UI', value: '1.2.826.0.1.3680043.10.1' },
  ].map((e) => encodeElement(e, 'explicitLE'));
  const metaLength = meta.reduce((n, p) => n + p.length, 0);
  const groupLength = encodeElement({ tag: 0x00020000, vr: 'UL', value: [metaLength] }, 'explicitLE');
  const body = [...elements].sort((a, b) => a.tag - b.tag).map((e) => encodeElement(e, encoding));
  const preamble = new Uint8Array(132);
  preamble.set([0x44, 0x49, 0x43, 0x4d], 128); // "DICM"
  return concat([preamble, groupLength, ...meta, ...body]);
}

export interface CtSlice {
  seriesUid: string;
  instanceNumber: number;
  rows: number;
  columns: number;
  /** [between rows, between columns] in mm, DICOM order. */
  pixelSpacing: [number, number];
  orientation: number[];
  position: number[];
  /** Stored values, row by row (columns fastest). */
  pixels: number[];
  signed: boolean;
  bitsStored?: number;
  slope?: number;
  intercept?: number;
  /** More elements (ImageType, KVP, ...); one with a tag already written replaces it. */
  extra?: DicomElement[];
}

const ds = (values: number[]) => values.map((v) => String(+v.toPrecision(10))).join('\\');

/** The elements of a single-frame CT image slice. */
export function ctSliceElements(s: CtSlice): DicomElement[] {
  const bitsStored = s.bitsStored ?? 16;
  const base: DicomElement[] = [
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
    { tag: 0x00080018, vr: 'UI', value: `${s.seriesUid}.${s.instanceNumber}` },
    { tag: 0x00080060, vr: 'CS', value: 'CT' },
    { tag: 0x0020000e, vr: 'UI', value: s.seriesUid },
    { tag: 0x00200013, vr: 'IS', value: String(s.instanceNumber) },
    { tag: 0x00200032, vr: 'DS', value: ds(s.position) },
    { tag: 0x00200037, vr: 'DS', value: ds(s.orientation) },
    { tag: 0x00280002, vr: 'US', value: [1] },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: [s.rows] },
    { tag: 0x00280011, vr: 'US', value: [s.columns] },
    { tag: 0x00280030, vr: 'DS', value: ds(s.pixelSpacing) },
    { tag: 0x00280100, vr: 'US', value: [16] },
    { tag: 0x00280101, vr: 'US', value: [bitsStored] },
    { tag: 0x00280102, vr: 'US', value: [bitsStored - 1] },
    { tag: 0x00280103, vr: 'US', value: [s.signed ? 1 : 0] },
    { tag: 0x00281052, vr: 'DS', value: ds([s.intercept ?? 0]) },
    { tag: 0x00281053, vr: 'DS', value: ds([s.slope ?? 1]) },
    { tag: 0x7fe00010, vr: 'OW', value: s.pixels },
  ];
  return [...base.filter((e) => !s.extra?.some((x) => x.tag === e.tag)), ...(s.extra ?? [])];
}

/** The value of an explicit-VR little-endian sequence (SQ) of `items`, each with explicit length. */
export function encodeSequence(items: DicomElement[][]): Uint8Array {
  return concat(
    items.map((item) => {
      const body = concat([...item].sort((a, b) => a.tag - b.tag).map((e) => encodeElement(e, 'explicitLE')));
      const head = new Uint8Array(8);
      const view = new DataView(head.buffer);
      view.setUint16(0, 0xfffe, true);
      view.setUint16(2, 0xe000, true);
      view.setUint32(4, body.length, true);
      return concat([head, body]);
    }),
  );
}

/** A DICOMDIR whose IMAGE records reference `files` (each a list of path components, e.g. ['DICOM', 'IM1']). */
export function encodeDicomdir(files: string[][]): Uint8Array {
  const records = files.map((parts) => [
    { tag: 0x00041430, vr: 'CS', value: 'IMAGE' },
    { tag: 0x00041500, vr: 'CS', value: parts.join('\\') },
  ]);
  return encodeDicomFile(
    [{ tag: 0x00041220, vr: 'SQ', value: encodeSequence(records) }],
    TRANSFER_SYNTAX.explicitLE,
    'explicitLE',
    '1.2.826.0.1.3680043.10.1.9',
    '1.2.840.10008.1.3.10',
  );
}

/** A CT slice as a Part-10 file in the given encoding. */
export function encodeCtSlice(s: CtSlice, encoding: Encoding = 'explicitLE', transferSyntax: string = TRANSFER_SYNTAX[encoding]): Uint8Array {
  return encodeDicomFile(ctSliceElements(s), transferSyntax, encoding, `${s.seriesUid}.${s.instanceNumber}`);
}
