/**
 * The GPU family of the convolutions: implicit GEMMs on the tiled core
 * (gemm-tiled.ts), channels-last, stride 1, same padding, odd kernels:
 *  - forward  Y[v, co]      = Σ_(t, ci) X[v + t − p, ci] · W[t, ci, co]     M = voxels, N = Cout, K = taps·Cin
 *  - dX       dX[v, ci]     = Σ_(t, co) dY[v + t − p, co] · W'[t, co, ci]   the forward on dY with W' = W flipped
 *                                                                          and transposed (a small prep dispatch)
 *  - dW       dW[(t, ci), co] = Σ_v X[v + t − p, ci] · dY[v, co]           M = taps·Cin, N = Cout, K = voxels,
 *                                                                          split over K (partial dW per split, summed)
 * The bias is added where the forward stores Y. A is read as vec4s of 4
 * channels when Cin % 4 = 0 (NDHWC keeps them contiguous), B and C as vec4s of
 * 4 output channels when Cout % 4 = 0. Kernel sizes are baked into the source,
 * sizes and channel counts are uniforms, so a network's layers share a few
 * pipelines. Tiles come from the GEMM's shape and the device profile
 * (planTile): enough workgroups to fill every compute unit several times.
 */
import { program, uniformBlock } from '../gpu/program.js';
import { Tensor } from '../gpu/tensor.js';
import { WG, flatMain, vecType } from '../gpu/wgsl.js';
import { planTile, tileGrid, tileKey, tiledGemmSource, type TileShape } from './gemm-tiled.js';
import { sumMiddle } from './reduce.js';
import type { ConvGeometry } from './conv-geometry.js';

const UNIFORMS = uniformBlock({
  n: 'u32', d: 'u32', h: 'u32', w: 'u32', cin: 'u32', cout: 'u32', m: 'u32', k: 'u32', kSplit: 'u32',
});

/** Kernel sizes (baked in) and the pass. */
interface Variant {
  kd: number;
  kh: number;
  kw: number;
  tile: TileShape;
  /** Output channels are a multiple of 4: C (and the bias) stored as vec4s. */
  vecOut: boolean;
  bias: boolean;
}

/**
 * WGSL: a voxel's coordinates (decoded once into the core's tables), and the
 * voxel shifted by tap t of a KD×KH×KW window: its index, or ok = false in the
 * zero padding.
 */
function voxelWgsl(v: Variant): string {
  return /* wgsl */ `
struct Voxel { nb: u32, z: i32, y: i32, x: i32 }
fn decodeVoxel(voxel: u32) -> Voxel {
  let r = voxel / p.w;
  let r2 = r / p.h;
  return Voxel(r2 / p.d, i32(r2 % p.d), i32(r % p.h), i32(voxel % p.w));
}
struct Shifted { at: u32, ok: bool }
fn shifted(c: Voxel, tap: u32) -> Shifted {
  let ix = c.x + i32(tap % ${v.kw}u) - ${(v.kw - 1) / 2};
  let t2 = tap / ${v.kw}u;
  let iy = c.y + i32(t2 % ${v.kh}u) - ${(v.kh - 1) / 2};
  let iz = c.z + i32(t2 / ${v.kh}u) - ${(v.kd - 1) / 2};
  let ok = (ix >= 0) & (ix < i32(p.w)) & (iy >= 0) & (iy < i32(p.h)) & (iz >= 0) & (iz < i32(p.d));
  return Shifted(((c.nb * p.d + u32(max(iz, 0))) * p.h + u32(max(iy, 0))) * p.w + u32(max(ix, 0)), ok);
}`;
}

const VOXEL_TABLE = { type: 'Voxel', decode: 'decodeVoxel' };

function storeWgsl(v: Variant, target: string, index: (n: string) => string): string {
  if (v.vecOut) {
    return `fn storeC(m: u32, n: u32, split: u32, v: vec4f) {
  ${target}[(${index('n')}) / 4u] = v${v.bias ? ' + Bias[n / 4u]' : ''};
}`;
  }
  return `fn storeC(m: u32, n: u32, split: u32, v: vec4f) {
  for (var i = 0u; i < 4u; i++) {
    if (n + i < p.cout) { ${target}[${index('n + i')}] = v[i]${v.bias ? ' + Bias[n + i]' : ''}; }
  }
}`;
}

/**
 * The two GEMMs over a tap-shifted input X:
 *  - forward (and dX, on dY and W'): A[v, (t, ci)] = X at voxel v shifted by tap t, B = the weights
 *    as [taps·Cin, Cout], C = Y (+ bias); the rows' voxels are decoded once per workgroup;
 *  - dW: A[(t, ci), v] = the same X element seen from the other side (vec4 along ci), B = dY
 *    [voxels, Cout], C = one partial dW per K split; the K step's voxels are decoded once per step.
 */
function convSource(v: Variant, pass: 'forward' | 'weightGrad'): string {
  const t = v.tile;
  const AV = vecType(t.aWidth);
  const BV = vecType(t.bWidth);
  const YV = v.vecOut ? 'vec4f' : 'f32';
  const fwd = pass === 'forward';
  // (voxel, tap·Cin + channel) of an A element: m and k swap roles between the passes.
  const [voxel, tapChannel, table] = fwd ? ['rowT[mm]', 'k', 'rowTable'] : ['colT[kk]', 'm', 'colTable'];
  const [b, c] = fwd ? ['Wt', 'Y'] : ['DY', 'Part'];
  return tiledGemmSource(t, {
    declarations: /* wgsl */ `@group(0) @binding(0) var<storage, read> X: array<${AV}>;
@group(0) @binding(1) var<storage, read> ${b}: array<${BV}>;
@group(0) @binding(2) var<storage, read_write> ${c}: array<${YV}>;
${v.bias ? `@group(0) @binding(3) var<storage, read> Bias: array<${YV}>;\n` : ''}${UNIFORMS.declare(v.bias ? 4 : 3)}
${voxelWgsl(v)}
fn loadA(m: u32, k: u32, mm: u32, kk: u32) -> ${AV} {
  let tap = ${tapChannel} / p.cin;
  let s = shifted(${voxel}, tap);
  if (!s.ok) { return ${AV}(0.0); }
  return X[(s.at * p.cin + ${tapChannel} - tap * p.cin) / ${t.aWidth}u];
}
fn loadB(k: u32, n: u32) -> ${BV} {
  return ${b}[(k * p.cout + n) / ${t.bWidth}u];
}
${storeWgsl(v, c, (n) => (fwd ? `m * p.cout + ${n}` : `(split * p.m + m) * p.cout + ${n}`))}`,
    [table]: VOXEL_TABLE,
    m: 'p.m',
    n: 'p.cout',
    k: 'p.k',
    kSplit: 'p.kSplit',
  });
}

const variantKey = (v: Variant) => `k${v.kd}x${v.kh}x${v.kw}|${tileKey(v.tile)}${v.vecOut ? '|v4' : ''}${v.bias ? '|bias' : ''}`;

const FORWARD = program({ op: 'conv-tiled', uniforms: UNIFORMS, key: variantKey, source: (v: Variant) => convSource(v, 'forward') });
const WEIGHT_GRAD = program({ op: 'conv-tiled-weight-grad', uniforms: UNIFORMS, key: variantKey, source: (v: Variant) => convSource(v, 'weightGrad') });

const FLIP_UNIFORMS = uniformBlock({ taps: 'u32', cin: 'u32', cout: 'u32' });
/** W'[t', co, ci] = W[taps − 1 − t', ci, co]: the dX pass's weights. */
const FLIP_WEIGHTS = program({
  op: 'conv-flip-weights',
  uniforms: FLIP_UNIFORMS,
  key: () => '',
  source: () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> W: array<f32>;
@group(0) @binding(1) var<storage, read_write> Wf: array<f32>;
${FLIP_UNIFORMS.declare(2)}
${flatMain(`  if (i >= p.taps * p.cin * p.cout) { return; }
  let ci = i % p.cin;
  let r = i / p.cin;
  let co = r % p.cout;
  let t = r / p.cout;
  Wf[i] = W[((p.taps - 1u - t) * p.cin + ci) * p.cout + co];`)}`,
  workgroupSize: WG,
});

function taps(g: ConvGeometry): number {
  return g.kd * g.kh * g.kw;
}

/** Y = conv(a, w) (+ bias) on the GPU family; for dX, a = dY and w = the flipped weights (cin, cout swapped). */
function runForward(label: string, a: Tensor, w: Tensor, bias: Tensor | null, outShape: number[], g: ConvGeometry, inC: number, outC: number): Tensor {
  const rt = a.rt;
  const voxels = g.n * g.d * g.h * g.w;
  const k = taps(g) * inC;
  const pl = planTile(rt.profile, { m: voxels, n: outC, k, aContig: 'k', aVec4: inC % 4 === 0, bVec4: outC % 4 === 0, splitK: false });
  const y = Tensor.empty(rt, outShape, 'f32', label);
  const tiles = Math.ceil(voxels / pl.tile.tm) * Math.ceil(outC / pl.tile.tn);
  FORWARD.run(rt, { kd: g.kd, kh: g.kh, kw: g.kw, tile: pl.tile, vecOut: outC % 4 === 0, bias: bias !== null }, {
    label,
    buffers: bias ? [a.buffer, w.buffer, y.buffer, bias.buffer] : [a.buffer, w.buffer, y.buffer],
    uniforms: { n: g.n, d: g.d, h: g.h, w: g.w, cin: inC, cout: outC, m: voxels, k, kSplit: pl.kSplit },
    workgroups: tileGrid(tiles, 1, rt.limits.maxComputeWorkgroupsPerDimension),
  });
  return y;
}

export function tiledConvForward(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  return runForward('conv-forward', x, w, bias, [...x.shape.slice(0, -1), g.cout], g, g.cin, g.cout);
}

export function tiledConvInputGrad(dy: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const rt = dy.rt;
  const flipped = Tensor.empty(rt, [taps(g), g.cout, g.cin], 'f32', 'conv weights flipped');
  FLIP_WEIGHTS.run(rt, undefined, {
    buffers: [w.buffer, flipped.buffer],
    uniforms: { taps: taps(g), cin: g.cin, cout: g.cout },
    threads: taps(g) * g.cin * g.cout,
  });
  const dx = runForward('conv-input-grad', dy, flipped, null, [...dy.shape.slice(0, -1), g.cin], g, g.cout, g.cin);
  flipped.dispose();
  return dx;
}

export function tiledConvWeightGrad(x: Tensor, dy: Tensor, wShape: readonly number[], g: ConvGeometry, splits?: number): Tensor {
  const rt = x.rt;
  const voxels = g.n * g.d * g.h * g.w;
  const m = taps(g) * g.cin;
  let pl = planTile(rt.profile, { m, n: g.cout, k: voxels, aContig: 'm', aVec4: g.cin % 4 === 0, bVec4: g.cout % 4 === 0, splitK: true });
  if (splits !== undefined) {
    const kSplit = Math.ceil(Math.ceil(voxels / splits) / pl.tile.tk) * pl.tile.tk;
    pl = { ...pl, kSplit, splits: Math.ceil(voxels / kSplit) };
  }
  const part = Tensor.empty(rt, [pl.splits, m * g.cout], 'f32', 'conv-weight-grad partials');
  const tiles = Math.ceil(m / pl.tile.tm) * Math.ceil(g.cout / pl.tile.tn);
  WEIGHT_GRAD.run(rt, { kd: g.kd, kh: g.kh, kw: g.kw, tile: pl.tile, vecOut: g.cout % 4 === 0, bias: false }, {
    buffers: [x.buffer, dy.buffer, part.buffer],
    uniforms: { n: g.n, d: g.d, h: g.h, w: g.w, cin: g.cin, cout: g.cout, m, k: voxels, kSplit: pl.kSplit },
    workgroups: tileGrid(tiles, pl.splits, rt.limits.maxComputeWorkgroupsPerDimension),
  });
  const summed = pl.splits === 1 ? part.view([1, m * g.cout]) : sumMiddle(part, 1, pl.splits, m * g.cout);
  part.dispose();
  const dw = summed.view(wShape);
  summed.dispose();
  return dw;
}
