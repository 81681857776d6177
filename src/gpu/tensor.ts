/**
 * A tensor: a shape, an element type and a reference-counted GPU buffer.
 * Reshapes are views sharing the buffer (channels-last makes the paper's τ and
 * τ⁻¹ such views). The autograd fields are filled in by src/autograd only.
 */
import { DisposedTensorError, DtypeError, ShapeError, fmtShape } from '../base/errors.js';
import type { Runtime } from './runtime.js';
import { track, type Scoped } from './scope.js';

export type Dtype = 'f32' | 'u32' | 'i32';
export type Shape = readonly number[];

/** A GPU buffer shared by a tensor and its views. */
class Storage {
  refs = 1;
  constructor(
    readonly rt: Runtime,
    readonly buffer: GPUBuffer,
  ) {}
  release(): void {
    if (--this.refs === 0) this.rt.recycle(this.buffer);
  }
}

/** What the tape attaches to a tensor it produced (opaque here). */
export interface GradNode {
  readonly id: number;
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(shape: Shape, what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${what}: invalid shape ${fmtShape(shape)}`);
  }
}

let nextId = 1;

export class Tensor implements Scoped {
  readonly id = nextId++;
  readonly size: number;
  private storage: Storage | null;

  // Autograd (owned by src/autograd).
  requiresGrad = false;
  grad: Tensor | null = null;
  gradNode: GradNode | null = null;
  /** A human name for parameters (checkpoints, error messages). */
  name = '';

  private constructor(
    readonly rt: Runtime,
    readonly shape: Shape,
    readonly dtype: Dtype,
    storage: Storage,
  ) {
    this.size = sizeOf(shape);
    this.storage = storage;
    rt.liveTensors++;
    track(this);
  }

  /** An uninitialised tensor (kernels write it). */
  static empty(rt: Runtime, shape: Shape, dtype: Dtype = 'f32', what = 'tensor'): Tensor {
    checkShape(shape, what);
    const bytes = Math.max(4, sizeOf(shape) * 4);
    return new Tensor(rt, [...shape], dtype, new Storage(rt, rt.allocate(bytes, `${what} ${fmtShape(shape)}`)));
  }

  /** A tensor holding host data. */
  static from(rt: Runtime, data: ArrayLike<number> | Float32Array | Uint32Array | Int32Array, shape: Shape, dtype: Dtype = 'f32'): Tensor {
    checkShape(shape, 'tensor');
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError(`tensor: ${data.length} values do not fill shape ${fmtShape(shape)} (${sizeOf(shape)} elements)`);
    }
    const t = Tensor.empty(rt, shape, dtype);
    const typed =
      dtype === 'f32'
        ? data instanceof Float32Array ? data : Float32Array.from(data)
        : dtype === 'u32'
          ? data instanceof Uint32Array ? data : Uint32Array.from(data)
          : data instanceof Int32Array ? data : Int32Array.from(data);
    if (typed.length > 0) rt.write(t.buffer, typed);
    return t;
  }

  get buffer(): GPUBuffer {
    if (!this.storage) throw new DisposedTensorError(`tensor #${this.id} ${fmtShape(this.shape)} was used after dispose()`);
    return this.storage.buffer;
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.storage === null;
  }

  /** The byte length of the data (the buffer may be larger: pool size class). */
  get byteLength(): number {
    return this.size * 4;
  }

  /** A view with another shape over the same buffer (no copy). */
  view(shape: Shape, op = 'reshape'): Tensor {
    const storage = this.liveStorage(op);
    const resolved = resolveShape(shape, this.size, op, this.shape);
    storage.refs++;
    return new Tensor(this.rt, resolved, this.dtype, storage);
  }

  /** Reads the values back to the host (submits pending GPU work). */
  async read(): Promise<Float32Array | Uint32Array | Int32Array> {
    const storage = this.liveStorage('read');
    const bytes = await this.rt.read(storage.buffer, this.byteLength);
    return this.dtype === 'f32' ? new Float32Array(bytes) : this.dtype === 'u32' ? new Uint32Array(bytes) : new Int32Array(bytes);
  }

  /** Reads an f32 tensor back as a Float32Array. */
  async readF32(): Promise<Float32Array> {
    this.expectDtype('f32', 'readF32');
    return (await this.read()) as Float32Array;
  }

  /** Reads a one-element tensor back as a number. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new ShapeError(`item: tensor ${fmtShape(this.shape)} has ${this.size} elements, not 1`);
    return (await this.read())[0]!;
  }

  dispose(): void {
    if (!this.storage) return;
    this.storage.release();
    this.storage = null;
    this.rt.liveTensors--;
    this.gradNode = null;
  }

  expectDtype(dtype: Dtype, op: string): void {
    if (this.dtype !== dtype) throw new DtypeError(`${op}: expected a ${dtype} tensor, got ${this.dtype} ${fmtShape(this.shape)}`);
  }

  /** Throws a clear error if the tensor was disposed. */
  assertLive(op: string): void {
    this.liveStorage(op);
  }

  private liveStorage(op: string): Storage {
    if (!this.storage) throw new DisposedTensorError(`${op}: tensor #${this.id} ${fmtShape(this.shape)} was used after dispose()`);
    return this.storage;
  }

  toString(): string {
    return `Tensor#${this.id}${fmtShape(this.shape)}:${this.dtype}`;
  }
}

/** Resolves one -1 in a target shape and checks the element count. */
export function resolveShape(shape: Shape, size: number, op: string, from: Shape): number[] {
  const out = [...shape];
  const free = out.indexOf(-1);
  if (free >= 0) {
    const rest = sizeOf(out.filter((_, i) => i !== free));
    if (rest === 0 || size % rest !== 0) throw new ShapeError(`${op}: cannot view ${fmtShape(from)} as ${fmtShape(shape)}`);
    out[free] = size / rest;
  }
  checkShape(out, op);
  if (sizeOf(out) !== size) throw new ShapeError(`${op}: cannot view ${fmtShape(from)} (${size} elements) as ${fmtShape(shape)}`);
  return out;
}
