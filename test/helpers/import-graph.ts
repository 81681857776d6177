/**
 * The import graph of the TypeScript sources, read from their import and
 * export statements, and the project's layering rules checked on it. Pure
 * functions over a map of file path -> source text, so a test can feed them a
 * synthetic tree with a violation.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, normalize } from 'node:path';

/** src/ folders from the bottom up: a file may import its own folder and those below it. */
export const LAYERS = ['base', 'gpu', 'kernels', 'autograd', 'io', 'scoring', 'net', 'phantom', 'cli'] as const;

/** Folders that must stay plain CPU code: no GPU engine below them. */
export const CPU_ONLY = ['io', 'scoring'];
export const ENGINE = ['gpu', 'kernels', 'autograd'];

export interface Import {
  /** The specifier as written ('../gpu/errors.js', 'node:fs', 'fflate'). */
  spec: string;
  /** `import('…')`: a dynamic import or a type reference, not part of a static bundle. */
  dynamic: boolean;
}

export type SourceTree = Map<string, string>;

const STATIC = /^\s*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every import of a source file (block comments stripped first, so examples in them do not count). */
export function parseImports(text: string): Import[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '');
  const found: Import[] = [];
  for (const m of code.matchAll(STATIC)) found.push({ spec: m[1]!, dynamic: false });
  for (const m of code.matchAll(DYNAMIC)) found.push({ spec: m[1]!, dynamic: true });
  return found;
}

/** The repository-relative .ts file a relative specifier names, or null for a package or built-in. */
export function resolveImport(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  return normalize(join(dirname(from), spec)).replace(/\.js$/, '.ts');
}

/** The src/ folder a file lives in ('gpu', 'cli', …), or null outside one (src/index.ts, web/, test/). */
export function layerOf(path: string): string | null {
  const m = /^src\/([^/]+)\//.exec(path);
  return m ? m[1]! : null;
}

/** Reads every .ts file under the given folders of the repository. */
export function readTree(repo: string, folders: string[]): SourceTree {
  const tree: SourceTree = new Map();
  for (const folder of folders) {
    for (const f of readdirSync(join(repo, folder), { recursive: true }) as string[]) {
      if (f.endsWith('.ts') && !f.includes('node_modules') && !f.startsWith('dist')) tree.set(join(folder, f), readFileSync(join(repo, folder, f), 'utf8'));
    }
  }
  return tree;
}

/** Internal edges: [importer, imported file], type references included. */
export function edges(tree: SourceTree): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [file, text] of tree) {
    for (const imp of parseImports(text)) {
      const target = resolveImport(file, imp.spec);
      if (target) out.push([file, target]);
    }
  }
  return out;
}

const rank = (layer: string | null) => (layer === null ? -1 : LAYERS.indexOf(layer as (typeof LAYERS)[number]));

/** Imports of a src/ folder from a folder above it, as 'importer -> imported'. */
export function upwardImports(tree: SourceTree): string[] {
  return edges(tree)
    .filter(([from, to]) => layerOf(from) !== null && layerOf(to) !== null && rank(layerOf(to)) > rank(layerOf(from)))
    .map(([from, to]) => `${from} -> ${to}`);
}

/** src/ folders that are not in LAYERS (a new folder must be given its place). */
export function unknownLayers(tree: SourceTree): string[] {
  return [...new Set([...tree.keys()].map(layerOf).filter((l): l is string => l !== null && rank(l) < 0))];
}

/** Imports of the GPU engine from the plain-CPU folders. */
export function engineImportsFromCpuCode(tree: SourceTree): string[] {
  return edges(tree)
    .filter(([from, to]) => CPU_ONLY.includes(layerOf(from) ?? '') && ENGINE.includes(layerOf(to) ?? ''))
    .map(([from, to]) => `${from} -> ${to}`);
}

/** A `cacnet` command: a src/cli file that defines a Command. */
export const isCommand = (path: string, text: string) => path.startsWith('src/cli/') && /:\s*Command\s*=\s*\{/.test(text);

/** Commands that import another command's file. */
export function commandsImportingCommands(tree: SourceTree): string[] {
  return edges(tree)
    .filter(([from, to]) => isCommand(from, tree.get(from) ?? '') && isCommand(to, tree.get(to) ?? ''))
    .map(([from, to]) => `${from} -> ${to}`);
}

/** Import circles, found by a depth-first walk (at least one per circle), each as the files around it (first file repeated at the end). */
export function importCycles(tree: SourceTree): string[][] {
  const next = new Map<string, string[]>();
  for (const [from, to] of edges(tree)) if (tree.has(to)) next.set(from, [...(next.get(from) ?? []), to]);
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[][] = [];
  const path: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    path.push(f);
    for (const g of next.get(f) ?? []) {
      if (state.get(g) === 'open') cycles.push([...path.slice(path.indexOf(g)), g]);
      else if (!state.has(g)) visit(g);
    }
    path.pop();
    state.set(f, 'done');
  };
  for (const f of [...tree.keys()].sort()) if (!state.has(f)) visit(f);
  return cycles;
}

const NODE_BUILTINS = new Set(builtinModules);
const nodeOnly = (spec: string) => spec.startsWith('node:') || spec === 'webgpu' || NODE_BUILTINS.has(spec.split('/')[0]!);

/**
 * Node-only modules a browser bundle would pull in from `entry`: the static
 * imports reachable from it (dynamic imports are left out: the only one,
 * src/gpu/node-gpu.ts, is stubbed by web/build.ts).
 */
export function nodeImportsReachable(tree: SourceTree, entry: string): string[] {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  const found: string[] = [];
  while (queue.length) {
    const file = queue.shift()!;
    for (const imp of parseImports(tree.get(file) ?? '')) {
      if (imp.dynamic) continue;
      const target = resolveImport(file, imp.spec);
      if (target === null) {
        if (nodeOnly(imp.spec)) found.push(`${file} imports '${imp.spec}'`);
      } else if (!seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return found;
}
