/**
 * The model bundle: one safetensors file is the whole model. Its tensors are
 * the weights; its metadata holds the network configuration and the
 * inference settings (artery prior, operating point; inference-metadata.ts).
 * The CLI, the browser app and training (--init, --resume) all turn bytes
 * into a model here, decoding the file once, and every model file is written
 * by encodeModel (a checkpoint is a bundle with the optimiser's tensors and
 * the training state added: checkpoint.ts).
 *
 * The metadata is versioned (`cacnet_format`). Files written before the
 * version was recorded are format 1 and read as such; a format this code does
 * not know is refused, so a model whose settings we would not understand never
 * runs with them silently dropped. To carry a new setting: read its key in
 * inference-metadata.ts (with a default for older files), raise
 * BUNDLE_FORMAT and say in FORMATS what the new format added.
 *
 * Nothing wrong leaves here: every value must be finite, the configuration
 * sound, and from format 3 on the file's CRC-32 must match, so a flipped bit
 * anywhere in a file is refused instead of scoring with a damaged network.
 */
import { InputError } from '../base/errors.js';
import type { Runtime } from '../gpu/runtime.js';
import { CacNet } from './cacnet.js';
import { netConfigProblem, type NetConfig } from './config.js';
import { crc32Hex } from './checksum.js';
import { applyInferenceMetadata, INFERENCE_KEYS, inferenceMetadata, type InferenceSettings } from './inference-metadata.js';
import { decodeSafetensors, encodeSafetensors, type NamedArray } from './safetensors.js';
import { importWeights, tensorsToArrays } from './weights.js';

export const BUNDLE_FORMAT_KEY = 'cacnet_format';
export const CHECKSUM_KEY = 'cacnet_crc32';

/** What each format holds; files are written in the newest. */
export const FORMATS: Record<number, string> = {
  1: 'config, artery_prior and calcium_probability in the metadata (files written before the format was recorded)',
  2: 'format 1 with its number recorded',
  3: `format 2 with the CRC-32 of the whole file (its own 8 digits read as zeros) in ${CHECKSUM_KEY}`,
  4: 'format 3; the config may carry a working grid and input channels (the network then runs around the located heart, and its artery prior measures from the heart)',
};
export const BUNDLE_FORMAT = 4;
const OLDEST_FORMAT = 1;
const CHECKED_FROM = 3;

/** A decoded model file: what it holds, checked, before any GPU work. */
export interface ModelBundle {
  /** Where the bytes came from, for messages. */
  source: string;
  format: number;
  config: NetConfig;
  tensors: Map<string, NamedArray>;
  inference: InferenceSettings;
  /** Every metadata entry, the keys above included (a checkpoint's training state, …). */
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
  let config: unknown;
  try {
    config = JSON.parse(metadata.config);
  } catch {
    throw new InputError(`${source}: the network configuration in the metadata is not valid JSON`);
  }
  const problem = netConfigProblem(config);
  if (problem) throw new InputError(`${source}: the network configuration in the metadata is not sound (${problem})`);
  return config as NetConfig;
}

/** Where the checksum's 8 hex digits sit in the file (as JSON.stringify writes the header), or -1. */
function checksumAt(bytes: Uint8Array, headerEnd: number): number {
  const pattern = new TextEncoder().encode(`"${CHECKSUM_KEY}":"`);
  const header = bytes.subarray(0, headerEnd);
  for (let i = header.indexOf(pattern[0]!); i >= 0; i = header.indexOf(pattern[0]!, i + 1)) {
    if (pattern.every((b, k) => header[i + k] === b)) return i + pattern.length;
  }
  return -1;
}

/** The file's CRC-32 with its stored digits read as zeros. */
function fileChecksum(bytes: Uint8Array, at: number): string {
  const copy = bytes.slice();
  copy.fill(0x30, at, at + 8); // '0'
  return crc32Hex(copy);
}

function checkChecksum(bytes: Uint8Array, metadata: Record<string, string>, source: string): void {
  const stored = metadata[CHECKSUM_KEY];
  const headerEnd = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const at = stored === undefined || !/^[0-9a-f]{8}$/.test(stored) ? -1 : checksumAt(bytes, headerEnd);
  if (at < 0) throw new InputError(`${source}: the file's checksum (${CHECKSUM_KEY}) is missing or malformed; the file is corrupt`);
  const actual = fileChecksum(bytes, at);
  if (actual !== stored) throw new InputError(`${source}: checksum mismatch (stored ${stored}, the bytes give ${actual}): the file is corrupt or was edited; copy it again or retrain`);
}

function checkFinite(tensors: Map<string, NamedArray>, source: string): void {
  let bad = 0;
  const where: string[] = [];
  for (const [name, t] of tensors) {
    let here = 0;
    for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i]!)) here++;
    if (here) where.push(name);
    bad += here;
  }
  if (bad) throw new InputError(`${source}: ${bad} values are NaN or infinite, in ${where.length} tensor${where.length > 1 ? 's' : ''} (first: '${where[0]}'); the file is corrupt`);
}

/** Decodes and checks a model file's bytes (no GPU needed). */
export function readModelBundle(bytes: Uint8Array, source: string): ModelBundle {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const format = bundleFormat(metadata, source);
  // Verified whenever present: a flipped format digit must not switch the check off.
  if (format >= CHECKED_FROM || CHECKSUM_KEY in metadata) checkChecksum(bytes, metadata, source);
  const config = bundleConfig(metadata, source);
  checkFinite(tensors, source);
  const inference: InferenceSettings = { arteryPrior: null, calciumProbability: [], noiseMargin: 0, positionGate: Infinity };
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
  model.noiseMargin = bundle.inference.noiseMargin;
  model.positionGate = bundle.inference.positionGate;
  return model.eval();
}

/** Bytes of a model file in, a ready model out. */
export function loadModel(rt: Runtime, bytes: Uint8Array, source: string, o: BuildOptions = {}): CacNet {
  return buildModel(rt, readModelBundle(bytes, source), o);
}

/** Safetensors bytes in the newest format: `metadata` with the format and checksum set. */
function encodeBundle(tensors: Map<string, NamedArray>, metadata: Record<string, string>): Uint8Array {
  const bytes = encodeSafetensors(tensors, { ...metadata, [BUNDLE_FORMAT_KEY]: String(BUNDLE_FORMAT), [CHECKSUM_KEY]: '00000000' });
  const headerEnd = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const at = checksumAt(bytes, headerEnd);
  bytes.set(new TextEncoder().encode(fileChecksum(bytes, at)), at);
  return bytes;
}

/** `extra` (a checkpoint's state, …) with the configuration and inference settings set anew. */
function bundleMetadata(config: NetConfig, inference: InferenceSettings, extra: Record<string, string>): Record<string, string> {
  const kept = Object.entries(extra).filter(([k]) => !INFERENCE_KEYS.includes(k) && k !== BUNDLE_FORMAT_KEY && k !== CHECKSUM_KEY);
  return { ...Object.fromEntries(kept), config: JSON.stringify(config), ...inferenceMetadata(inference) };
}

/** What a file holds besides the model: more metadata, more tensors (a checkpoint's). */
export interface BundleExtras {
  metadata?: Record<string, string>;
  tensors?: Map<string, NamedArray>;
}

/** A model file for the model as it is now. */
export async function encodeModel(model: CacNet, extra: BundleExtras = {}): Promise<Uint8Array> {
  const tensors = await tensorsToArrays([...model.namedParameters(), ...model.namedState()]);
  for (const [name, t] of extra.tensors ?? []) tensors.set(name, t);
  return encodeBundle(tensors, bundleMetadata(model.config, model, extra.metadata ?? {}));
}

/** The bundle's file again with other inference settings (calibration), its other metadata kept. */
export function encodeWithInferenceSettings(bundle: ModelBundle, inference: InferenceSettings): Uint8Array {
  return encodeBundle(bundle.tensors, bundleMetadata(bundle.config, inference, bundle.metadata));
}
