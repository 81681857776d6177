/** Model files for the CLI: the shipped weights by default, read from disk into a model bundle. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InputError } from '../base/errors.js';
import type { Runtime } from '../gpu/runtime.js';
import { readInputFile } from '../io/nifti-file.js';
import type { CacNet } from '../net/cacnet.js';
import { buildModel, readModelBundle, type ModelBundle } from '../net/model-bundle.js';

/** The weights the project ships, trained by `cacnet train` (see README). */
export const SHIPPED_WEIGHTS = fileURLToPath(new URL('../../weights/cacnet-demo.safetensors', import.meta.url));

/** A weights file read and checked (no GPU needed); a clear error when it is missing or broken. */
export async function readModelFile(path = SHIPPED_WEIGHTS): Promise<ModelBundle> {
  if (path === SHIPPED_WEIGHTS && !existsSync(path)) {
    throw new InputError(`the shipped weights are missing (${path}); reinstall, or train them with 'cacnet train' (see README)`);
  }
  return readModelBundle(await readInputFile(path, 'weights file not found'), path);
}

/** The model in a weights file, ready for inference. */
export async function loadModelFile(rt: Runtime, path = SHIPPED_WEIGHTS): Promise<CacNet> {
  return buildModel(rt, await readModelFile(path));
}
