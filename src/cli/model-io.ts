/** Loading a trained network for the CLI: the shipped weights by default. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { InputError } from '../base/errors.js';
import type { Runtime } from '../gpu/runtime.js';
import { CacNet } from '../net/cacnet.js';
import type { NetConfig } from '../net/config.js';
import { decodeSafetensors } from '../net/safetensors.js';
import { importWeights } from '../net/weights.js';
import { applyInferenceMetadata } from '../net/inference-metadata.js';

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

/** The network configuration a weights file carries in its metadata. */
export function weightsConfig(bytes: Uint8Array, path: string): NetConfig {
  const { metadata } = decodeSafetensors(bytes, path);
  if (!metadata.config) throw new InputError(`${path}: no network configuration in the file's metadata; not a cacnet weights file`);
  try {
    return JSON.parse(metadata.config) as NetConfig;
  } catch {
    throw new InputError(`${path}: the network configuration in the metadata is not valid JSON`);
  }
}

/** Builds the network described in a weights file's metadata and loads the weights. */
export async function loadModel(rt: Runtime, path = SHIPPED_WEIGHTS): Promise<{ model: CacNet; meta: Record<string, string> }> {
  const bytes = await readWeightsFile(path);
  const model = new CacNet(rt, weightsConfig(bytes, path));
  const meta = importWeights(model, bytes, path);
  applyInferenceMetadata(model, meta, path);
  model.eval();
  return { model, meta };
}
