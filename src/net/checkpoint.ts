/**
 * Training checkpoints: a folder with the weights (model.safetensors), the
 * optimiser state (optimizer.safetensors), the configuration (config.json) and
 * the training position (state.json). Each file is written atomically, and
 * state.json last: a checkpoint is complete exactly when its state.json says
 * the step that the other files hold.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../base/errors.js';
import type { Adam } from '../autograd/optim.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { NetConfig } from './config.js';
import type { CacNet } from './cacnet.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { exportWeights, importWeights, tensorsToArrays } from './weights.js';
import { applyInferenceMetadata, inferenceMetadata } from './inference-metadata.js';

export interface TrainingPosition {
  step: number;
  /** Everything needed to continue identically (seeds, data options, schedule). */
  options: Record<string, unknown>;
  /** Loss history for the progress report. */
  history: Array<{ step: number; loss: number }>;
}

const enc = (o: unknown) => new TextEncoder().encode(`${JSON.stringify(o, null, 2)}\n`);

export async function saveCheckpoint(dir: string, model: CacNet, optimizer: Adam, pos: TrainingPosition): Promise<void> {
  await mkdir(dir, { recursive: true });
  const meta = { config: JSON.stringify(model.config), step: String(pos.step), ...inferenceMetadata(model) };
  await writeFileAtomic(join(dir, 'model.safetensors'), await exportWeights(model, meta));
  const st = optimizer.state();
  const names = model.namedParameters().map(([n]) => n);
  const named: Array<[string, (typeof st.slots)[string][number]]> = [];
  for (const [slot, ts] of Object.entries(st.slots)) ts.forEach((t, k) => named.push([`${slot}.${names[k]}`, t]));
  const arrays = await tensorsToArrays(named);
  for (const [, t] of named) t.dispose();
  await writeFileAtomic(join(dir, 'optimizer.safetensors'), encodeSafetensors(arrays, { kind: st.kind, step: String(st.step) }));
  await writeFileAtomic(join(dir, 'config.json'), enc(model.config));
  await writeFileAtomic(join(dir, 'state.json'), enc(pos));
}

export async function readCheckpointConfig(dir: string): Promise<NetConfig> {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new InputError(`${dir}: no checkpoint here (config.json missing)`);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as NetConfig;
  } catch {
    throw new InputError(`${path}: not valid JSON`);
  }
}

export async function loadWeightsFile(path: string, model: CacNet): Promise<Record<string, string>> {
  if (!existsSync(path)) throw new InputError(`${path}: weights file not found`);
  return importWeights(model, new Uint8Array(await readFile(path)), path);
}

/** Restores model, optimiser and position from a checkpoint folder. */
export async function loadCheckpoint(dir: string, model: CacNet, optimizer: Adam): Promise<TrainingPosition> {
  const statePath = join(dir, 'state.json');
  if (!existsSync(statePath)) throw new InputError(`${dir}: no complete checkpoint to resume (state.json missing)`);
  const pos = JSON.parse(await readFile(statePath, 'utf8')) as TrainingPosition;
  const weightsPath = join(dir, 'model.safetensors');
  const meta = await loadWeightsFile(weightsPath, model);
  applyInferenceMetadata(model, meta, weightsPath);
  if (Number(meta.step) !== pos.step) throw new InputError(`${dir}: model.safetensors is from step ${meta.step}, state.json says ${pos.step}`);
  const optPath = join(dir, 'optimizer.safetensors');
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(await readFile(optPath)), optPath);
  const names = model.namedParameters().map(([n]) => n);
  const slots: Record<string, Float32Array[]> = {};
  for (const key of tensors.keys()) {
    const slot = key.slice(0, key.indexOf('.'));
    slots[slot] ??= names.map((n) => {
      const t = tensors.get(`${slot}.${n}`);
      if (!t) throw new InputError(`${optPath}: no '${slot}' state for parameter ${n}`);
      return t.data;
    });
  }
  optimizer.loadState({ kind: metadata.kind as 'adam', step: Number(metadata.step), slots });
  return pos;
}
