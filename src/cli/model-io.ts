/** Loading a trained network for the CLI: the shipped weights by default. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { InputError } from '../gpu/errors.js';
import type { Runtime } from '../gpu/runtime.js';
import { CacNet } from '../net/cacnet.js';
import type { NetConfig } from '../net/config.js';
import { decodeSafetensors } from '../net/safetensors.js';
import { importWeights } from '../net/weights.js';
import { applyInferenceMetadata } from '../net/inference-metadata.js';

/** The weights the project ships, trained by `cacnet train` (see README). */
export const SHIPPED_WEIGHTS = fileURLToPath(new URL('../../weights/cacnet-demo.safetensors', import.meta.url));

/** Builds the network described in a weights file's metadata and loads the weights. */
export async function loadModel(rt: Runtime, path = SHIPPED_WEIGHTS): Promise<{ model: CacNet; meta: Record<string, string> }> {
  if (!existsSync(path)) {
    throw new InputError(
      path === SHIPPED_WEIGHTS
        ? `the shipped weights are missing (${path}); reinstall, or train them with 'cacnet train' (see README)`
        : `${path}: weights file not found`,
    );
  }
  const bytes = new Uint8Array(await readFile(path));
  const { metadata } = decodeSafetensors(bytes, path);
  if (!metadata.config) throw new InputError(`${path}: no network configuration in the file's metadata; not a cacnet weights file`);
  let config: NetConfig;
  try {
    config = JSON.parse(metadata.config) as NetConfig;
  } catch {
    throw new InputError(`${path}: the network configuration in the metadata is not valid JSON`);
  }
  const model = new CacNet(rt, config);
  importWeights(model, bytes, path);
  applyInferenceMetadata(model, metadata, path);
  model.eval();
  return { model, meta: metadata };
}
