/**
 * Dense matrix product C[M,N] = op(A) · op(B), where op transposes on request
 * (the backward pass needs Aᵀ·G and G·Bᵀ). Tiled in workgroup memory: a 16x16
 * workgroup computes a 64x64 tile, 4x4 outputs per thread.
 */
import { ShapeError, fmtShape } from '../base/errors.js';
import { Tensor } from '../gpu/tensor.js';
import { program, uniformBlock } from '../gpu/program.js';

const TILE = 64;
const TK = 16;

const UNIFORMS = uniformBlock({ M: 'u32', N: 'u32', K: 'u32' });

export function matmulSource(transA: boolean, transB: boolean): string {
  // A is stored [M,K] (or [K,M] when transposed); B is [K,N] (or [N,K]).
  const readA = transA ? 'A[k * p.M + m]' : 'A[m * p.K + k]';
  const readB = transB ? 'B[n * p.K + k]' : 'B[k * p.N + n]';
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
${UNIFORMS.declare(3)}
var<workgroup> As: array<array<f32, ${TILE}>, ${TK}>;
var<workgroup> Bs: array<array<f32, ${TILE}>, ${TK}>;

fn loadA(m: u32, k: u32) -> f32 { if (m < p.M && k < p.K) { return ${readA}; } return 0.0; }
fn loadB(k: u32, n: u32) -> f32 { if (k < p.K && n < p.N) { return ${readB}; } return 0.0; }

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wid.y * ${TILE}u;
  let col0 = wid.x * ${TILE}u;
  let t = lid.y * 16u + lid.x;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += ${TK}u) {
    // 256 threads load 64x16 of A and 16x64 of B: 4 values each.
    for (var j = 0u; j < 4u; j++) {
      let e = t + j * 256u;
      let kk = e % ${TK}u;
      let mm = e / ${TK}u;
      As[kk][mm] = loadA(row0 + mm, k0 + kk);
      let nn = e % ${TILE}u;
      let kb = e / ${TILE}u;
      Bs[kb][nn] = loadB(k0 + kb, col0 + nn);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var r = 0u; r < 4u; r++) { a[r] = As[kk][lid.y * 4u + r]; b[r] = Bs[kk][lid.x * 4u + r]; }
      for (var r = 0u; r < 4u; r++) {
        for (var c = 0u; c < 4u; c++) { acc[r][c] = fma(a[r], b[c], acc[r][c]); }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let m = row0 + lid.y * 4u + r;
    for (var c = 0u; c < 4u; c++) {
      let n = col0 + lid.x * 4u + c;
      if (m < p.M && n < p.N) { C[m * p.N + n] = acc[r][c]; }
    }
  }
}`;
}

const MATMUL = program({
  op: 'matmul',
  uniforms: UNIFORMS,
  key: (t: { a: boolean; b: boolean }) => `${t.a ? 'Ta' : 'a'}${t.b ? 'Tb' : 'b'}`,
  source: (t) => matmulSource(t.a, t.b),
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
  const c = Tensor.empty(a.rt, [M, N], 'f32', 'matmul');
  MATMUL.run(a.rt, { a: transA, b: transB }, {
    buffers: [a.buffer, b.buffer, c.buffer],
    uniforms: { M, N, K: Ka },
    workgroups: [Math.ceil(N / TILE), Math.ceil(M / TILE), 1],
  });
  return c;
}
