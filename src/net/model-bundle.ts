/**
 * The model bundle: one safetensors file is the whole model. Its tensors are
 * the weights; its metadata holds the network configuration and the
 * inference settings (artery prior, operating point; inference-metadata.ts).
 * The CLI, the browser app and training (--init, --resume) all turn bytes
 * into a model here, decoding the file once, and every model file is written
 * by encodeModel.
 *
 * The metadata is versioned (`cacnet_format`). Files written before the
 * version was recorded are format 1 and read as such; a format this code does
 * not know is refused, so a model whose settings we would not understand never
 * runs with them silently dropped. To carry a new setting: read its key in
 * inference-metadata.ts (with a default for older files), raise
 * BUNDLE_FORMAT and say in FORMATS what the new format added.
 */
import { InputError } from '../base/errors.js';
import type { Runtime } from '../gpu/runtime.js';
import { CacNet } from './cacnet.js';
import type { NetConfig } from './config.js';
import { applyInferenceMetadata, INFERENCE_KEYS, inferenceMetadata, type InferenceSettings } from './inference-metadata.js';
import { decodeSafetensors, encodeSafetensors, type NamedArray } from './safetensors.js';
import { exportWeights, importWeights } from './weights.js';

export const BUNDLE_FORMAT_KEY = 'cacnet_format';

/** What each format holds; files are written in the newest. */
export const FORMATS: Record<number, string> = {
  1: 'config, artery_prior and calcium_probability in the metadata (files written before the format was recorded)',
  2: 'format 1 with its number recorded',
  3: 'format 2; the config may carry a working grid and input channels (the network then runs around the located heart, and its artery prior measures from the heart)',
};
export const BUNDLE_FORMAT = 3;
const OLDEST_FORMAT = 1;

/** A decoded model file: what it holds, checked, before any GPU work. */
export interface ModelBundle {
  /** Where the bytes came from, for messages. */
  source: string;
  format: number;
  config: NetConfig;
  tensors: Map<string, NamedArray>;
  inference: InferenceSettings;
  /** Every metadata entry, the keys above included (a checkpoint's step, …). */
  metadata: Record<string, string>;
}

function bundleFormat(metadata: Record<string, string>, source: string): number {
  const text = metadata[BUNDLE_FORMAT_KEY];
  if (text === undefined) return OLDEST_FORMAT;
  const format = Number(text);
  if (!Number.isInteger(format) || !(format in FORMATS)) {
    throw new InputError(`${source}: model format '${text}' is not one this cacnet reads (${OLDEST_FORMAT} to ${BUNDLE_FORMAT}); a newer cacnet wrote it, or the file is corrupt`);
  }
  return format;
}

function bundleConfig(metadata: Record<string, string>, source: string): NetConfig {
  if (!metadata.config) throw new InputError(`${source}: no network configuration in the file's metadata; not a cacnet weights file`);
  try {
    return JSON.parse(metadata.config) as NetConfig;
  } catch {
    throw new InputError(`${source}: the network configuration in the metadata is not valid JSON`);
  }
}

/** Decodes and checks a model file's bytes (no GPU needed). */
export function readModelBundle(bytes: Uint8Array, source: string): ModelBundle {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const format = bundleFormat(metadata, source);
  const config = bundleConfig(metadata, source);
  const inference: InferenceSettings = { arteryPrior: null, calciumProbability: [] };
  applyInferenceMetadata(inference, metadata, source);
  return { source, format, config, tensors, inference, metadata };
}

export interface BuildOptions {
  /** Another seed for the network (dropout masks of a fine-tuning run); the weights are the file's. */
  seed?: number;
}

/** The network a bundle describes, with its weights and inference settings, in evaluation mode. */
export function buildModel(rt: Runtime, bundle: ModelBundle, o: BuildOptions = {}): CacNet {
  const model = new CacNet(rt, o.seed === undefined ? bundle.config : { ...bundle.config, seed: o.seed });
  try {
    importWeights(model, bundle.tensors, bundle.source);
  } catch (error) {
    model.dispose();
    throw error;
  }
  model.arteryPrior = bundle.inference.arteryPrior;
  model.calciumProbability = bundle.inference.calciumProbability;
  return model.eval();
}

/** Bytes of a model file in, a ready model out. */
export function loadModel(rt: Runtime, bytes: Uint8Array, source: string, o: BuildOptions = {}): CacNet {
  return buildModel(rt, readModelBundle(bytes, source), o);
}

/** The metadata a model file gets: `extra` (a checkpoint's step, …) with the format, configuration and inference settings set anew. */
function bundleMetadata(config: NetConfig, inference: InferenceSettings, extra: Record<string, string>): Record<string, string> {
  const kept = Object.entries(extra).filter(([k]) => !INFERENCE_KEYS.includes(k));
  return { ...Object.fromEntries(kept), [BUNDLE_FORMAT_KEY]: String(BUNDLE_FORMAT), config: JSON.stringify(config), ...inferenceMetadata(inference) };
}

/** A model file for the model as it is now. */
export async function encodeModel(model: CacNet, extra: Record<string, string> = {}): Promise<Uint8Array> {
  return exportWeights(model, bundleMetadata(model.config, model, extra));
}

/** The bundle's file again with other inference settings (calibration), its other metadata kept. */
export function encodeWithInferenceSettings(bundle: ModelBundle, inference: InferenceSettings): Uint8Array {
  return encodeSafetensors(bundle.tensors, bundleMetadata(bundle.config, inference, bundle.metadata));
}
