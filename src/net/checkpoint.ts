/**
 * Training checkpoints: a folder with the model (model.safetensors, a model
 * bundle with the step in its metadata), the optimiser state
 * (optimizer.safetensors), the configuration (config.json) and the training
 * position (state.json). Each file is written atomically, and state.json
 * last: a checkpoint is complete exactly when its state.json says the step
 * that the other files hold.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../base/errors.js';
import type { Adam, OptimizerStateInput } from '../autograd/optim.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { CacNet } from './cacnet.js';
import { encodeModel, readModelBundle, type ModelBundle } from './model-bundle.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { tensorsToArrays } from './weights.js';

export interface TrainingPosition {
  step: number;
  /** Everything needed to continue identically (seeds, data options, schedule). */
  options: Record<string, unknown>;
  /** Loss history for the progress report. */
  history: Array<{ step: number; loss: number }>;
}

/** Optimiser state as stored: per slot ('m', 'v'), the values by parameter name. */
export interface SavedOptimizer {
  path: string;
  kind: string;
  step: number;
  slots: Map<string, Map<string, Float32Array>>;
}

/** A checkpoint read back: build the model from `model`, restore the optimiser from `optimizer`, continue at `position`. */
export interface Checkpoint {
  position: TrainingPosition;
  model: ModelBundle;
  optimizer: SavedOptimizer;
}

const enc = (o: unknown) => new TextEncoder().encode(`${JSON.stringify(o, null, 2)}\n`);

export async function saveCheckpoint(dir: string, model: CacNet, optimizer: Adam, pos: TrainingPosition): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, 'model.safetensors'), await encodeModel(model, { step: String(pos.step) }));
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

function readOptimizer(bytes: Uint8Array, path: string): SavedOptimizer {
  const { tensors, metadata } = decodeSafetensors(bytes, path);
  const slots = new Map<string, Map<string, Float32Array>>();
  for (const [key, t] of tensors) {
    const dot = key.indexOf('.');
    const slot = key.slice(0, dot);
    if (!slots.has(slot)) slots.set(slot, new Map());
    slots.get(slot)!.set(key.slice(dot + 1), t.data);
  }
  return { path, kind: metadata.kind ?? '', step: Number(metadata.step), slots };
}

/** The saved optimiser state in the order of the model's parameters. */
export function optimizerStateFor(model: CacNet, saved: SavedOptimizer): OptimizerStateInput {
  const names = model.namedParameters().map(([n]) => n);
  const slots: Record<string, Float32Array[]> = {};
  for (const [slot, values] of saved.slots) {
    slots[slot] = names.map((n) => {
      const t = values.get(n);
      if (!t) throw new InputError(`${saved.path}: no '${slot}' state for parameter ${n}`);
      return t;
    });
  }
  return { kind: saved.kind as 'adam', step: saved.step, slots };
}

/** Reads the checkpoint in a folder. */
export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  const statePath = join(dir, 'state.json');
  if (!existsSync(statePath)) throw new InputError(`${dir}: no complete checkpoint to resume (state.json missing)`);
  const position = JSON.parse(await readFile(statePath, 'utf8')) as TrainingPosition;
  const weightsPath = join(dir, 'model.safetensors');
  if (!existsSync(weightsPath)) throw new InputError(`${weightsPath}: weights file not found`);
  const model = readModelBundle(new Uint8Array(await readFile(weightsPath)), weightsPath);
  if (Number(model.metadata.step) !== position.step) throw new InputError(`${dir}: model.safetensors is from step ${model.metadata.step}, state.json says ${position.step}`);
  const optPath = join(dir, 'optimizer.safetensors');
  return { position, model, optimizer: readOptimizer(new Uint8Array(await readFile(optPath)), optPath) };
}
