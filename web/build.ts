/**
 * Bundles the browser app (web/main.ts and the engine, net, io and scoring code
 * it imports) into one ES module, web/dist/app.js, with esbuild.
 *
 * The shared code must not reach Node in the browser. Two guards make that a
 * build error rather than a runtime surprise:
 *  - src/gpu/node-gpu.ts (Dawn through npm `webgpu`) is only imported
 *    dynamically, by acquireDevice when it runs in Node; the bundle gets a stub
 *    in its place, so neither Dawn nor node:* can end up in it;
 *  - any other import of `node:*`, a Node built-in or `webgpu` fails the build,
 *    naming the file that made it (unless the importing package maps the
 *    built-in to nothing for browsers, as dicom-parser does with zlib).
 *
 *   npx tsx web/build.ts [--watch]
 */
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export const WEB_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = dirname(WEB_DIR);
export const BUNDLE_PATH = join(WEB_DIR, 'dist', 'app.js');

const NODE_BUILTINS = new Set(builtinModules);
const GUARD = Symbol('browser-only guard');

/** Keeps Node-only modules out of the browser bundle (see the file comment). */
const browserOnly: esbuild.Plugin = {
  name: 'browser-only',
  setup(build) {
    build.onResolve({ filter: /[\\/]node-gpu\.js$/ }, () => ({ path: 'node-gpu', namespace: 'browser-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'browser-stub' }, () => ({
      contents:
        "export async function requestNodeAdapter() { throw new Error('internal: the Node WebGPU adapter was requested in a browser'); }\n" +
        'export function findSwiftShaderIcd() { return undefined; }\n',
      loader: 'js',
    }));
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === GUARD) return undefined;
      const bare = args.path.split('/')[0]!;
      const nodeOnly = args.path.startsWith('node:') || args.path === 'webgpu' || NODE_BUILTINS.has(bare);
      if (!nodeOnly) return undefined;
      const from = args.importer ? relative(REPO_DIR, args.importer) : '(entry)';
      const problem = { errors: [{ text: `${from} imports '${args.path}', which does not exist in a browser; keep Node-only code out of the shared modules` }] };
      if (args.path.startsWith('node:') || args.path === 'webgpu') return problem;
      // A package may map a built-in to nothing for browsers ("browser": {"zlib": false},
      // as dicom-parser does for its optional inflater): that is fine.
      const r = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: GUARD });
      return r.errors.length === 0 && !r.external ? undefined : problem;
    });
  },
};

export function buildOptions(): esbuild.BuildOptions {
  return {
    absWorkingDir: REPO_DIR,
    entryPoints: [join(WEB_DIR, 'main.ts')],
    outfile: BUNDLE_PATH,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    minify: false,
    legalComments: 'none',
    logLevel: 'silent',
    // Packages with a "browser" field (none of ours need one) would win over "module".
    mainFields: ['browser', 'module', 'main'],
    plugins: [browserOnly],
  };
}

/** Builds web/dist/app.js; returns its size in bytes. Throws with esbuild's messages on failure. */
export async function buildWeb(): Promise<{ bytes: number; warnings: string[] }> {
  const result = await esbuild.build({ ...buildOptions(), metafile: true });
  const out = result.metafile.outputs[relative(REPO_DIR, BUNDLE_PATH)];
  const warnings = await esbuild.formatMessages(result.warnings, { kind: 'warning', color: false });
  return { bytes: out?.bytes ?? 0, warnings };
}

async function main(): Promise<void> {
  if (process.argv.includes('--watch')) {
    const ctx = await esbuild.context({ ...buildOptions(), logLevel: 'info' });
    await ctx.watch();
    return;
  }
  const t0 = performance.now();
  try {
    const { bytes, warnings } = await buildWeb();
    for (const w of warnings) console.warn(w);
    console.log(`web: built ${relative(process.cwd(), BUNDLE_PATH)} (${(bytes / 1024).toFixed(0)} KiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (error) {
    const errors = (error as { errors?: esbuild.Message[] }).errors;
    if (!errors) throw error;
    for (const m of await esbuild.formatMessages(errors, { kind: 'error', color: false })) console.error(m);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
