/**
 * Small shared pieces of WGSL and the host side of uniform blocks, so every
 * kernel file reads the same way.
 */

/** Threads per workgroup for 1D (elementwise) kernels. */
export const WG = 256;

/**
 * The entry point of a flat 1D kernel: `i` is the global thread index, valid
 * even when the grid was split in two dimensions past 65535 workgroups.
 * The body must bounds-check `i` itself.
 */
export function flatMain(body: string, workgroupSize = WG): string {
  return /* wgsl */ `
@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * ${workgroupSize}u + lid;
${body}
}`;
}

/** Workgroups needed for `n` threads of a flat kernel. */
export function groupsFor(n: number, workgroupSize = WG): number {
  return Math.ceil(n / workgroupSize);
}

type Field = ['u32' | 'i32' | 'f32', number];

/**
 * Packs a uniform block field by field (4 bytes each, padded to 16 bytes).
 * Fields must be declared in the same order in the WGSL struct, all scalars.
 */
export function params(...fields: Field[]): ArrayBuffer {
  const bytes = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  const buf = new ArrayBuffer(bytes);
  const view = new DataView(buf);
  fields.forEach(([type, value], i) => {
    if (type === 'f32') view.setFloat32(i * 4, value, true);
    else if (type === 'i32') view.setInt32(i * 4, value, true);
    else view.setUint32(i * 4, value, true);
  });
  return buf;
}

/** Shorthand for a block of u32 fields. */
export function u32s(...values: number[]): ArrayBuffer {
  return params(...values.map((v): Field => ['u32', v]));
}

/**
 * WGSL helper: splits a flat channels-last index into (n, z, y, x, c) for a
 * [N, D, H, W, C] tensor (2D tensors use D = 1). Kernels that walk one
 * output or input element per thread include it once.
 */
export const NDHWC_INDEX = /* wgsl */ `
struct Ndhwc { n: u32, z: u32, y: u32, x: u32, c: u32 }
fn ndhwcAt(i: u32, c: u32, w: u32, h: u32, d: u32) -> Ndhwc {
  var r = i / c;
  let x = r % w;
  r = r / w;
  let y = r % h;
  r = r / h;
  return Ndhwc(r / d, r % d, y, x, i % c);
}`;
