/**
 * Training scans on the working grid, kept on disk between runs: making 150
 * scanner-size phantoms and binning them takes ten minutes here, and a
 * fine-tuning stage or a resumed run needs exactly the same ones.
 *
 * A cache file is only trusted when its key matches (grid, HU window, preset,
 * seed, count, ids) and when the first phantom, made again, bins to the same
 * bytes it holds: a change to the phantom generator or the binning makes the
 * file stale and it is rebuilt.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { PreparedScan } from '../net/train.js';

const MAGIC = 'cacnet-prepared-v1';

interface Entry {
  id: string;
  dims: [number, number, number];
  spacing: [number, number, number];
  affine: number[];
  channels: number;
  priorOffsetMm: [number, number, number];
}

function fingerprint(s: PreparedScan): string {
  const h = createHash('sha256');
  for (const a of [s.x, s.hu, s.labels.data]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

export function cachePath(dir: string, key: Record<string, unknown>): string {
  return join(dir, `${createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16)}.bin`);
}

function encode(scans: PreparedScan[]): Uint8Array {
  const entries: Entry[] = scans.map((s) => ({ id: s.id, dims: s.labels.dims, spacing: s.labels.spacing, affine: s.labels.affine, channels: s.channels, priorOffsetMm: s.priorOffsetMm }));
  const header = new TextEncoder().encode(JSON.stringify({ magic: MAGIC, entries, first: scans.length ? fingerprint(scans[0]!) : '' }));
  const parts: Uint8Array[] = [];
  for (const s of scans) parts.push(new Uint8Array(s.x.buffer, s.x.byteOffset, s.x.byteLength), new Uint8Array(s.hu.buffer, s.hu.byteOffset, s.hu.byteLength), s.labels.data);
  const size = 4 + header.length + parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(size + ((4 - (size % 4)) % 4));
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 4);
  let at = 4 + header.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function decode(bytes: Uint8Array): { scans: PreparedScan[]; first: string } | null {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  let head: { magic?: string; entries?: Entry[]; first?: string };
  try {
    head = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + n)));
  } catch {
    return null;
  }
  if (head.magic !== MAGIC || !Array.isArray(head.entries)) return null;
  let at = 4 + n;
  const take = (count: number): Uint8Array => {
    const part = bytes.slice(at, at + count);
    at += count;
    return part;
  };
  const scans = head.entries.map((e) => {
    const cells = e.dims[0] * e.dims[1] * e.dims[2];
    const x = new Float32Array(take(4 * cells * e.channels).buffer);
    const hu = new Float32Array(take(4 * cells).buffer);
    const data = take(cells);
    const labels = { data, dims: e.dims, spacing: e.spacing, affine: e.affine };
    let fg = 0;
    for (const l of data) if (l > 0) fg++;
    const foreground = new Uint32Array(fg);
    fg = 0;
    for (let v = 0; v < data.length; v++) if (data[v]! > 0) foreground[fg++] = v;
    return { id: e.id, x, channels: e.channels, hu, labels, foreground, priorOffsetMm: e.priorOffsetMm };
  });
  return at <= bytes.length ? { scans, first: head.first ?? '' } : null;
}

/**
 * The scans `make` would produce, from the cache file when it is current:
 * `makeFirst` rebuilds only the first one, to check the file against today's code.
 */
export async function cachedPreparedScans(
  dir: string,
  key: Record<string, unknown>,
  makeFirst: () => PreparedScan,
  make: () => PreparedScan[],
): Promise<{ scans: PreparedScan[]; fromCache: boolean }> {
  const path = cachePath(dir, key);
  if (existsSync(path)) {
    let cached: ReturnType<typeof decode> = null;
    try {
      cached = decode(new Uint8Array(await readFile(path)));
    } catch {
      // Truncated or foreign: rebuilt below.
    }
    if (cached && cached.scans.length > 0 && cached.first === fingerprint(makeFirst())) return { scans: cached.scans, fromCache: true };
  }
  const scans = make();
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(path, encode(scans));
  return { scans, fromCache: false };
}
