/**
 * TensorFlow.js in Node, on the same Dawn adapter as our runtime.
 *
 * Order matters: our Runtime is created first. On a machine without a GPU it
 * sets VK_ICD_FILENAMES to SwiftShader's ICD, so the Dawn instance we create
 * here for tfjs (`navigator.gpu`) can only see that same adapter; on a GPU
 * machine both ask Dawn for the high-performance adapter. Both instances get
 * the same Dawn toggles (robustness off in Node unless --robust), so the
 * comparison is kernel against kernel.
 *
 * tfjs is loaded from its ES-module build through bench/lib/tfjs-loader.mjs
 * (see there why), so it must only ever be imported dynamically, after
 * loadTfjs() registered the hook.
 */
import { createRequire, register } from 'node:module';
import type * as TF from '@tensorflow/tfjs-core';
import type { conv2DBackpropFilter } from '@tensorflow/tfjs-core/dist/ops/conv2d_backprop_filter.js';
import type { conv2DBackpropInput } from '@tensorflow/tfjs-core/dist/ops/conv2d_backprop_input.js';
import type { conv3DBackpropFilter } from '@tensorflow/tfjs-core/dist/ops/conv3d_backprop_filter.js';
import type { conv3DBackpropInput } from '@tensorflow/tfjs-core/dist/ops/conv3d_backprop_input.js';

export type Tf = typeof TF;

/** The ops tfjs's conv gradients call (not in its public namespace): dX and dW alone. */
export interface TfConvGrads {
  conv2DBackpropInput: typeof conv2DBackpropInput;
  conv2DBackpropFilter: typeof conv2DBackpropFilter;
  conv3DBackpropInput: typeof conv3DBackpropInput;
  conv3DBackpropFilter: typeof conv3DBackpropFilter;
}

/** Dawn aborts the process when a GPU instance is collected while a device lives: hold them. */
const keepAlive: unknown[] = [];

export interface TfjsHandle {
  tf: Tf;
  /**
   * GPU errors the webgpu backend's device reported (tfjs does not check its
   * own pipelines: a WGSL it generates that Dawn rejects just yields zeros).
   */
  gpuErrors: string[];
  convGrads: TfConvGrads;
  /** What the tfjs webgpu backend's adapter says it is. */
  webgpuAdapter: string;
  versions: Record<string, string>;
}

let loaded: Promise<TfjsHandle> | undefined;

export function loadTfjs(robustness: boolean): Promise<TfjsHandle> {
  loaded ??= load(robustness);
  return loaded;
}

async function load(robustness: boolean): Promise<TfjsHandle> {
  register('./tfjs-loader.mjs', import.meta.url);
  // tfjs's ES-module platform file calls a bare require('util').
  const g = globalThis as Record<string, unknown>;
  g.require ??= createRequire(import.meta.url);
  const dawn = (await import('webgpu')) as unknown as { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  for (const [k, v] of Object.entries(dawn.globals)) if (!(k in globalThis)) g[k] = v;
  const gpu = dawn.create(robustness ? [] : ['enable-dawn-features=disable_robustness']);
  keepAlive.push(gpu);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });

  const tf = (await import('@tensorflow/tfjs-core')) as Tf;
  // Production mode, as a deployed tfjs user would run (no debug checks, no node-backend banner).
  tf.enableProdMode();
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  await import('@tensorflow/tfjs-backend-cpu');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend did not initialise on this adapter');
  await tf.ready();
  const be = tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string }; device: GPUDevice };
  const gpuErrors: string[] = [];
  be.device.addEventListener('uncapturederror', (ev: Event) => {
    const msg = (ev as GPUUncapturedErrorEvent).error.message;
    // Keep the root cause (WGSL parse errors), not the cascade of "invalid due to a previous error".
    if (!/invalid due to a previous error/.test(msg) || gpuErrors.length === 0) gpuErrors.push(msg.replace(/\s+/g, ' ').trim());
  });
  const webgpuAdapter = [be.adapterInfo?.vendor, be.adapterInfo?.architecture].filter(Boolean).join(' / ') || 'unknown';
  keepAlive.push(be);
  const convGrads: TfConvGrads = {
    conv2DBackpropInput: (await import('@tensorflow/tfjs-core/dist/ops/conv2d_backprop_input.js')).conv2DBackpropInput,
    conv2DBackpropFilter: (await import('@tensorflow/tfjs-core/dist/ops/conv2d_backprop_filter.js')).conv2DBackpropFilter,
    conv3DBackpropInput: (await import('@tensorflow/tfjs-core/dist/ops/conv3d_backprop_input.js')).conv3DBackpropInput,
    conv3DBackpropFilter: (await import('@tensorflow/tfjs-core/dist/ops/conv3d_backprop_filter.js')).conv3DBackpropFilter,
  };
  const require = createRequire(import.meta.url);
  const versions: Record<string, string> = {};
  for (const p of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-cpu']) {
    versions[p] = (require(`${p}/package.json`) as { version: string }).version;
  }
  return { tf, gpuErrors, convGrads, webgpuAdapter, versions };
}

/** Switches tfjs's backend (tensors made before do not follow: make inputs after). */
export async function useBackend(tf: Tf, name: 'webgpu' | 'cpu'): Promise<void> {
  if (tf.getBackend() !== name && !(await tf.setBackend(name))) throw new Error(`tfjs: cannot switch to the ${name} backend`);
  await tf.ready();
}

/** Reads every tensor back (the only completion signal tfjs offers), then disposes them. */
export async function readAll(tf: Tf, ts: TF.Tensor | readonly TF.Tensor[]): Promise<void> {
  const list = Array.isArray(ts) ? ts : [ts as TF.Tensor];
  for (const t of list) await t.data();
  tf.dispose(list as TF.Tensor[]);
}
