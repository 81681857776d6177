/**
 * Channel-slab copies for channels-last tensors: concatenation along the last
 * axis and its backward (slicing a channel range back out).
 */
import { ShapeError, fmtShape } from '../base/errors.js';
import { Tensor } from '../gpu/tensor.js';
import { program, uniformBlock } from '../gpu/program.js';
import { WG, flatMain } from '../gpu/wgsl.js';

const COPY_UNIFORMS = uniformBlock({ rows: 'u32', count: 'u32', srcC: 'u32', srcOff: 'u32', dstC: 'u32', dstOff: 'u32' });
const COPY = program({
  op: 'copyChannels',
  uniforms: COPY_UNIFORMS,
  key: () => '',
  source: () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> S: array<f32>;
@group(0) @binding(1) var<storage, read_write> D: array<f32>;
${COPY_UNIFORMS.declare(2)}
${flatMain(`  if (i >= p.rows * p.count) { return; }
  let row = i / p.count;
  let c = i % p.count;
  D[row * p.dstC + p.dstOff + c] = S[row * p.srcC + p.srcOff + c];`)}`,
  workgroupSize: WG,
});

/** Copies `count` channels per row from src (at srcOff) into dst (at dstOff). */
export function copyChannels(src: Tensor, srcOff: number, dst: Tensor, dstOff: number, count: number): void {
  const srcC = src.shape[src.rank - 1]!;
  const dstC = dst.shape[dst.rank - 1]!;
  const rows = src.size / srcC;
  if (dst.size / dstC !== rows) throw new ShapeError(`copyChannels: ${fmtShape(src.shape)} and ${fmtShape(dst.shape)} differ outside the channel axis`);
  COPY.run(src.rt, undefined, { buffers: [src.buffer, dst.buffer], uniforms: { rows, count, srcC, srcOff, dstC, dstOff }, threads: rows * count });
}

/** Concatenates along the last (channel) axis. */
export function concatChannels(xs: readonly Tensor[]): Tensor {
  if (xs.length === 0) throw new ShapeError('concat: no tensors given');
  const first = xs[0]!;
  const lead = first.shape.slice(0, -1);
  for (const x of xs) {
    x.expectDtype('f32', 'concat');
    if (x.rank !== first.rank || x.shape.slice(0, -1).some((d, i) => d !== lead[i])) {
      throw new ShapeError(`concat: shapes ${xs.map((t) => fmtShape(t.shape)).join(', ')} differ outside the channel axis`);
    }
  }
  const total = xs.reduce((s, x) => s + x.shape[x.rank - 1]!, 0);
  const y = Tensor.empty(first.rt, [...lead, total], 'f32', 'concat');
  let off = 0;
  for (const x of xs) {
    const c = x.shape[x.rank - 1]!;
    copyChannels(x, 0, y, off, c);
    off += c;
  }
  return y;
}

/** Channels [start, start+count) of x. */
export function sliceChannels(x: Tensor, start: number, count: number): Tensor {
  const c = x.shape[x.rank - 1]!;
  if (start < 0 || count < 0 || start + count > c) throw new ShapeError(`sliceChannels: [${start}, ${start + count}) outside ${c} channels of ${fmtShape(x.shape)}`);
  const y = Tensor.empty(x.rt, [...x.shape.slice(0, -1), count], 'f32', 'sliceChannels');
  copyChannels(x, start, y, 0, count);
  return y;
}
