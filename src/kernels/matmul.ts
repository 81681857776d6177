/**
 * Dense matrix product C[M,N] = op(A) · op(B), where op transposes on request
 * (the backward pass needs Aᵀ·G and G·Bᵀ). It runs on the tiled GEMM core
 * (gemm-tiled.ts), the convolutions' GPU family: A is read along its
 * contiguous axis (k, or m when transposed), B along n (or k when
 * transposed), as vec4s where that axis is a multiple of 4.
 */
import { ShapeError, fmtShape } from '../base/errors.js';
import { Tensor } from '../gpu/tensor.js';
import { program, uniformBlock } from '../gpu/program.js';
import { vecType } from '../gpu/wgsl.js';
import { planTile, tileGrid, tileKey, tiledGemmSource, type TileShape } from './gemm-tiled.js';

const UNIFORMS = uniformBlock({ M: 'u32', N: 'u32', K: 'u32' });

interface Variant {
  tile: TileShape;
  /** N % 4 = 0: C stored as vec4s. */
  vecOut: boolean;
}

export function matmulSource(v: Variant): string {
  const t = v.tile;
  const AV = vecType(t.aWidth);
  const BV = vecType(t.bWidth);
  // A is stored [M,K] (or [K,M] when read along m); B is [K,N] (or [N,K] when read along k).
  const aIndex = t.aContig === 'k' ? 'm * p.K + k' : 'k * p.M + m';
  const bIndex = t.bContig === 'n' ? 'k * p.N + n' : 'n * p.K + k';
  const store = v.vecOut
    ? 'C[(m * p.N + n) / 4u] = v;'
    : `for (var i = 0u; i < 4u; i++) {
    if (n + i < p.N) { C[m * p.N + n + i] = v[i]; }
  }`;
  return tiledGemmSource(t, {
    declarations: /* wgsl */ `@group(0) @binding(0) var<storage, read> A: array<${AV}>;
@group(0) @binding(1) var<storage, read> B: array<${BV}>;
@group(0) @binding(2) var<storage, read_write> C: array<${v.vecOut ? 'vec4f' : 'f32'}>;
${UNIFORMS.declare(3)}
fn loadA(m: u32, k: u32, mm: u32, kk: u32) -> ${AV} { return A[(${aIndex}) / ${t.aWidth}u]; }
fn loadB(k: u32, n: u32) -> ${BV} { return B[(${bIndex}) / ${t.bWidth}u]; }
fn storeC(m: u32, n: u32, split: u32, v: vec4f) {
  ${store}
}`,
    m: 'p.M',
    n: 'p.N',
    k: 'p.K',
    kSplit: 'p.K',
  });
}

const MATMUL = program({
  op: 'matmul',
  uniforms: UNIFORMS,
  key: (v: Variant) => `${tileKey(v.tile)}${v.vecOut ? '|v4' : ''}`,
  source: matmulSource,
});

/** C = op(A)·op(B) for 2D tensors. */
export function matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  a.expectDtype('f32', 'matmul');
  b.expectDtype('f32', 'matmul');
  if (a.rank !== 2 || b.rank !== 2) throw new ShapeError(`matmul: needs 2D tensors, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const [M, Ka] = transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [Kb, N] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (Ka !== Kb) {
    throw new ShapeError(`matmul: inner dimensions differ: ${fmtShape(a.shape)}${transA ? 'ᵀ' : ''} · ${fmtShape(b.shape)}${transB ? 'ᵀ' : ''}`);
  }
  const rt = a.rt;
  const c = Tensor.empty(rt, [M, N], 'f32', 'matmul');
  if (M * N === 0) return c;
  const pl = planTile(rt.profile, {
    m: M, n: N, k: Ka,
    aContig: transA ? 'm' : 'k', aVec4: (transA ? M : Ka) % 4 === 0,
    bContig: transB ? 'k' : 'n', bVec4: (transB ? Ka : N) % 4 === 0,
    splitK: false,
  });
  const tiles = Math.ceil(M / pl.tile.tm) * Math.ceil(N / pl.tile.tn);
  MATMUL.run(rt, { tile: pl.tile, vecOut: N % 4 === 0 }, {
    buffers: [a.buffer, b.buffer, c.buffer],
    uniforms: { M, N, K: Ka },
    workgroups: tileGrid(tiles, 1, rt.limits.maxComputeWorkgroupsPerDimension),
  });
  return c;
}
