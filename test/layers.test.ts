import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The layers of src/, lowest first: a file may import only from its own layer or a lower one. */
const LAYERS = ['base', 'gpu', 'kernels', 'autograd', 'io', 'scoring', 'net', 'phantom', 'cli'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of a file as [from layer, to layer, target path]. */
function layerImports(file: string): Array<[string, string, string]> {
  const from = relative('src', file).split('/')[0]!;
  const text = readFileSync(file, 'utf8');
  const out: Array<[string, string, string]> = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    const target = relative('src', normalize(join(dirname(file), m[1]!)));
    out.push([from, target.split('/')[0]!, target]);
  }
  return out;
}

describe('layering of src/', () => {
  const files = sourceFiles('src').filter((f) => relative('src', f).includes('/'));

  it('knows every folder of src/', () => {
    const folders = new Set(files.map((f) => relative('src', f).split('/')[0]!));
    expect([...folders].sort()).toEqual([...LAYERS].sort());
  });

  it('imports only downward (io and scoring never reach the GPU, autograd or kernels)', () => {
    const upward: string[] = [];
    for (const f of files)
      for (const [from, to, target] of layerImports(f)) {
        if (LAYERS.indexOf(to) > LAYERS.indexOf(from)) upward.push(`${f} -> ${target}`);
      }
    expect(upward).toEqual([]);
    // The rule in the issue, stated directly; the order above implies it.
    const gpuFromCpuLayers = files
      .filter((f) => /^src\/(base|io|scoring)\//.test(f))
      .flatMap((f) => layerImports(f).filter(([, to]) => ['gpu', 'kernels', 'autograd'].includes(to)));
    expect(gpuFromCpuLayers).toEqual([]);
  });
});
