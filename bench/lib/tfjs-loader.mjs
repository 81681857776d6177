/**
 * A Node module-resolution hook that lets TensorFlow.js's ES-module builds load
 * in plain Node, so that tfjs-core, its gradient registrations and both
 * backends are ONE module instance (as a bundler would give a browser user).
 *
 * Why: tfjs's CommonJS bundles (package "main") leave the gradients out, and
 * `register_all_gradients.js` exists only in the ES-module build, whose imports
 * have no file extensions (`'./base'`, `'./gradients/Abs_grad'`), which Node's
 * ESM resolver refuses. This hook adds `.js` / `/index.js`, maps the three
 * package names to their ES-module entry points, and hands tfjs a `seedrandom`
 * whose named exports (`alea`) Node's CommonJS interop cannot see.
 * Used by bench/lib/tfjs.ts through module.register(); bench/ only.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const ENTRY = {};
for (const name of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-webgpu']) {
  ENTRY[name] = pathToFileURL(require.resolve(`${name}/package.json`).replace(/package\.json$/, 'dist/index.js')).href;
}
const SEEDRANDOM = 'cacnet-bench-shim:seedrandom';
const fromTfjs = (context) => (context.parentURL ?? '').includes('/node_modules/@tensorflow/');

export async function resolve(specifier, context, next) {
  if (ENTRY[specifier]) return { url: ENTRY[specifier], format: 'module', shortCircuit: true };
  if (!fromTfjs(context)) return next(specifier, context);
  if (specifier === 'seedrandom') return { url: SEEDRANDOM, shortCircuit: true };
  const extensionless = (specifier.startsWith('.') || specifier.startsWith('@tensorflow/')) && !/\.(m?js|json)$/.test(specifier);
  if (!extensionless) return next(specifier, context);
  try {
    return await next(`${specifier}.js`, context);
  } catch {
    return next(`${specifier}/index.js`, context);
  }
}

export async function load(url, context, next) {
  if (url === SEEDRANDOM) {
    const path = JSON.stringify(require.resolve('seedrandom'));
    const source = `import { createRequire } from 'node:module';
const s = createRequire(${JSON.stringify(import.meta.url)})(${path});
export default s;
export const { alea, xor128, xorwow, xorshift7, xor4096, tychei } = s;`;
    return { format: 'module', source, shortCircuit: true };
  }
  // tfjs's dist/*.js are ES modules inside packages without "type": "module".
  if (url.includes('/node_modules/@tensorflow/') && url.endsWith('.js')) return next(url, { ...context, format: 'module' });
  return next(url, context);
}
