/**
 * Small shared pieces of WGSL and of kernel planning (vector width, powers of
 * two), so every kernel file reads the same way. Uniform blocks: program.ts.
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

/**
 * Vector width for a kernel over `count` f32 values: 4 (vec4 loads and
 * stores) when the count is a multiple of 4, or, for kernels that mask the
 * lanes past the end, when every buffer they touch has room for the last
 * whole vec4 (pool buffers are 256-byte multiples, so normally yes).
 */
export function vec4Width(count: number, maskedTailBuffers: readonly GPUBuffer[] = []): 1 | 4 {
  if (count % 4 === 0) return 4;
  const need = Math.ceil(count / 4) * 16;
  return maskedTailBuffers.length > 0 && maskedTailBuffers.every((b) => b.size >= need) ? 4 : 1;
}

/** WGSL type of one unit of a vector width: f32 or vec4f (u32 or vec4u). */
export function vecType(width: 1 | 4, scalar: 'f32' | 'u32' = 'f32'): string {
  return width === 1 ? scalar : scalar === 'f32' ? 'vec4f' : 'vec4u';
}

/** The smallest power of two >= v (1 for v <= 1). */
export function nextPow2(v: number): number {
  let p = 1;
  while (p < v) p *= 2;
  return p;
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
