/**
 * A one-node ONNX model (Conv, stride 1, same padding, no bias) written as
 * protobuf bytes by hand, and an onnxruntime-node CPU session for it: what a
 * CPU-only user would reach for instead of WebGPU. ONNX is channels-first, so
 * inputs are transposed from our channels-last layout before timing, and the
 * output back only for the agreement check.
 *
 * The protobuf subset: varints (wire type 0) and length-delimited fields
 * (wire type 2), field numbers from onnx.proto (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto).
 */
import { createRequire } from 'node:module';
import { prod } from './context.js';

class Writer {
  private bytes: number[] = [];
  varint(v: number): this {
    let n = BigInt(v);
    if (n < 0n) n += 1n << 64n;
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n > 0n) b |= 0x80;
      this.bytes.push(b);
    } while (n > 0n);
    return this;
  }
  int(field: number, v: number): this {
    return this.varint((field << 3) | 0).varint(v);
  }
  raw(field: number, data: Uint8Array): this {
    this.varint((field << 3) | 2).varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }
  str(field: number, s: string): this {
    return this.raw(field, new TextEncoder().encode(s));
  }
  msg(field: number, w: Writer): this {
    return this.raw(field, w.done());
  }
  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const INTS = 7; // AttributeProto.AttributeType.INTS

function intsAttr(name: string, values: number[]): Writer {
  const a = new Writer().str(1, name);
  for (const v of values) a.int(8, v);
  return a.int(20, INTS);
}

function valueInfo(name: string, dims: number[]): Writer {
  const shape = new Writer();
  for (const d of dims) shape.msg(1, new Writer().int(1, d));
  const tensor = new Writer().int(1, FLOAT).msg(2, shape);
  return new Writer().str(1, name).msg(2, new Writer().msg(1, tensor));
}

/** ModelProto bytes for Y = Conv(X, W), W an initializer; X [N, Cin, ...spatial], W [Cout, Cin, ...kernel]. */
export function convModel(xDims: number[], wDims: number[], w: Float32Array): Uint8Array {
  const k = wDims.slice(2);
  const yDims = [xDims[0]!, wDims[0]!, ...xDims.slice(2)];
  const node = new Writer().str(1, 'X').str(1, 'W').str(2, 'Y').str(3, 'conv').str(4, 'Conv')
    .msg(5, intsAttr('kernel_shape', k))
    .msg(5, intsAttr('pads', [...k.map((s) => (s - 1) >> 1), ...k.map((s) => s >> 1)]))
    .msg(5, intsAttr('strides', k.map(() => 1)));
  const init = new Writer();
  for (const d of wDims) init.int(1, d);
  init.int(2, FLOAT).str(8, 'W').raw(9, new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
  const graph = new Writer().msg(1, node).str(2, 'conv').msg(5, init).msg(11, valueInfo('X', xDims)).msg(12, valueInfo('Y', yDims));
  return new Writer()
    .int(1, 7) // ir_version 7
    .str(2, 'cacnet-bench')
    .msg(7, graph)
    .msg(8, new Writer().str(1, '').int(2, 13)) // opset 13
    .done();
}

/** [N, ...S, C] -> [N, C, ...S] */
export function toChannelsFirst(x: Float32Array, shape: readonly number[]): Float32Array {
  const n = shape[0]!;
  const c = shape[shape.length - 1]!;
  const s = prod(shape.slice(1, -1));
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let i = 0; i < s; i++) for (let k = 0; k < c; k++) out[(b * c + k) * s + i] = x[(b * s + i) * c + k]!;
  return out;
}

/** [N, C, ...S] -> [N, ...S, C] */
export function toChannelsLast(x: Float32Array, n: number, c: number, s: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let k = 0; k < c; k++) for (let i = 0; i < s; i++) out[(b * s + i) * c + k] = x[(b * c + k) * s + i]!;
  return out;
}

/** Weights [...K, Cin, Cout] (ours, tfjs) -> [Cout, Cin, ...K] (ONNX). */
export function weightsToOnnx(w: Float32Array, shape: readonly number[]): Float32Array {
  const cin = shape[shape.length - 2]!;
  const cout = shape[shape.length - 1]!;
  const taps = prod(shape.slice(0, -2));
  const out = new Float32Array(w.length);
  for (let t = 0; t < taps; t++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) out[(o * cin + i) * taps + t] = w[(t * cin + i) * cout + o]!;
  return out;
}

interface OrtTensor {
  data: Float32Array;
  dims: readonly number[];
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release?(): Promise<void>;
}
export interface Ort {
  InferenceSession: { create(model: Uint8Array, opts?: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  env: { versions?: Record<string, string> };
}

/** onnxruntime-node, or null when it is not installed (the rows then leave it out). */
export function loadOrt(): Ort | null {
  try {
    return createRequire(import.meta.url)('onnxruntime-node') as Ort;
  } catch {
    return null;
  }
}

export interface OnnxConv {
  /** One inference; resolves to the raw channels-first output. */
  run(): Promise<Float32Array>;
  /** The last output, channels-last (for the agreement check). */
  channelsLast(y: Float32Array): Float32Array;
  release(): Promise<void>;
}

/** A session for conv of x (channels-last data and shape) with w ([...K, Cin, Cout]). */
export async function onnxConv(ort: Ort, x: Float32Array, xShape: readonly number[], w: Float32Array, wShape: readonly number[]): Promise<OnnxConv> {
  const cin = wShape[wShape.length - 2]!;
  const cout = wShape[wShape.length - 1]!;
  const spatial = xShape.slice(1, -1);
  const xDims = [xShape[0]!, cin, ...spatial];
  const wDims = [cout, cin, ...wShape.slice(0, -2)];
  const session = await ort.InferenceSession.create(convModel(xDims, wDims, weightsToOnnx(w, wShape)), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
  });
  const feed = { X: new ort.Tensor('float32', toChannelsFirst(x, xShape), xDims) };
  return {
    run: async () => (await session.run(feed)).Y!.data,
    channelsLast: (y) => toChannelsLast(y, xShape[0]!, cout, prod(spatial)),
    release: async () => session.release?.(),
  };
}
