/**
 * Sums over one axis, viewed as [outer, r, inner]. Long axes are summed in two
 * (or more) passes of at most a chunk of elements each, so even a full sum of
 * a large volume spreads over many threads and keeps f32 rounding small.
 */
import { ShapeError, fmtShape } from '../base/errors.js';
import { Tensor, sizeOf } from '../gpu/tensor.js';
import { program, uniformBlock } from '../gpu/program.js';
import { WG, flatMain } from '../gpu/wgsl.js';
import type { DeviceProfile } from '../gpu/profile.js';

/**
 * Elements one thread sums: 1024 on a CPU adapter (few, long threads); on a
 * GPU 128, so a bias gradient's [voxels, C] sum launches thousands of threads,
 * not C·voxels/1024.
 */
const chunkFor = (profile: DeviceProfile) => (profile.family === 'swiftshader' ? 1024 : 128);

const SUM_UNIFORMS = uniformBlock({ outer: 'u32', r: 'u32', inner: 'u32', chunk: 'u32', chunks: 'u32' });
const SUM = program({
  op: 'sum',
  uniforms: SUM_UNIFORMS,
  key: () => '',
  source: () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${SUM_UNIFORMS.declare(2)}
${flatMain(`  let total = p.outer * p.chunks * p.inner;
  if (i >= total) { return; }
  let pi = i % p.inner;
  let c = (i / p.inner) % p.chunks;
  let po = i / (p.inner * p.chunks);
  let start = c * p.chunk;
  let end = min(p.r, start + p.chunk);
  var acc = 0.0;
  var idx = (po * p.r + start) * p.inner + pi;
  for (var k = start; k < end; k++) {
    acc += X[idx];
    idx += p.inner;
  }
  Y[i] = acc;`)}`,
  workgroupSize: WG,
});

/** Sums x viewed as [outer, r, inner] over r; returns a [outer, inner] tensor. */
export function sumMiddle(x: Tensor, outer: number, r: number, inner: number): Tensor {
  x.expectDtype('f32', 'sum');
  if (outer * r * inner !== x.size) throw new ShapeError(`sum: [${outer}, ${r}, ${inner}] does not match ${fmtShape(x.shape)}`);
  const most = chunkFor(x.rt.profile);
  const chunks = r > 2 * most ? Math.ceil(r / most) : 1;
  const chunk = Math.ceil(r / chunks);
  const y = Tensor.empty(x.rt, [outer, chunks, inner], 'f32', 'sum');
  SUM.run(x.rt, undefined, { buffers: [x.buffer, y.buffer], uniforms: { outer, r, inner, chunk, chunks }, threads: outer * chunks * inner });
  if (chunks === 1) {
    const out = y.view([outer, inner]);
    y.dispose();
    return out;
  }
  const out = sumMiddle(y, outer, chunks, inner);
  y.dispose();
  return out;
}

/** Normalises a list of axes (negative allowed) and checks them. */
export function normaliseAxes(op: string, rank: number, axes: number | readonly number[] | undefined): number[] {
  const list = axes === undefined ? [...Array(rank).keys()] : typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => (a < 0 ? a + rank : a));
  for (const a of out) if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeError(`${op}: axis ${a} out of range for rank ${rank}`);
  return [...new Set(out)].sort((a, b) => a - b);
}

/**
 * Sums over `axes`; the result keeps the reduced axes as size 1 when keepDims,
 * otherwise drops them. Adjacent axes are merged into one pass.
 */
export function sumAxes(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normaliseAxes('sum', x.rank, axes);
  const outShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  let cur = x;
  let curShape = [...x.shape];
  // Reduce runs of adjacent axes, last run first, so earlier indices stay valid.
  const runs: Array<[number, number]> = [];
  for (const a of ax) {
    const last = runs[runs.length - 1];
    if (last && last[1] === a) last[1] = a + 1;
    else runs.push([a, a + 1]);
  }
  for (const [s, e] of runs.reverse()) {
    const outer = sizeOf(curShape.slice(0, s));
    const r = sizeOf(curShape.slice(s, e));
    const inner = sizeOf(curShape.slice(e));
    const next = sumMiddle(cur, outer, r, inner);
    if (cur !== x) cur.dispose();
    curShape = [...curShape.slice(0, s), ...new Array(e - s).fill(1), ...curShape.slice(e)];
    cur = next;
  }
  const finalShape = keepDims ? outShape : outShape.filter((_, i) => !ax.includes(i));
  const out = cur.view(finalShape, 'sum');
  if (cur !== x) cur.dispose();
  return out;
}
