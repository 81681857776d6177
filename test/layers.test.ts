/**
 * The layering, checked from the import statements: src/ folders import only
 * downward (base <- gpu <- kernels <- autograd <- io <- scoring <- net <-
 * phantom <- cli), the plain-CPU folders import no GPU engine, there is no
 * import circle, commands do not import each other, and the browser bundle
 * reaches no Node module. The checker itself is tested on synthetic trees.
 */
import { describe, expect, it } from 'vitest';
import {
  commandsImportingCommands, engineImportsFromCpuCode, importCycles, nodeImportsReachable, parseImports, readTree, unknownLayers, upwardImports,
  type SourceTree,
} from './helpers/import-graph.js';
import { REPO } from './helpers/cli.js';

const tree = readTree(REPO, ['src', 'web']);

describe('layers of src/', () => {
  it('every src/ folder has a place in the layer order', () => {
    expect(unknownLayers(tree)).toEqual([]);
  });

  it('no folder imports from a folder above it', () => {
    expect(upwardImports(tree)).toEqual([]);
  });

  it('src/io and src/scoring import nothing from gpu, kernels or autograd', () => {
    expect(engineImportsFromCpuCode(tree)).toEqual([]);
  });

  it('has no import circle', () => {
    expect(importCycles(tree)).toEqual([]);
  });

  it('commands do not import each other', () => {
    expect(commandsImportingCommands(tree)).toEqual([]);
  });

  it('the browser bundle reaches no Node module', () => {
    expect(nodeImportsReachable(tree, 'web/main.ts')).toEqual([]);
  });
});

describe('the import checker', () => {
  const synthetic = (files: Record<string, string>): SourceTree => new Map(Object.entries(files));

  it('reads static, multi-line, type-only, re-export, side-effect and dynamic imports, not those in comments', () => {
    const text = [
      "import { a,\n  b } from './x.js';",
      "import type { T } from '../gpu/tensor.js';",
      "export { c } from './y.js';",
      "export * from './z.js';",
      "import 'side-effect';",
      "type S = import('../scoring/score.js').ScanScore;",
      "/** import { no } from './comment.js'; */",
      "const s = 'import { q } from \"./string.js\"'; export const from = 1;",
    ].join('\n');
    expect(parseImports(text).map((i) => `${i.spec}${i.dynamic ? ' (dynamic)' : ''}`)).toEqual([
      './x.js', '../gpu/tensor.js', './y.js', './z.js', 'side-effect', '../scoring/score.js (dynamic)',
    ]);
  });

  it('finds an upward import, an engine import from io, a circle, a command importing a command and node:fs in the bundle', () => {
    const t = synthetic({
      'src/gpu/tensor.ts': "import { Net } from '../net/cacnet.js';",
      'src/net/cacnet.ts': "import { x } from './meta.js';\nimport { Tensor } from '../gpu/tensor.js';",
      'src/net/meta.ts': "import type { CacNet } from './cacnet.js';",
      'src/io/nifti.ts': "import { InputError } from '../gpu/errors.js';\nimport { gunzip } from 'node:zlib';",
      'src/gpu/errors.ts': '',
      'src/cli/infer.ts': 'export const infer: Command = {};',
      'src/cli/score.ts': "import { printScore } from './infer.js';\nexport const score: Command = {};",
      'src/cli/run-command.ts': 'export interface Command {}',
      'src/cli/main.ts': "import { infer } from './infer.js';\nimport { score } from './score.js';",
      'src/widgets/w.ts': '',
      'web/main.ts': "import { read } from '../src/io/nifti.js';",
    });
    expect(upwardImports(t)).toEqual(['src/gpu/tensor.ts -> src/net/cacnet.ts']);
    expect(engineImportsFromCpuCode(t)).toEqual(['src/io/nifti.ts -> src/gpu/errors.ts']);
    expect(importCycles(t).map((c) => c.join(' -> ')).sort()).toEqual([
      'src/gpu/tensor.ts -> src/net/cacnet.ts -> src/gpu/tensor.ts',
      'src/net/cacnet.ts -> src/net/meta.ts -> src/net/cacnet.ts',
    ]);
    expect(commandsImportingCommands(t)).toEqual(['src/cli/score.ts -> src/cli/infer.ts']);
    expect(unknownLayers(t)).toEqual(['widgets']);
    expect(nodeImportsReachable(t, 'web/main.ts')).toEqual(["src/io/nifti.ts imports 'node:zlib'"]);
  });
});
