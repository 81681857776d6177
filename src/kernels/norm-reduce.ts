/**
 * Per-channel pair sums for the normalisations: for a channels-last tensor
 * viewed as [outer, rows, C], computes Σ a and Σ b over the rows of each outer
 * slice, where (a, b) is a pair of quantities per element chosen by the caller
 * ((x - k, (x - k)²) for moments, (dy, dy·x̂) for the backward pass).
 *
 * One workgroup owns a block of channel lanes and a chunk of rows: each thread
 * strides over the chunk's rows accumulating in registers (vec4 when C % 4 = 0),
 * then a tree reduction in workgroup memory folds the row lanes. Long
 * reductions leave one partial row per chunk, [outer, chunks, 2, C]; the same
 * kernel, reading those partials, folds them again until one row is left.
 */
import { CacnetError, ShapeError } from '../base/errors.js';
import { Tensor } from '../gpu/tensor.js';
import { program, uniformBlock } from '../gpu/program.js';
import { nextPow2 } from '../gpu/wgsl.js';
import { fillTarget, type DeviceProfile } from '../gpu/profile.js';

/** Threads per reduction workgroup: 64 with long register runs beats 256 with a deep tree on SwiftShader (barriers are costly there), 25x on the CAC-Net step, and stays fine on GPUs. */
const THREADS = 64;
/** Most channel lanes per workgroup; the rest of the threads are row lanes. */
const MAX_CHANNEL_LANES = 16;

/**
 * Rows each thread accumulates in registers before the tree reduction. A CPU
 * adapter wants long runs (each workgroup's barriers cost microseconds); a
 * GPU wants enough chunks to fill every compute unit (one workgroup per
 * channel block and slice does not), at least 4 rows a thread.
 */
function rowsPerThread(profile: DeviceProfile, g: ReduceGeometry, rowLanes: number, cblocks: number): number {
  if (profile.family === 'swiftshader') return 64;
  const chunks = Math.ceil(fillTarget(profile) / (cblocks * g.outer));
  return Math.max(4, Math.min(64, Math.ceil(g.rows / (rowLanes * chunks))));
}

/** How the reduced tensor is laid out. */
export interface ReduceGeometry {
  /** Slices reduced separately (1 for batch norm, N for group norm). */
  outer: number;
  /** Rows per slice (spatial positions; each row holds C channels). */
  rows: number;
  /** Channels (the contiguous last axis). */
  c: number;
  /** Channels per group (only read by load functions that need it). */
  cg: number;
  /** 4 when the channels are read as vec4 (C % 4 = 0), else 1. */
  vec: 1 | 4;
}

/** A caller's per-element quantities: bindings, helpers and the load body. */
export interface PairLoad {
  label: string;
  /** Names the load in pipeline-cache keys: one per distinct decls/body. */
  key: string;
  /**
   * WGSL declarations of the input bindings @binding(0..inputs.length-1) plus
   * any helpers. `V` is f32 or vec4f to match `vec`; `p` is the uniform block
   * (fields outer, rows, cv, chunks, rowsPerChunk, cblocks, c, cg).
   */
  decls: string;
  /** Body of `fn load(o: u32, row: u32, cv: u32) -> Pair` (Pair { a: V, b: V }); cv indexes channel vectors. */
  body: string;
  inputs: readonly Tensor[];
}

/** The uniform block every load body may read as `p`. */
const REDUCE_UNIFORMS = uniformBlock({ outer: 'u32', rows: 'u32', cv: 'u32', chunks: 'u32', rowsPerChunk: 'u32', cblocks: 'u32', c: 'u32', cg: 'u32' });

/** Channel lanes per workgroup for `cv` channel vectors (a power of two). */
function channelLanes(cv: number): number {
  return Math.min(MAX_CHANNEL_LANES, nextPow2(cv));
}

/** WGSL for one reduction pass with `lanes` channel lanes. */
export function pairSumSource(load: Pick<PairLoad, 'decls' | 'body'>, inputs: number, vec: 1 | 4, lanes: number): string {
  const rowLanes = THREADS / lanes;
  const V = vec === 4 ? 'vec4f' : 'f32';
  return /* wgsl */ `
alias V = ${V};
struct Pair { a: V, b: V }
${load.decls}
@group(0) @binding(${inputs}) var<storage, read_write> OUT: array<V>;
${REDUCE_UNIFORMS.declare(inputs + 1)}
var<workgroup> sa: array<V, ${THREADS}>;
var<workgroup> sb: array<V, ${THREADS}>;

fn load(o: u32, row: u32, cv: u32) -> Pair {
${load.body}
}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  // Flat workgroup index (the runtime splits big grids into x*y); uniform, so
  // returning here keeps the barriers below in uniform control flow.
  let wg = wid.x + wid.y * nwg.x;
  if (wg >= p.cblocks * p.chunks * p.outer) { return; }
  let cb = wg % p.cblocks;
  let chunk = (wg / p.cblocks) % p.chunks;
  let o = wg / (p.cblocks * p.chunks);
  let tx = lid % ${lanes}u;
  let ty = lid / ${lanes}u;
  let cv = cb * ${lanes}u + tx;
  let start = chunk * p.rowsPerChunk;
  let end = min(p.rows, start + p.rowsPerChunk);

  var a = V(0.0);
  var b = V(0.0);
  if (cv < p.cv) {
    for (var r = start + ty; r < end; r += ${rowLanes}u) {
      let q = load(o, r, cv);
      a += q.a;
      b += q.b;
    }
  }
  sa[lid] = a;
  sb[lid] = b;
  workgroupBarrier();
  for (var s = ${rowLanes / 2}u; s > 0u; s = s >> 1u) {
    if (ty < s) {
      sa[lid] += sa[lid + s * ${lanes}u];
      sb[lid] += sb[lid + s * ${lanes}u];
    }
    workgroupBarrier();
  }
  if (ty == 0u && cv < p.cv) {
    let base = (o * p.chunks + chunk) * 2u * p.cv;
    OUT[base + cv] = sa[tx];
    OUT[base + p.cv + cv] = sb[tx];
  }
}`;
}

interface Variant {
  load: Pick<PairLoad, 'key' | 'decls' | 'body'>;
  inputs: number;
  vec: 1 | 4;
  lanes: number;
}

const PAIR_SUMS = program({
  op: 'pair-sums',
  uniforms: REDUCE_UNIFORMS,
  key: (v: Variant) => `${v.load.key}|v${v.vec}|l${v.lanes}`,
  source: (v: Variant) => pairSumSource(v.load, v.inputs, v.vec, v.lanes),
});

/** Folds partial rows [outer, rows, 2, C] into [outer, chunks, 2, C]. */
const combineLoad = {
  key: 'combine',
  decls: '@group(0) @binding(0) var<storage, read> PART: array<V>;',
  body: `  let base = (o * p.rows + row) * 2u * p.cv;
  return Pair(PART[base + cv], PART[base + p.cv + cv]);`,
};

function onePass(load: Pick<PairLoad, 'label' | 'key' | 'decls' | 'body'>, inputs: readonly Tensor[], g: ReduceGeometry): Tensor {
  const rt = inputs[0]!.rt;
  const cv = g.c / g.vec;
  const lanes = channelLanes(cv);
  const rowLanes = THREADS / lanes;
  const cblocks = Math.ceil(cv / lanes);
  const rowsPerChunk = rowLanes * rowsPerThread(rt.profile, g, rowLanes, cblocks);
  const chunks = Math.ceil(g.rows / rowsPerChunk);
  const out = Tensor.empty(rt, [g.outer, chunks, 2, g.c], 'f32', load.label);
  PAIR_SUMS.run(rt, { load, inputs: inputs.length, vec: g.vec, lanes }, {
    label: load.label,
    buffers: [...inputs.map((t) => t.buffer), out.buffer],
    uniforms: { outer: g.outer, rows: g.rows, cv, chunks, rowsPerChunk, cblocks, c: g.c, cg: g.cg },
    workgroups: cblocks * chunks * g.outer,
  });
  return out;
}

/**
 * Σ a and Σ b over the rows of each slice: a [outer, 2, C] tensor whose row 0
 * holds Σ a and row 1 Σ b per (slice, channel). Takes as many passes as the
 * row count needs; intermediate partials are disposed.
 */
export function pairSums(load: PairLoad, g: ReduceGeometry): Tensor {
  if (load.inputs.length === 0) throw new CacnetError(`internal error: ${load.label} has no inputs`);
  if (g.outer < 1 || g.rows < 1 || g.c < 1 || g.c % g.vec !== 0) {
    throw new ShapeError(`${load.label}: cannot reduce [${g.outer}, ${g.rows}, ${g.c}] (vec ${g.vec})`);
  }
  let part = onePass(load, load.inputs, g);
  while (part.shape[1]! > 1) {
    const rows = part.shape[1]!;
    const next = onePass({ label: `${load.label}-combine`, ...combineLoad }, [part], { ...g, rows });
    part.dispose();
    part = next;
  }
  const out = part.view([g.outer, 2, g.c], load.label);
  part.dispose();
  return out;
}

/** Sums [outer, 2, C] pair sums over the slices, giving [1, 2, C] (group norm's dγ, dβ). */
export function sumOverSlices(sums: Tensor, vec: 1 | 4): Tensor {
  const [outer, two, c] = sums.shape;
  if (sums.rank !== 3 || two !== 2) throw new CacnetError(`internal error: pair sums of shape ${sums.shape.join('x')}`);
  return pairSums({ label: 'norm-sum-slices', ...combineLoad, inputs: [sums] }, { outer: 1, rows: outer!, c: c!, cg: 1, vec });
}
