/**
 * Kernel programs, declared once:
 *  - the uniforms, by name and type: the WGSL struct and the host packing both
 *    come from that one list, and values are packed by name;
 *  - a short cache key (op, then every choice the WGSL depends on: family,
 *    tile, vector width, ...);
 *  - a source builder, which the runtime runs only when it has no pipeline for
 *    the key yet (a conv source is tens of kilobytes: building it per dispatch
 *    cost milliseconds of host time);
 *  - the dispatch size, in workgroups or in threads of a flat kernel.
 */
import { CacnetError } from '../base/errors.js';
import type { Runtime } from './runtime.js';

export type ScalarType = 'u32' | 'i32' | 'f32';
/**
 * A uniform field: a scalar, or a list of `length` scalars packed four to a
 * vec4 (uniform arrays need a 16-byte element stride); read element k as
 * `p.name[k / 4u][k % 4u]`.
 */
export type FieldType = ScalarType | readonly [ScalarType, number];
export type Fields = Readonly<Record<string, FieldType>>;
export type UniformValues<F extends Fields> = { readonly [K in keyof F]: F[K] extends ScalarType ? number : readonly number[] };

interface Slot {
  name: string;
  type: ScalarType;
  /** Byte offset in the block. */
  offset: number;
  /** Scalars (1 for a scalar field). */
  length: number;
  list: boolean;
}

const VEC4: Record<ScalarType, string> = { u32: 'vec4u', i32: 'vec4i', f32: 'vec4f' };

/** A uniform block: its WGSL struct and the packing of its values, from one field list. */
export class UniformBlock<F extends Fields> {
  /** The WGSL struct declaration. */
  readonly struct: string;
  /** Size of a packed block (a multiple of 16 bytes). */
  readonly bytes: number;
  private readonly slots: Slot[] = [];

  constructor(fields: F, readonly structName = 'P') {
    let offset = 0;
    const members: string[] = [];
    for (const [name, t] of Object.entries(fields)) {
      if (typeof t === 'string') {
        this.slots.push({ name, type: t, offset, length: 1, list: false });
        members.push(`${name}: ${t}`);
        offset += 4;
      } else {
        const [type, length] = t;
        offset = Math.ceil(offset / 16) * 16; // arrays of vec4 align to 16 bytes
        const vecs = Math.max(1, Math.ceil(length / 4));
        this.slots.push({ name, type, offset, length, list: true });
        members.push(`${name}: array<${VEC4[type]}, ${vecs}>`);
        offset += 16 * vecs;
      }
    }
    this.bytes = Math.max(16, Math.ceil(offset / 16) * 16);
    this.struct = `struct ${structName} { ${members.join(', ')} }`;
  }

  /** The struct and its binding at @group(0) @binding(`binding`), as variable `variable`. */
  declare(binding: number, variable = 'p'): string {
    return `${this.struct}\n@group(0) @binding(${binding}) var<uniform> ${variable}: ${this.structName};`;
  }

  /** Packs values by field name. */
  pack(values: UniformValues<F>): ArrayBuffer {
    const buf = new ArrayBuffer(this.bytes);
    const view = new DataView(buf);
    const put = (type: ScalarType, at: number, v: number) => {
      if (type === 'f32') view.setFloat32(at, v, true);
      else if (type === 'i32') view.setInt32(at, v, true);
      else view.setUint32(at, v, true);
    };
    for (const s of this.slots) {
      const v = (values as Record<string, number | readonly number[]>)[s.name];
      if (!s.list) {
        if (typeof v !== 'number') throw new CacnetError(`internal error: uniform '${s.name}' needs a number, got ${String(v)}`);
        put(s.type, s.offset, v);
        continue;
      }
      if (!Array.isArray(v) || v.length > s.length) throw new CacnetError(`internal error: uniform '${s.name}' needs at most ${s.length} numbers`);
      (v as readonly number[]).forEach((x, k) => put(s.type, s.offset + 4 * k, x));
    }
    return buf;
  }
}

/** Declares a uniform block (struct `P` by default). */
export function uniformBlock<F extends Fields>(fields: F, structName = 'P'): UniformBlock<F> {
  return new UniformBlock(fields, structName);
}

export interface ProgramDefinition<V, F extends Fields> {
  /** Names the op: the first part of every key and the default debug label. */
  op: string;
  /** The uniform block, if the kernel has one; bind it right after the storage buffers. */
  uniforms?: UniformBlock<F>;
  /** The rest of the cache key: every choice `source` depends on, short (e.g. `v4|arg`). '' when none. */
  key(variant: V): string;
  /** The WGSL (entry point `main`); runs only on a pipeline-cache miss. */
  source(variant: V): string;
  /** Threads per workgroup of a flat kernel (dispatches sized in `threads`). */
  workgroupSize?: number;
}

/** One dispatch of a program. */
export interface ProgramCall<F extends Fields> {
  /** Storage buffers at @binding(0..n-1), in order. */
  buffers: readonly GPUBuffer[];
  uniforms?: UniformValues<F>;
  /** Flat thread count (needs the program's workgroupSize), or an explicit workgroup grid. */
  threads?: number;
  workgroups?: number | [number, number, number];
  /** Debug label; default: the op. */
  label?: string;
}

export class Program<V, F extends Fields = Record<never, never>> {
  constructor(private readonly def: ProgramDefinition<V, F>) {}

  get op(): string {
    return this.def.op;
  }

  get uniforms(): UniformBlock<F> | undefined {
    return this.def.uniforms;
  }

  /** The pipeline-cache key of a variant. */
  key(variant: V): string {
    const k = this.def.key(variant);
    return k ? `${this.def.op}|${k}` : this.def.op;
  }

  /** Encodes one dispatch of `variant`. */
  run(rt: Runtime, variant: V, call: ProgramCall<F>): void {
    const { def } = this;
    let workgroups = call.workgroups;
    if (call.threads !== undefined) {
      if (!def.workgroupSize) throw new CacnetError(`internal error: program '${def.op}' has no workgroup size for a thread count`);
      workgroups = Math.ceil(call.threads / def.workgroupSize);
    }
    if (workgroups === undefined) throw new CacnetError(`internal error: dispatch of '${def.op}' without a size`);
    if (call.uniforms && !def.uniforms) throw new CacnetError(`internal error: program '${def.op}' declares no uniforms`);
    rt.dispatch({
      label: call.label ?? def.op,
      key: this.key(variant),
      source: () => def.source(variant),
      buffers: call.buffers,
      uniforms: call.uniforms && def.uniforms!.pack(call.uniforms),
      workgroups,
    });
  }
}

/** Declares a program (see the file comment). */
export function program<V = void, F extends Fields = Record<never, never>>(def: ProgramDefinition<V, F>): Program<V, F> {
  return new Program(def);
}
