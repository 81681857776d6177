/**
 * `cacnet bench`: the benchmark suite of bench/ (the same as `npm run bench`),
 * run as a child process. TensorFlow.js and onnxruntime are bench-only
 * devDependencies and must never be imported from src/, so this command only
 * finds bench/run.ts in the source checkout and starts it under tsx.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CacnetError } from '../base/errors.js';
import { UsageError, type Command } from './run-command.js';

/** The repository root: src/cli/ (tsx) or dist/cli/ (built) are two levels below it. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));

const PASSED: Record<string, 'string' | 'boolean'> = {
  quick: 'boolean',
  only: 'string',
  adapter: 'string',
  robust: 'boolean',
  'no-tfjs': 'boolean',
  'no-cpu': 'boolean',
  'no-onnx': 'boolean',
  samples: 'string',
  patch: 'string',
  'max-time': 'string',
  out: 'string',
  json: 'string',
};

export const bench: Command = {
  name: 'bench',
  summary: 'benchmark the engine against TensorFlow.js, onnxruntime and the adapter\'s limits; writes bench/RESULTS.md',
  usage: 'cacnet bench [--quick] [--only roofline,ops,conv,network] [--adapter auto|hardware|swiftshader] [--out FILE]',
  options: Object.fromEntries(Object.entries(PASSED).map(([k, type]) => [k, { type }])),
  help: [
    '  --quick            a smoke run: 2 samples a row, a small whole-network patch',
    '  --only LIST        suites to run: roofline, ops, conv, network (default all)',
    '  --adapter A        auto (GPU, else SwiftShader), hardware or swiftshader',
    '  --robust           keep Dawn robustness on (both engines)',
    '  --no-tfjs          cacnet alone;  --no-cpu: no tfjs cpu backend;  --no-onnx: no onnxruntime',
    '  --patch D,H,W      whole-network patch (default 16,64,64 on a GPU, 16,16,16 on SwiftShader)',
    '  --samples N        samples per cell (default 5)',
    '  --max-time S       seconds a cell keeps sampling once it has its samples (default 0.5)',
    '  --out FILE         markdown report (default bench/RESULTS.md; - for none)',
    '  --json FILE        also write every sample as JSON',
    '  Needs the source checkout with its devDependencies (npm ci): about 10 minutes on SwiftShader.',
  ],
  async run(v) {
    if (!existsSync(SCRIPT)) {
      throw new CacnetError(`the benchmarks live in the source checkout (bench/run.ts), not in this install (${ROOT}); clone the repository, run npm ci, then npm run bench`);
    }
    const args: string[] = [];
    for (const [k, type] of Object.entries(PASSED)) {
      const value = v[k];
      if (value === undefined || value === false) continue;
      args.push(`--${k}`);
      if (type === 'string') args.push(String(value));
    }
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { cwd: ROOT, stdio: 'inherit' });
      child.on('error', reject);
      child.on('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
    });
    if (code === 2) throw new UsageError("the benchmark rejected its options (see 'cacnet bench --help')");
    if (code !== 0) throw new CacnetError(`the benchmark run failed (exit code ${code}); its output above says why (a missing devDependency: run npm ci)`);
  },
};
