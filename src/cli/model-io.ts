/** Model files for the CLI: the shipped weights by default, read from disk into a model bundle. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { InputError } from '../base/errors.js';
import type { Runtime } from '../gpu/runtime.js';
import type { CacNet } from '../net/cacnet.js';
import { loadModel } from '../net/model-bundle.js';

/** The weights the project ships, trained by `cacnet train` (see README). */
export const SHIPPED_WEIGHTS = fileURLToPath(new URL('../../weights/cacnet-demo.safetensors', import.meta.url));

/** The bytes of a weights file; a clear error when it is missing. */
export async function readWeightsFile(path: string): Promise<Uint8Array> {
  if (!existsSync(path)) {
    throw new InputError(
      path === SHIPPED_WEIGHTS
        ? `the shipped weights are missing (${path}); reinstall, or train them with 'cacnet train' (see README)`
        : `${path}: weights file not found`,
    );
  }
  return new Uint8Array(await readFile(path));
}

/** The model in a weights file, ready for inference. */
export async function loadModelFile(rt: Runtime, path = SHIPPED_WEIGHTS): Promise<CacNet> {
  return loadModel(rt, await readWeightsFile(path), path);
}
