/**
 * The GPU family's GEMM core: a WGSL source builder for
 *
 *     C[m, n] = Σ_k A[m, k] · B[k, n],   k in this split's range,
 *
 * tiled in workgroup memory, the way GPUs like it (tfjs's conv2d_mm and the
 * WGSL matmul write-ups teach the same shape; this one is written for
 * channels-last implicit GEMMs):
 *  - a workgroup owns a TM×TN tile of C and walks K in steps of TK: its
 *    invocations load an A tile (TM×TK) and a B tile (TK×TN) into workgroup
 *    memory, with vec4 loads along each operand's contiguous axis where it
 *    fits, then each invocation multiplies RM rows × RN columns (vec4
 *    accumulators) out of workgroup memory;
 *  - every loop is a loop (the inner RM×RN/4 FMA block is the only unrolled
 *    code): shaders stay small and drivers compile them in milliseconds;
 *  - the grid is one workgroup per tile (x·y, split past 65535) times the K
 *    splits (z): a split-K GEMM writes one partial C per split, reduced after.
 * The op supplies WGSL functions that read A and B and store C, so a
 * convolution's index maps (padding, taps, channels) live in the op, not here:
 *   fn loadA(m: u32, k: u32, mm: u32, kk: u32) -> AV
 *                                    (AV: vec4f of 4 consecutive m or k, or f32;
 *                                     mm, kk: m and k within the tile)
 *   fn loadB(k: u32, n: u32) -> BV   (BV: vec4f of 4 consecutive n or k, or f32)
 *   fn storeC(m: u32, n: u32, split: u32, v: vec4f)   (columns n..n+3; skip lanes >= N)
 * The core calls loadA/loadB only for elements inside [0, M) × [kBegin, kEnd)
 * and [kBegin, kEnd) × [0, N) (a vec4 only when all 4 are), and storeC only
 * for m < M, n < N.
 * Index decoding that every load would repeat (a voxel's coordinates from its
 * flat index: three integer divisions) can be done once into workgroup-memory
 * tables: `rowTable` decodes the tile's TM rows once per workgroup (rowT[mm]),
 * `colTable` the TK values of k once per K step (colT[kk]).
 */
import { fillTarget, type DeviceProfile } from '../gpu/profile.js';
import { nextPow2 } from '../gpu/wgsl.js';

/** Most partial-C floats a split-K GEMM keeps (the splits shrink to fit). */
const PARTIAL_FLOATS = 1 << 22;

export interface TileShape {
  /** Workgroup tile: TM rows × TN columns, K walked TK at a time. */
  tm: number;
  tn: number;
  tk: number;
  /** Outputs per invocation: RM rows × RN columns (RN a multiple of 4). */
  rm: number;
  rn: number;
  /** A's contiguous axis and load width (4: a vec4 of 4 consecutive elements along it). */
  aContig: 'm' | 'k';
  aWidth: 1 | 4;
  /** B's contiguous axis and load width. */
  bContig: 'n' | 'k';
  bWidth: 1 | 4;
}

/** A decode table: WGSL type of an entry and the function `fn name(index: u32) -> type` that fills it. */
export interface DecodeTable {
  type: string;
  decode: string;
}

export interface TiledGemmHooks {
  /** Bindings, the uniform block, helpers, and the functions loadA, loadB, storeC. */
  declarations: string;
  /** Decode rows m0..m0+TM-1 once per workgroup into rowT. */
  rowTable?: DecodeTable;
  /** Decode k0..k0+TK-1 once per K step into colT. */
  colTable?: DecodeTable;
  /** u32 WGSL expressions: the GEMM's sizes and the K range of one split. */
  m: string;
  n: string;
  k: string;
  kSplit: string;
}

export function tileThreads(t: TileShape): number {
  return (t.tm / t.rm) * (t.tn / t.rn);
}

/** Workgroup memory a tile needs, in bytes (A is padded by one column against bank conflicts). */
export function tileBytes(t: Pick<TileShape, 'tm' | 'tn' | 'tk'>): number {
  return 4 * (t.tk * (t.tm + 1) + t.tk * t.tn);
}

/** A short, unique name for a tile shape (for pipeline keys). */
export function tileKey(t: TileShape): string {
  return `t${t.tm}x${t.tn}x${t.tk}r${t.rm}x${t.rn}a${t.aContig}${t.aWidth}b${t.bContig}${t.bWidth}`;
}

/** Statements loading one operand tile into workgroup memory (see loadTile's callers). */
function loadLoop(units: number, threads: number, body: string): string {
  return `    for (var e = lid; e < ${units}u; e += ${threads}u) {
${body}
    }`;
}

/** A tile: As[k * AS + m] (AS = TM + 1), scalars. */
function loadATile(t: TileShape, threads: number): string {
  const AS = t.tm + 1;
  const guard = (m: string, k: string) => `(${m} < M) & (${k} < kEnd)`;
  if (t.aWidth === 4) {
    // A quad of 4 consecutive elements along the contiguous axis.
    if (t.aContig === 'k') {
      return loadLoop((t.tm * t.tk) / 4, threads, `      let mm = e / ${t.tk / 4}u;
      let kk = 4u * (e % ${t.tk / 4}u);
      var v = vec4f(0.0);
      if (${guard('m0 + mm', 'k0 + kk')}) { v = loadA(m0 + mm, k0 + kk, mm, kk); }
      let at = kk * ${AS}u + mm;
      As[at] = v.x;
      As[at + ${AS}u] = v.y;
      As[at + ${2 * AS}u] = v.z;
      As[at + ${3 * AS}u] = v.w;`);
    }
    return loadLoop((t.tm * t.tk) / 4, threads, `      let kk = e / ${t.tm / 4}u;
      let mm = 4u * (e % ${t.tm / 4}u);
      var v = vec4f(0.0);
      if (${guard('m0 + mm', 'k0 + kk')}) { v = loadA(m0 + mm, k0 + kk, mm, kk); }
      let at = kk * ${AS}u + mm;
      As[at] = v.x;
      As[at + 1u] = v.y;
      As[at + 2u] = v.z;
      As[at + 3u] = v.w;`);
  }
  const [mm, kk] = t.aContig === 'k' ? [`e / ${t.tk}u`, `e % ${t.tk}u`] : [`e % ${t.tm}u`, `e / ${t.tm}u`];
  return loadLoop(t.tm * t.tk, threads, `      let mm = ${mm};
      let kk = ${kk};
      var v = 0.0;
      if (${guard('m0 + mm', 'k0 + kk')}) { v = loadA(m0 + mm, k0 + kk, mm, kk); }
      As[kk * ${AS}u + mm] = v;`);
}

/** B tile: Bs[k * (TN / 4) + n / 4], vec4 along n. */
function loadBTile(t: TileShape, threads: number): string {
  const NQ = t.tn / 4;
  const guard = (k: string, n: string) => `(${k} < kEnd) & (${n} < N)`;
  if (t.bWidth === 4 && t.bContig === 'n') {
    return loadLoop((t.tk * t.tn) / 4, threads, `      let kk = e / ${NQ}u;
      let nn = 4u * (e % ${NQ}u);
      var v = vec4f(0.0);
      if (${guard('k0 + kk', 'n0 + nn')}) { v = loadB(k0 + kk, n0 + nn); }
      Bs[e] = v;`);
  }
  if (t.bWidth === 4) {
    // 4 consecutive k of one column n.
    return loadLoop((t.tk * t.tn) / 4, threads, `      let nn = e / ${t.tk / 4}u;
      let kk = 4u * (e % ${t.tk / 4}u);
      var v = vec4f(0.0);
      if (${guard('k0 + kk', 'n0 + nn')}) { v = loadB(k0 + kk, n0 + nn); }
      let at = kk * ${NQ}u + nn / 4u;
      let lane = nn % 4u;
      Bs[at][lane] = v.x;
      Bs[at + ${NQ}u][lane] = v.y;
      Bs[at + ${2 * NQ}u][lane] = v.z;
      Bs[at + ${3 * NQ}u][lane] = v.w;`);
  }
  const [kk, nn] = t.bContig === 'n' ? [`e / ${t.tn}u`, `e % ${t.tn}u`] : [`e % ${t.tk}u`, `e / ${t.tk}u`];
  return loadLoop(t.tk * t.tn, threads, `      let kk = ${kk};
      let nn = ${nn};
      var v = 0.0;
      if (${guard('k0 + kk', 'n0 + nn')}) { v = loadB(k0 + kk, n0 + nn); }
      Bs[kk * ${NQ}u + nn / 4u][nn % 4u] = v;`);
}

/** The tiled GEMM's WGSL (see the file comment). Grid: x·y = tiles (row-major over N tiles), z = K splits. */
export function tiledGemmSource(t: TileShape, hooks: TiledGemmHooks): string {
  const threads = tileThreads(t);
  const AS = t.tm + 1;
  const NQ = t.tn / 4;
  const RQ = t.rn / 4;
  const mac: string[] = [];
  for (let r = 0; r < t.rm; r++) mac.push(`      let a${r} = vec4f(As[kk * ${AS}u + rowBase + ${r}u]);`);
  for (let j = 0; j < RQ; j++) mac.push(`      let b${j} = Bs[kk * ${NQ}u + colBase + ${j}u];`);
  for (let r = 0; r < t.rm; r++) for (let j = 0; j < RQ; j++) mac.push(`      acc[${r * RQ + j}] = fma(a${r}, b${j}, acc[${r * RQ + j}]);`);
  const stores: string[] = [];
  for (let r = 0; r < t.rm; r++) {
    for (let j = 0; j < RQ; j++) {
      stores.push(`  if ((m0 + rowBase + ${r}u < M) & (n0 + 4u * (colBase + ${j}u) < N)) { storeC(m0 + rowBase + ${r}u, n0 + 4u * (colBase + ${j}u), wid.z, acc[${r * RQ + j}]); }`);
    }
  }
  const tables: string[] = [];
  if (hooks.rowTable) tables.push(`var<workgroup> rowT: array<${hooks.rowTable.type}, ${t.tm}>;`);
  if (hooks.colTable) tables.push(`var<workgroup> colT: array<${hooks.colTable.type}, ${t.tk}>;`);
  const rowDecode = hooks.rowTable
    ? `  for (var i = lid; i < ${t.tm}u; i += ${threads}u) { rowT[i] = ${hooks.rowTable.decode}(min(m0 + i, M - 1u)); }
  workgroupBarrier();`
    : '';
  const colDecode = hooks.colTable
    ? `    for (var i = lid; i < ${t.tk}u; i += ${threads}u) { colT[i] = ${hooks.colTable.decode}(min(k0 + i, kEnd - 1u)); }
    workgroupBarrier();`
    : '';
  return /* wgsl */ `${hooks.declarations}
var<workgroup> As: array<f32, ${t.tk * AS}>;
var<workgroup> Bs: array<vec4f, ${t.tk * NQ}>;
${tables.join('\n')}

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let M = ${hooks.m};
  let N = ${hooks.n};
  let nTiles = (N + ${t.tn - 1}u) / ${t.tn}u;
  // Flat tile index; uniform per workgroup, so returning keeps the barriers uniform.
  let tile = wid.x + wid.y * nwg.x;
  if (tile >= nTiles * ((M + ${t.tm - 1}u) / ${t.tm}u)) { return; }
  let n0 = (tile % nTiles) * ${t.tn}u;
  let m0 = (tile / nTiles) * ${t.tm}u;
  let kBegin = wid.z * ${hooks.kSplit};
  let kEnd = min(${hooks.k}, kBegin + ${hooks.kSplit});
  let rowBase = (lid / ${t.tn / t.rn}u) * ${t.rm}u;
  let colBase = (lid % ${t.tn / t.rn}u) * ${RQ}u;
  var acc: array<vec4f, ${t.rm * RQ}>;
${rowDecode}
  for (var k0 = kBegin; k0 < kEnd; k0 += ${t.tk}u) {
${colDecode}
${loadATile(t, threads)}
${loadBTile(t, threads)}
    workgroupBarrier();
    for (var kk = 0u; kk < ${t.tk}u; kk++) {
${mac.join('\n')}
    }
    workgroupBarrier();
  }
${stores.join('\n')}
}`;
}

/** Workgroup grid for `tiles` tiles and `splits` K splits, within `maxPerDim` per dimension. */
export function tileGrid(tiles: number, splits: number, maxPerDim: number): [number, number, number] {
  if (tiles <= maxPerDim) return [tiles, 1, splits];
  return [maxPerDim, Math.ceil(tiles / maxPerDim), splits];
}

export interface TilePlan {
  tile: TileShape;
  /** K splits (grid z) and the K range of each. */
  splits: number;
  kSplit: number;
}

export interface GemmProblem {
  m: number;
  n: number;
  k: number;
  aContig: 'm' | 'k';
  /** Whether A, B may be read as vec4 along their contiguous axes. */
  aVec4: boolean;
  bVec4: boolean;
  bContig?: 'n' | 'k';
  /** Split K into partial results when the tiles alone do not fill the device. */
  splitK: boolean;
}

/**
 * Picks a tile for an M×N×K GEMM: TN from N (4 to 64 columns, 4 per
 * invocation), then the tallest TM (up to 128 rows, 4 per invocation) that
 * still gives 4 workgroups per compute unit, shrinking rows per invocation
 * before invocations; TK 16 (8 for short K). A split-K GEMM then splits K
 * until the device is full, keeping at least 4 K steps per split.
 */
export function planTile(profile: DeviceProfile, g: GemmProblem): TilePlan {
  const target = fillTarget(profile);
  const tn = Math.min(64, Math.max(4, nextPow2(g.n)));
  const rn = 4;
  const cols = tn / rn;
  const tk = g.k <= 8 ? 8 : 16;
  const maxThreads = Math.min(256, profile.maxInvocationsPerWorkgroup, profile.maxWorkgroupSizeX);
  const fits = (tm: number, rm: number) =>
    tileBytes({ tm, tn, tk }) <= profile.maxWorkgroupStorageBytes && cols * (tm / rm) <= maxThreads;
  const tiles = (tm: number) => Math.ceil(g.m / tm) * Math.ceil(g.n / tn);
  // Candidates from tall to short: (TM, RM), at least 64 invocations where the tile has that many outputs' rows.
  const candidates: Array<[number, number]> = [];
  for (const tm of [128, 64, 32, 16]) for (const rm of [4, 2, 1]) if (cols * (tm / rm) >= Math.min(64, cols * tm)) candidates.push([tm, rm]);
  let pick: [number, number] = [16, 1];
  for (const [tm, rm] of candidates) {
    if (!fits(tm, rm)) continue;
    pick = [tm, rm];
    if (tiles(tm) >= target) break;
  }
  const [tm, rm] = pick;
  const bContig = g.bContig ?? 'n';
  const tile: TileShape = {
    tm, tn, tk, rm, rn,
    aContig: g.aContig,
    aWidth: g.aVec4 && (g.aContig === 'k' ? tk : tm) % 4 === 0 ? 4 : 1,
    bContig,
    bWidth: g.bVec4 && (bContig === 'n' ? tn : tk) % 4 === 0 ? 4 : 1,
  };
  let splits = 1;
  if (g.splitK) {
    const want = Math.ceil(target / tiles(tm));
    const most = Math.max(1, Math.floor(g.k / (4 * tk)));
    splits = Math.max(1, Math.min(want, most, Math.floor(PARTIAL_FLOATS / (g.m * g.n))));
  }
  const kSplit = Math.ceil(Math.ceil(g.k / splits) / tk) * tk;
  return { tile, splits: Math.ceil(g.k / kSplit), kSplit };
}
