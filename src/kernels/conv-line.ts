/**
 * The SwiftShader family of the convolutions (a CPU adapter). All three
 * passes are GEMMs on the line core in gemm-core.ts; lines are the W rows of
 * the volume, taps the KW offsets:
 *  - forward  Y[v, co] = Σ X[v + t - p, ci] · W[t, ci, co]      (B resident: weights)
 *  - dX       dX[v, ci] = Σ dY[v + t - p, co] · W[flip t, ci, co] (same kernel, B = flipped, transposed W)
 *  - dW       dW[t, ci, co] = Σ_v X[v + t - p, ci] · dY[v, co]    (C resident: dW chunk; K = voxels
 *             split over workgroups into partial sums, then reduced)
 * Spatial sizes and channel counts are uniforms; KH, KW, the chunk width and
 * the blocking are baked into the source, so a network's many layer widths
 * share a few pipelines (each SwiftShader compile costs about a second).
 * A K too long to unroll in one pipeline runs as several chunk dispatches
 * that accumulate into Y (forward, dX) or as the grid's z axis (dW).
 */
import type { DeviceProfile } from '../gpu/profile.js';
import { Tensor } from '../gpu/tensor.js';
import type { Runtime } from '../gpu/runtime.js';
import { program, uniformBlock } from '../gpu/program.js';
import { nextPow2 } from '../gpu/wgsl.js';
import { MAX_UNROLLED_FMAS, residentBSource, residentCSource, unrolledFmas, type LineGemmShape } from './gemm-core.js';
import { sumMiddle } from './reduce.js';
import type { ConvGeometry, ConvOptions } from './conv-geometry.js';

/** Partial weight gradients kept at most (floats) before the split count is reduced. */
const PARTIAL_FLOATS = 1 << 23;

/** How one GEMM pass is blocked and chunked. */
interface Plan {
  shape: LineGemmShape;
  /** KD planes per chunk (divides KD). */
  kdPerChunk: number;
  /** Channel blocks per KD block. */
  channelBlocks: number;
  chunks: number;
}

/**
 * Picks NB (columns per lane) and MB (positions per block) so a block holds at
 * most 16 accumulators, then the chunk of K (KD planes × channels) to unroll.
 * Channel counts are uniforms and chunk widths come from a short menu (the
 * count itself up to 16, else a power of two), so a network's many layer
 * widths share a few pipelines: each SwiftShader compile costs about a second.
 */
function plan(g: ConvGeometry, inChannels: number, outChannels: number, opts: ConvOptions, rt: Runtime): Plan {
  const nb = Math.min(4, Math.ceil(outChannels / 4));
  const mb = Math.min(Math.floor(16 / nb), nextPow2(g.w));
  const budget = opts.maxUnrolledFmas ?? MAX_UNROLLED_FMAS;
  const fmas = (planes: number, channels: number) => unrolledFmas({ lines: planes * g.kh, taps: g.kw, chunkChannels: channels, mb, nb });
  // Shrink: halve powers of two above 16, then step down through multiples of 4.
  const shrink = (c: number) => (c > 16 ? c / 2 : c % 4 === 0 ? c - 4 : Math.floor(c / 4) * 4);
  let cc = inChannels <= 16 ? inChannels : 2 ** Math.floor(Math.log2(inChannels));
  while (cc > 4 && fmas(1, cc) > budget) cc = shrink(cc);
  let kdPerChunk = 1;
  for (let k = g.kd; k >= 1; k--) {
    if (g.kd % k === 0 && fmas(k, cc) <= budget) {
      kdPerChunk = k;
      break;
    }
  }
  const channelBlocks = Math.ceil(inChannels / cc);
  return {
    shape: {
      channels: 'p.inC',
      chunkChannels: cc,
      exactChannels: inChannels % cc === 0 && cc % 4 === 0,
      taps: g.kw,
      lines: kdPerChunk * g.kh,
      mb,
      nb,
      subgroups: opts.subgroups ?? rt.has('subgroups'),
    },
    kdPerChunk,
    channelBlocks,
    chunks: (g.kd / kdPerChunk) * channelBlocks,
  };
}

/** Kernel sizes baked into a source (KD is a uniform). */
interface Window2 {
  kh: number;
  kw: number;
}

/** Row decomposition and line location shared by every pass (uniform struct P). */
function lineHooks(g: Window2) {
  const ph = (g.kh - 1) / 2;
  return {
    rowCount: 'p.rows',
    rowSetup: `    let h = row % p.h;
    let rq = row / p.h;
    let d = rq % p.d;
    let nn = rq / p.d;`,
    lineLength: 'p.w',
    line(i: number) {
      const kdl = Math.floor(i / g.kh);
      const kh = i % g.kh;
      const id = `(i32(d) + i32(kd0) + ${kdl} - i32(p.kd / 2u))`;
      const ih = `(i32(h) + ${kh - ph})`;
      return {
        ok: `(${id} >= 0) & (${id} < i32(p.d)) & (${ih} >= 0) & (${ih} < i32(p.h))`,
        base: `((nn * p.d + u32(clamp(${id}, 0, i32(p.d) - 1))) * p.h + u32(clamp(${ih}, 0, i32(p.h) - 1))) * p.w`,
      };
    },
  };
}

/**
 * Spatial sizes, channel counts (inC: channels of the GEMM's A, outC: its
 * columns; cin/cout: the convolution's), KD, and the chunk being run.
 */
const UNIFORMS = uniformBlock({
  n: 'u32', d: 'u32', h: 'u32', w: 'u32', rows: 'u32', inC: 'u32', outC: 'u32', cin: 'u32',
  cout: 'u32', kd: 'u32', kd0: 'u32', c0: 'u32', ccount: 'u32', cblocks: 'u32', accumulate: 'u32', addBias: 'u32',
});

function uniforms(g: ConvGeometry, inC: number, outC: number, pl: Plan, kd0: number, c0: number, accumulate: boolean, addBias: boolean) {
  const ccount = Math.min(pl.shape.chunkChannels, inC - c0);
  return {
    n: g.n, d: g.d, h: g.h, w: g.w, rows: g.n * g.d * g.h, inC, outC, cin: g.cin, cout: g.cout, kd: g.kd,
    kd0, c0, ccount, cblocks: pl.channelBlocks, accumulate: accumulate ? 1 : 0, addBias: addBias ? 1 : 0,
  };
}

/** What a line-core source depends on: kernel sizes, the blocking, and the pass's options. */
interface LineVariant extends Window2 {
  shape: LineGemmShape;
  kdPerChunk: number;
  inputGrad?: boolean;
  hasBias?: boolean;
}

function lineKey(v: LineVariant): string {
  const s = v.shape;
  return `k${v.kh}x${v.kw}|l${s.lines}|c${s.chunkChannels}${s.exactChannels ? 'x' : ''}|m${s.mb}n${s.nb}${s.subgroups ? '|sg' : ''}${v.hasBias ? '|bias' : ''}`;
}

function lineVariant(g: ConvGeometry, pl: Plan, extra: Pick<LineVariant, 'inputGrad' | 'hasBias'> = {}): LineVariant {
  return { kh: g.kh, kw: g.kw, shape: pl.shape, kdPerChunk: pl.kdPerChunk, ...extra };
}

/**
 * Forward or input gradient: a 'b'-resident GEMM over A (x, or dy for dX)
 * producing p.outC channels; B is W, or W flipped and transposed for dX.
 */
function windowConvSource(v: LineVariant): string {
  const { shape, inputGrad, hasBias, kh: KH, kw: KW } = v;
  const lh = lineHooks(v);
  const weightIndex = (li: string, t: string, c: string, n: string): string => {
    const kd = `(kd0 + ${li} / ${KH}u)`;
    const kh = `(${li} % ${KH}u)`;
    const ch = `(chanStart + ${c})`;
    return inputGrad
      ? `((((p.kd - 1u - ${kd}) * ${KH}u + (${KH - 1}u - ${kh})) * ${KW}u + (${KW - 1}u - ${t})) * p.cin + ${n}) * p.cout + ${ch}`
      : `(((${kd} * ${KH}u + ${kh}) * ${KW}u + ${t}) * p.cin + ${ch}) * p.cout + ${n}`;
  };
  return residentBSource(shape, {
    declarations: `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${hasBias ? '@group(0) @binding(3) var<storage, read> Bias: array<f32>;\n' : ''}${UNIFORMS.declare(hasBias ? 4 : 3)}`,
    a: 'X',
    ...lh,
    chunkSetup: '  let kd0 = p.kd0;',
    channelStart: 'p.c0',
    channelCount: 'p.ccount',
    readB: (li, t, c, n) => {
      const ok = `(${n} < p.outC) & (${c} < chanCount)`;
      return `select(0.0, Wt[select(0u, ${weightIndex(li, t, c, n)}, ${ok})], ${ok})`;
    },
    store: (pos, n, v) => `      if ((${pos} < p.w) & (${n} < p.outC)) {
        let o = (row * p.w + ${pos}) * p.outC + ${n};
        var v = ${v};
        if (p.accumulate != 0u) { v += Y[o]; }
        ${hasBias ? 'if (p.addBias != 0u) { v += Bias[' + n + ']; }' : ''}
        Y[o] = v;
      }`,
  });
}

const WINDOW_CONV = program({
  op: 'conv-window',
  uniforms: UNIFORMS,
  key: (v: LineVariant) => `${v.inputGrad ? 'dx' : 'fwd'}|${lineKey(v)}`,
  source: windowConvSource,
});

/**
 * Persistent workgroups: each loads its resident operand once, so it should
 * get a few dozen blocks (BLOCKS_PER_WORKGROUP); a CPU adapter needs only a
 * few per core, enough to even out uneven rows (16 per compute unit).
 */
const BLOCKS_PER_WORKGROUP = 64;
const WORKGROUPS_PER_UNIT = 16;

function workgroupsFor(g: ConvGeometry, pl: Plan, opts: ConvOptions, profile: DeviceProfile): number {
  const rows = g.n * g.d * g.h;
  const blocks = rows * Math.ceil(g.w / pl.shape.mb);
  const auto = Math.min(WORKGROUPS_PER_UNIT * profile.computeUnits, Math.ceil(blocks / BLOCKS_PER_WORKGROUP));
  return Math.max(1, Math.min(rows, opts.workgroups ?? auto));
}

function runWindowConv(label: string, a: Tensor, w: Tensor, bias: Tensor | null, outShape: number[], g: ConvGeometry, inputGrad: boolean, opts: ConvOptions): Tensor {
  const rt = a.rt;
  const inC = inputGrad ? g.cout : g.cin;
  const outC = inputGrad ? g.cin : g.cout;
  const pl = plan(g, inC, outC, opts, rt);
  const variant = lineVariant(g, pl, { inputGrad, hasBias: bias !== null });
  const y = Tensor.empty(rt, outShape, 'f32', label);
  const slices = Math.ceil(outC / (4 * pl.shape.nb));
  for (let chunk = 0; chunk < pl.chunks; chunk++) {
    const kd0 = Math.floor(chunk / pl.channelBlocks) * pl.kdPerChunk;
    const c0 = (chunk % pl.channelBlocks) * pl.shape.chunkChannels;
    WINDOW_CONV.run(rt, variant, {
      label,
      buffers: bias ? [a.buffer, w.buffer, y.buffer, bias.buffer] : [a.buffer, w.buffer, y.buffer],
      uniforms: uniforms(g, inC, outC, pl, kd0, c0, chunk > 0, chunk === pl.chunks - 1),
      workgroups: [workgroupsFor(g, pl, opts, rt.profile), slices, 1],
    });
  }
  return y;
}

export function lineConvForward(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry, opts: ConvOptions = {}): Tensor {
  return runWindowConv('conv-forward', x, w, bias, [...x.shape.slice(0, -1), g.cout], g, false, opts);
}

export function lineConvInputGrad(dy: Tensor, w: Tensor, g: ConvGeometry, opts: ConvOptions = {}): Tensor {
  return runWindowConv('conv-input-grad', dy, w, null, [...dy.shape.slice(0, -1), g.cin], g, true, opts);
}

function weightGradSource(v: LineVariant): string {
  const { kh: KH, kw: KW } = v;
  const cc = v.shape.chunkChannels;
  return residentCSource(v.shape, {
    declarations: `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> DY: array<f32>;
@group(0) @binding(2) var<storage, read_write> Part: array<f32>;
${UNIFORMS.declare(3)}`,
    a: 'X',
    ...lineHooks(v),
    // The chunk is the grid's z index: (KD block, channel block).
    chunkSetup: `  let kd0 = (wid.z / p.cblocks) * ${v.kdPerChunk}u;
  let c0 = (wid.z % p.cblocks) * ${cc}u;`,
    channelStart: 'c0',
    channelCount: `min(${cc}u, p.cin - c0)`,
    readB: (pos, n) => {
      const ok = `(${pos} < p.w) & (${n} < p.cout)`;
      return `select(0.0, DY[select(0u, (row * p.w + ${pos}) * p.cout + ${n}, ${ok})], ${ok})`;
    },
    storeC: (li, t, c, n, v) => `      if ((${n} < p.cout) & (${c} < chanCount)) {
        let m = (((kd0 + ${li} / ${KH}u) * ${KH}u + ${li} % ${KH}u) * ${KW}u + ${t}) * p.cin + c0 + ${c};
        Part[(wid.x * p.kd * ${KH * KW}u * p.cin + m) * p.cout + ${n}] = ${v};
      }`,
  });
}

const WEIGHT_GRAD = program({ op: 'conv-weight-grad', uniforms: UNIFORMS, key: lineKey, source: weightGradSource });

/** dL/dw from x and dL/dy: per-workgroup partial sums over voxels, then one reduction. */
export function lineConvWeightGrad(x: Tensor, dy: Tensor, wShape: readonly number[], g: ConvGeometry, opts: ConvOptions = {}): Tensor {
  const rt = x.rt;
  const pl = plan(g, g.cin, g.cout, opts, rt);
  const wSize = g.kd * g.kh * g.kw * g.cin * g.cout;
  // Each split writes its whole partial dW (a scatter per element), so it needs
  // some blocks to amortise that; more splits than forward workgroups keep the
  // cores busy, and the partial sums are reduced in one pass.
  const rows = g.n * g.d * g.h;
  const blocks = rows * Math.ceil(g.w / pl.shape.mb);
  const auto = Math.min(2 * WORKGROUPS_PER_UNIT * rt.profile.computeUnits, Math.ceil(blocks / (BLOCKS_PER_WORKGROUP / 4)));
  const splits = Math.max(1, Math.min(opts.workgroups ?? auto, rows, Math.floor(PARTIAL_FLOATS / wSize)));
  const part = Tensor.empty(rt, [splits, wSize], 'f32', 'conv-weight-grad partials');
  WEIGHT_GRAD.run(rt, lineVariant(g, pl), {
    buffers: [x.buffer, dy.buffer, part.buffer],
    uniforms: uniforms(g, g.cin, g.cout, pl, 0, 0, false, false),
    workgroups: [splits, Math.ceil(g.cout / (4 * pl.shape.nb)), pl.chunks],
  });
  const summed = splits === 1 ? part.view([1, wSize]) : sumMiddle(part, 1, splits, wSize);
  part.dispose();
  const dw = summed.view(wShape);
  summed.dispose();
  return dw;
}
