/**
 * The one GEMM core behind the convolutions: a WGSL source builder for
 *
 *     C[m, n] = Σ_k A[m, k] · B[k, n]
 *
 * where A is read along *lines*: the M axis is blocked into runs of MB
 * consecutive positions of a line (the W axis of a channels-last volume), and K
 * is (input lines of the chunk) × (window taps along the line) × (channels). A
 * KD×KH×KW convolution is KD·KH lines and KW taps; a 1×1 convolution is a
 * plain GEMM over voxels (one line, one tap). A window of MB + KW - 1
 * positions is gathered once and shared by every tap that reads it, so each
 * value loaded from memory feeds up to KW·NB multiply-adds instead of NB.
 *
 * Why this shape. On SwiftShader (the reference adapter: a CPU JIT, Subzero
 * backend) a workgroup's invocations are the 4 lanes of an SSE register and
 * every load or store at a dynamic address is a branchy 4-lane gather or
 * scatter (~30 cycles); workgroup-memory arrays are slower still. Measured per
 * use: a register operand is ~0.5 ns, a private array at a constant index ~1 ns,
 * a quadBroadcast ~3-10 ns, a gather ~11 ns. So the core
 *  - runs one quad (4 invocations) per workgroup; lanes split N, NB columns each
 *    (column n = slice·4·NB + 4·j + lane, so a quad touches 4 adjacent floats);
 *  - gathers A once per block as "packs" (lane l loads channel 4q + l of one
 *    window position: the quad's 16-byte, vec4-like load) and shares each value
 *    with quadBroadcast; without subgroups each lane loads it itself;
 *  - keeps one operand resident in a private array read at constant indices
 *    (generated code is fully unrolled over the chunk), the other in registers:
 *      'b' resident  (forward, input gradient): B chunk private, a block of
 *                     MB positions × NB columns accumulates in registers, as
 *                     SSA values (no function-scope variables);
 *      'c' resident  (weight gradient): the C chunk private, a block of MB
 *                     positions × NB columns of B in registers, K streams;
 *  - is persistent: each workgroup strides over rows, so the resident operand
 *    is loaded once per workgroup, and it never needs a workgroup barrier.
 * Short-circuit && / || are never emitted: SwiftShader turns them into nested
 * control flow whose compile time explodes; bool & and | are used instead.
 * Every index is clamped in range before it is read (robustness is off, and
 * select() evaluates both sides).
 */

/** WGSL statements/expressions supplied by the op (a convolution, a matmul). */
export interface LineGemmHooks {
  /** Declarations: `enable` lines are added by the core; give bindings and the uniform struct. */
  declarations: string;
  /** Name of the A storage buffer (f32, channels innermost). */
  a: string;
  /** Rows to stride over (a u32 expression, e.g. `p.rows`). Each row is one output line. */
  rowCount: string;
  /** Statements run once per row; the row index is the u32 `row`. */
  rowSetup: string;
  /** Positions per line (u32 expression), the extent blocked by MB. */
  lineLength: string;
  /** Statements run once per workgroup before anything else (chunk-level values). */
  chunkSetup: string;
  /** First channel of this chunk (u32 expression; '0u' when there is one chunk). */
  channelStart: string;
  /** Valid channels in this chunk (u32 expression, ≤ chunkChannels). */
  channelCount: string;
  /**
   * Input line `i` of the chunk (0 ≤ i < lines): `ok` (bool) says whether it
   * exists (false in the padding), `base` (u32) is the index of its position 0
   * counted in positions (multiply by channels for an element index). `base`
   * must be in range even when `ok` is false.
   */
  line(i: number): { ok: string; base: string };
}

/** Hooks for the 'b'-resident schedule. */
export interface ResidentBHooks extends LineGemmHooks {
  /**
   * The B element for (chunk line `li`, tap `t`, chunk channel `c`, column `n`),
   * all u32 WGSL expressions: must return 0.0 when `n` ≥ N or `c` ≥ the chunk's
   * channel count, without reading out of range.
   */
  readB(li: string, t: string, c: string, n: string): string;
  /**
   * Statements storing accumulator `v` (f32 expression) for line position `pos`
   * (u32 expression, may be ≥ lineLength: skip it) and column `n` (may be ≥ N).
   */
  store(pos: string, n: string, v: string): string;
}

/** Hooks for the 'c'-resident schedule. */
export interface ResidentCHooks extends LineGemmHooks {
  /**
   * The B element (one per line position of the output row) for position `pos`
   * and column `n` (u32 expressions): 0.0 when pos ≥ lineLength or n ≥ N,
   * without reading out of range.
   */
  readB(pos: string, n: string): string;
  /**
   * Statements writing the finished C element `v` for chunk row (line `li`,
   * tap `t`, chunk channel `c`) and column `n` (u32 expressions; skip when
   * `n` ≥ N or `c` ≥ the chunk's channel count).
   */
  storeC(li: string, t: string, c: string, n: string, v: string): string;
}

export interface LineGemmShape {
  /** Channels of A per position, its innermost stride (a u32 WGSL expression: a uniform or a literal). */
  channels: string;
  /** Channels reduced per chunk (the unrolled width). */
  chunkChannels: number;
  /** Every chunk is full and a multiple of 4: the per-channel bounds checks are dropped. */
  exactChannels: boolean;
  /** Window width along the line (odd; offsets -pad..pad). */
  taps: number;
  /** Input lines per chunk. */
  lines: number;
  /** Block: MB positions along the line... */
  mb: number;
  /** ...by NB columns per lane (4·NB per quad). */
  nb: number;
  /** Use quadBroadcast (device has 'subgroups'); otherwise each lane loads shared values itself. */
  subgroups: boolean;
}

/** Multiply-adds emitted per block: the code size, which sets the compile time. */
export function unrolledFmas(s: Pick<LineGemmShape, 'lines' | 'taps' | 'chunkChannels' | 'mb' | 'nb'>): number {
  return s.lines * s.taps * s.chunkChannels * s.mb * s.nb;
}

/** Compile budget per pipeline: SwiftShader compiles ~3.5k unrolled FMAs in about a second. */
export const MAX_UNROLLED_FMAS = 3500;

const quads = (c: number) => Math.ceil(c / 4);

function prelude(s: LineGemmShape, hooks: LineGemmHooks): string {
  return `${s.subgroups ? 'enable subgroups;\n' : ''}${hooks.declarations}`;
}

function laneBuiltin(s: LineGemmShape): string {
  return s.subgroups ? '@builtin(subgroup_invocation_id) sgLane: u32' : '@builtin(local_invocation_index) sgLane: u32';
}

/**
 * Gathers the packs of one input line: for window position `pos` (0-based,
 * position = w0 + pos - pad) and channel quad q, lane l holds channel
 * 4q + l. Returns the statements and a function giving the value of
 * (pos, channel) as every lane sees it.
 */
function linePacks(s: LineGemmShape, hooks: LineGemmHooks, i: number, positions: number): { code: string; value: (pos: number, c: number) => string } {
  const pad = (s.taps - 1) / 2;
  const { ok, base } = hooks.line(i);
  const L: string[] = [];
  L.push(`      let ok${i} = ${ok};`);
  L.push(`      let base${i} = ${base};`);
  for (let pos = 0; pos < positions; pos++) {
    L.push(`      let iw${i}_${pos} = i32(w0) + ${pos - pad};`);
    L.push(`      let ok${i}_${pos} = ok${i} & (iw${i}_${pos} >= 0) & (iw${i}_${pos} < lineLen);`);
    L.push(`      let at${i}_${pos} = (base${i} + u32(clamp(iw${i}_${pos}, 0, lineLen - 1))) * (${s.channels}) + chanStart;`);
  }
  // The element each lane (or, without subgroups, the reader itself) loads.
  const element = (pos: number, chan: string): string =>
    s.exactChannels
      ? `select(0.0, ${hooks.a}[at${i}_${pos} + ${chan}], ok${i}_${pos})`
      : `select(0.0, ${hooks.a}[at${i}_${pos} + min(${chan}, chanLast)], ok${i}_${pos} & (${chan} < chanCount))`;
  if (s.subgroups) {
    for (let pos = 0; pos < positions; pos++) {
      for (let q = 0; q < quads(s.chunkChannels); q++) L.push(`      let pk${i}_${pos}_${q} = ${element(pos, q === 0 ? 'sgLane' : `${4 * q}u + sgLane`)};`);
    }
    return { code: L.join('\n'), value: (pos, c) => `quadBroadcast(pk${i}_${pos}_${c >> 2}, ${c & 3}u)` };
  }
  return { code: L.join('\n'), value: (pos, c) => element(pos, `${c}u`) };
}

/** Common head of both schedules: lane, slice, chunk values, channel bounds. */
function head(s: LineGemmShape, hooks: LineGemmHooks): string {
  return `
@compute @workgroup_size(4)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, ${laneBuiltin(s)}) {
  let lane = sgLane & 3u;
  let nBase = wid.y * ${4 * s.nb}u + lane;
${hooks.chunkSetup}
  let chanStart = ${hooks.channelStart};
  let chanCount = ${hooks.channelCount};
  let chanLast = max(chanCount, 1u) - 1u;
  let lineLen = i32(${hooks.lineLength});`;
}

/**
 * 'b' resident: C block (MB positions × NB columns) in registers, the chunk of
 * B (lines × taps × chunkChannels rows × NB columns per lane) in a private
 * array. Grid: x = workgroups striding over rows, y = column slices of 4·NB.
 */
export function residentBSource(s: LineGemmShape, hooks: ResidentBHooks): string {
  const { mb, nb, taps, lines } = s;
  const cc = s.chunkChannels;
  const kc = lines * taps * cc;
  const positions = mb + taps - 1;
  const L: string[] = [prelude(s, hooks), head(s, hooks)];
  L.push(`  var bp: array<f32, ${kc * nb}>;
  for (var k = 0u; k < ${kc}u; k++) {
    let c = k % ${cc}u;
    let t = (k / ${cc}u) % ${taps}u;
    let li = k / ${cc * taps}u;
    for (var j = 0u; j < ${nb}u; j++) {
      let n = nBase + j * 4u;
      bp[k * ${nb}u + j] = ${hooks.readB('li', 't', 'c', 'n')};
    }
  }
  for (var row = wid.x; row < ${hooks.rowCount}; row += nwg.x) {
${hooks.rowSetup}
    for (var w0 = 0u; w0 < u32(lineLen); w0 += ${mb}u) {`);
  // Accumulators are SSA values (a fresh let per update): no function-scope
  // variables for the backend to keep in memory.
  const acc: string[][] = Array.from({ length: mb }, () => new Array<string>(nb).fill('0.0'));
  let version = 0;
  for (let i = 0; i < lines; i++) {
    const packs = linePacks(s, hooks, i, positions);
    L.push(packs.code);
    for (let c = 0; c < cc; c++) {
      for (let pos = 0; pos < positions; pos++) {
        const uses: string[] = [];
        const a = `a${i}_${c}_${pos}`;
        for (let t = 0; t < taps; t++) {
          const r = pos - t;
          if (r < 0 || r >= mb) continue;
          const k = (i * taps + t) * cc + c;
          for (let j = 0; j < nb; j++) {
            const next = `acc${r}_${j}_${++version}`;
            uses.push(`      let ${next} = fma(${a}, bp[${k * nb + j}], ${acc[r]![j]});`);
            acc[r]![j] = next;
          }
        }
        if (uses.length === 0) continue;
        L.push(`      let ${a} = ${packs.value(pos, c)};`, ...uses);
      }
    }
  }
  for (let r = 0; r < mb; r++) for (let j = 0; j < nb; j++) L.push(hooks.store(`w0 + ${r}u`, `nBase + ${4 * j}u`, acc[r]![j]!));
  L.push('    }\n  }\n}');
  return L.join('\n');
}

/**
 * 'c' resident: the C chunk (lines × taps × chunkChannels rows × NB columns per
 * lane) in a private array, MB positions × NB columns of B in registers, K
 * (the rows' positions) streaming. Grid: x = workgroups striding over rows
 * (each writes its own partial C), y = column slices, z = free for the op's
 * chunk index.
 */
export function residentCSource(s: LineGemmShape, hooks: ResidentCHooks): string {
  const { mb, nb, taps, lines } = s;
  const cc = s.chunkChannels;
  const mc = lines * taps * cc;
  const positions = mb + taps - 1;
  const L: string[] = [prelude(s, hooks), head(s, hooks)];
  L.push(`  var cp: array<f32, ${mc * nb}>;
  for (var row = wid.x; row < ${hooks.rowCount}; row += nwg.x) {
${hooks.rowSetup}
    for (var w0 = 0u; w0 < u32(lineLen); w0 += ${mb}u) {`);
  for (let r = 0; r < mb; r++) for (let j = 0; j < nb; j++) L.push(`      let b${r}_${j} = ${hooks.readB(`w0 + ${r}u`, `nBase + ${4 * j}u`)};`);
  for (let i = 0; i < lines; i++) {
    L.push('      {');
    const packs = linePacks(s, hooks, i, positions);
    L.push(packs.code);
    for (let c = 0; c < cc; c++) {
      L.push('      {');
      for (let pos = 0; pos < positions; pos++) L.push(`        let a${pos} = ${packs.value(pos, c)};`);
      for (let t = 0; t < taps; t++) {
        const m = (i * taps + t) * cc + c;
        for (let j = 0; j < nb; j++) {
          let expr = `cp[${m * nb + j}]`;
          for (let r = 0; r < mb; r++) expr = `fma(a${r + t}, b${r}_${j}, ${expr})`;
          L.push(`        cp[${m * nb + j}] = ${expr};`);
        }
      }
      L.push('      }');
    }
    L.push('      }');
  }
  L.push(`    }
  }
  for (var m = 0u; m < ${mc}u; m++) {
    let c = m % ${cc}u;
    let t = (m / ${cc}u) % ${taps}u;
    let li = m / ${cc * taps}u;
    for (var j = 0u; j < ${nb}u; j++) {
      let n = nBase + j * 4u;
      let v = cp[m * ${nb}u + j];
${hooks.storeC('li', 't', 'c', 'n', 'v')}
    }
  }
}`);
  return L.join('\n');
}
