import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedPreparedScans, cachePath } from '../src/cli/prepared-cache.js';
import type { PreparedScan } from '../src/net/train.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function scan(id: string, seed: number): PreparedScan {
  const dims: [number, number, number] = [4, 3, 2];
  const n = 24;
  const labels = Uint8Array.from({ length: n }, (_, i) => ((i + seed) % 5 === 0 ? 1 + (i % 3) : 0));
  return {
    id,
    x: Float32Array.from({ length: 2 * n }, (_, i) => Math.sin(i + seed)),
    channels: 2,
    hu: Float32Array.from({ length: n }, (_, i) => 100 * i - seed),
    labels: { data: labels, dims, spacing: [2, 2, 3], affine: [-2, 0, 0, 1, 0, -2, 0, 2, 0, 0, 3, 4, 0, 0, 0, 1] },
    foreground: Uint32Array.from([...labels].flatMap((l, i) => (l > 0 ? [i] : []))),
    priorOffsetMm: [1, -2, seed],
  };
}

describe('prepared-scan cache', () => {
  it('writes once, reads back identical scans, and rebuilds when the first scan no longer matches or the file is corrupt', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cacnet-cache-'));
    dirs.push(dir);
    const key = { seed: 1, count: 3 };
    let made = 0;
    const make = (salt: number) => () => {
      made++;
      return [scan('a', 1 + salt), scan('b', 2), scan('c', 3)];
    };
    const first = await cachedPreparedScans(dir, key, () => scan('a', 1), make(0));
    expect(first.fromCache).toBe(false);
    const again = await cachedPreparedScans(dir, key, () => scan('a', 1), make(0));
    expect(again.fromCache).toBe(true);
    expect(made).toBe(1);
    expect(again.scans).toEqual(first.scans);
    // The generator changed: the first scan made today differs from the file's.
    const changed = await cachedPreparedScans(dir, key, () => scan('a', 9), make(8));
    expect(changed.fromCache).toBe(false);
    expect(changed.scans[0]!.priorOffsetMm[2]).toBe(9);
    for (const junk of ['not a cache', 'ab']) {
      await writeFile(cachePath(dir, key), junk);
      const rebuilt = await cachedPreparedScans(dir, key, () => scan('a', 9), make(8));
      expect(rebuilt.fromCache).toBe(false);
    }
    expect(made).toBe(4);
  });
});
