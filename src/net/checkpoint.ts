/**
 * Training checkpoints: one file, <dir>/checkpoint.safetensors, a model
 * bundle (weights, configuration, inference settings) with the optimiser's
 * state added as tensors 'optimizer.<slot>.<parameter>' and the training
 * position (step, options, loss history) as metadata 'training_state'.
 *
 * One file is one unit: it is written under a temporary name, flushed, and
 * renamed over the previous one, so a process killed at any instant leaves
 * the previous checkpoint or the new one, never a mix; its CRC-32 (the bundle
 * format's) refuses a damaged copy. Beside it, <dir>/model.safetensors holds
 * the weights alone (what --init, infer and calibrate take), rewritten after
 * each checkpoint and on resume.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../base/errors.js';
import type { Adam, OptimizerStateInput } from '../autograd/optim.js';
import { TEMPORARY_FILE, writeFilesAtomic } from '../io/atomic-write.js';
import { readInputFile } from '../io/nifti-file.js';
import type { CacNet } from './cacnet.js';
import { encodeModel, readModelBundle, type ModelBundle } from './model-bundle.js';
import { tensorsToArrays } from './weights.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const WEIGHTS_FILE = 'model.safetensors';
const STATE_KEY = 'training_state';
const OPTIMIZER_PREFIX = 'optimizer.';

export interface TrainingPosition {
  step: number;
  /** Everything needed to continue identically (seeds, data options, schedule, the command's options). */
  options: Record<string, unknown>;
  /** Loss history for the progress report. */
  history: Array<{ step: number; loss: number }>;
}

/** A checkpoint read back: build the model from `model`, restore the optimiser from `optimizer`, continue at `position`. */
export interface Checkpoint {
  position: TrainingPosition;
  model: ModelBundle;
  optimizer: { kind: string; step: number; slots: Map<string, Map<string, Float32Array>> };
}

/** Writes the checkpoint of `pos.step`, then the weights file; `beforeCommit` runs just before the checkpoint's rename. */
export async function saveCheckpoint(dir: string, model: CacNet, optimizer: Adam, pos: TrainingPosition, beforeCommit?: () => Promise<void>): Promise<void> {
  const st = optimizer.state();
  const names = model.namedParameters().map(([n]) => n);
  const named: Array<[string, (typeof st.slots)[string][number]]> = [];
  for (const [slot, ts] of Object.entries(st.slots)) ts.forEach((t, k) => named.push([`${OPTIMIZER_PREFIX}${slot}.${names[k]}`, t]));
  const tensors = await tensorsToArrays(named);
  for (const [, t] of named) t.dispose();
  const state = JSON.stringify({ ...pos, optimizer: { kind: st.kind, step: st.step } });
  const bytes = await encodeModel(model, { metadata: { [STATE_KEY]: state }, tensors });
  await writeFilesAtomic([{ path: join(dir, CHECKPOINT_FILE), bytes }], { beforeRename: beforeCommit });
  await writeWeightsFile(dir, model, pos.step);
}

/** The weights alone, with the step they are from. */
export async function writeWeightsFile(dir: string, model: CacNet, step: number): Promise<void> {
  await writeFilesAtomic([{ path: join(dir, WEIGHTS_FILE), bytes: await encodeModel(model, { metadata: { step: String(step) } }) }]);
}

function readState(bundle: ModelBundle): { position: TrainingPosition; optimizer: { kind: string; step: number } } {
  const bad = (what: string) => new InputError(`${bundle.source}: ${what}; not a checkpoint this cacnet can resume`);
  const text = bundle.metadata[STATE_KEY];
  if (text === undefined) throw bad(`no ${STATE_KEY} in the metadata (a weights file, not a checkpoint?)`);
  let s: { step?: unknown; options?: unknown; history?: unknown; optimizer?: { kind?: unknown; step?: unknown } };
  try {
    s = JSON.parse(text);
  } catch {
    throw bad(`${STATE_KEY} is not valid JSON`);
  }
  const count = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
  if (typeof s !== 'object' || s === null || !count(s.step)) throw bad(`${STATE_KEY} has no valid step`);
  if (typeof s.options !== 'object' || s.options === null || Array.isArray(s.options)) throw bad(`${STATE_KEY} has no options`);
  if (!Array.isArray(s.history) || !s.history.every((h) => count(h?.step) && Number.isFinite(h?.loss))) throw bad(`${STATE_KEY} has a malformed loss history`);
  if (s.optimizer?.kind !== 'adam' || s.optimizer.step !== s.step) throw bad(`the optimiser state (${JSON.stringify(s.optimizer)}) does not belong to step ${s.step}`);
  return { position: { step: s.step as number, options: s.options as Record<string, unknown>, history: s.history }, optimizer: { kind: 'adam', step: s.step as number } };
}

/** Reads the checkpoint in a folder. */
export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  const path = join(dir, CHECKPOINT_FILE);
  const exists = async (name: string) => (await stat(join(dir, name)).catch(() => undefined)) !== undefined;
  if (!(await exists(CHECKPOINT_FILE))) {
    if (await exists('state.json')) throw new InputError(`${dir}: holds a checkpoint in an older layout (state.json and three more files); resume it with the cacnet that wrote it, or start a new run`);
    throw new InputError(`${dir}: no checkpoint to resume (${CHECKPOINT_FILE} missing)`);
  }
  const model = readModelBundle(await readInputFile(path), path);
  const { position, optimizer } = readState(model);
  const slots = new Map<string, Map<string, Float32Array>>();
  for (const [key, t] of model.tensors) {
    if (!key.startsWith(OPTIMIZER_PREFIX)) continue;
    const rest = key.slice(OPTIMIZER_PREFIX.length);
    const slot = rest.slice(0, rest.indexOf('.'));
    if (!slots.has(slot)) slots.set(slot, new Map());
    slots.get(slot)!.set(rest.slice(slot.length + 1), t.data);
  }
  return { position, model, optimizer: { ...optimizer, slots } };
}

/** The saved optimiser state in the order of the model's parameters. */
export function optimizerStateFor(model: CacNet, checkpoint: Checkpoint): OptimizerStateInput {
  const names = model.namedParameters().map(([n]) => n);
  const slots: Record<string, Float32Array[]> = {};
  for (const [slot, values] of checkpoint.optimizer.slots) {
    slots[slot] = names.map((n) => {
      const t = values.get(n);
      if (!t) throw new InputError(`${checkpoint.model.source}: no '${slot}' optimiser state for parameter ${n}`);
      return t;
    });
  }
  return { kind: checkpoint.optimizer.kind as 'adam', step: checkpoint.optimizer.step, slots };
}

/** Removes temporary files that writers killed mid-write left in `dir` (those of running processes stay); returns their names. */
export async function removeStaleTemporaries(dir: string): Promise<string[]> {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  const names = await readdir(dir).catch(() => [] as string[]);
  const stale = names.filter((n) => {
    const m = TEMPORARY_FILE.exec(n);
    return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
  });
  for (const n of stale) await rm(join(dir, n), { force: true });
  return stale;
}

