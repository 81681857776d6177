/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header
 * ({name: {dtype, shape, data_offsets}}, plus "__metadata__" strings), then the
 * raw little-endian tensor bytes. Plain bytes in and out: works in browsers.
 */
import { InputError } from '../base/errors.js';

export interface NamedArray {
  data: Float32Array;
  shape: number[];
}

export function encodeSafetensors(tensors: Map<string, NamedArray>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const names = [...tensors.keys()].sort();
  for (const name of names) {
    const t = tensors.get(name)!;
    const bytes = t.data.length * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned.
  const enc = new TextEncoder();
  while ((8 + enc.encode(json).length) % 8 !== 0) json += ' ';
  const headerBytes = enc.encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Decodes safetensors bytes; anything malformed is an InputError naming `source` (F32 tensors only). */
export function decodeSafetensors(bytes: Uint8Array, source = 'weights'): { tensors: Map<string, NamedArray>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new InputError(`${source}: not a safetensors file (shorter than its 8-byte header length)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n <= 0 || 8 + n > bytes.length) throw new InputError(`${source}: not a safetensors file (header length ${n} does not fit the file of ${bytes.length} bytes)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw new InputError(`${source}: corrupt safetensors header (not JSON)`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new InputError(`${source}: corrupt safetensors header (not a JSON object)`);
  const dataStart = 8 + n;
  const tensors = new Map<string, NamedArray>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Object.values(entry).some((v) => typeof v !== 'string')) {
        throw new InputError(`${source}: corrupt safetensors header (__metadata__ must map names to strings)`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (e?.dtype !== 'F32') throw new InputError(`${source}: tensor '${name}' has dtype ${JSON.stringify(e?.dtype)}; only F32 is supported`);
    const shape = e.shape;
    const offsets = e.data_offsets;
    if (!Array.isArray(shape) || !shape.every(isCount) || !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      throw new InputError(`${source}: tensor '${name}' has a malformed shape or data_offsets`);
    }
    const [b, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, d) => a * d, 1);
    if (end < b || end - b !== count * 4 || dataStart + end > bytes.length) throw new InputError(`${source}: tensor '${name}' is truncated or its offsets are corrupt`);
    const copy = bytes.slice(dataStart + b, dataStart + end);
    tensors.set(name, { data: new Float32Array(copy.buffer), shape: shape as number[] });
  }
  return { tensors, metadata };
}
