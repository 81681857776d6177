/**
 * A module's tensors (parameters and running statistics) <-> safetensors.
 * Bytes only, no file system: model-bundle.ts builds model files on it for
 * the CLI, the checkpoints and the browser.
 */
import { InputError, fmtShape } from '../base/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Module } from './module.js';
import { encodeSafetensors, type NamedArray } from './safetensors.js';

export async function tensorsToArrays(named: Array<[string, Tensor]>): Promise<Map<string, NamedArray>> {
  const out = new Map<string, NamedArray>();
  for (const [name, t] of named) out.set(name, { data: await t.readF32(), shape: [...t.shape] });
  return out;
}

export async function exportWeights(model: Module, metadata: Record<string, string>): Promise<Uint8Array> {
  const arrays = await tensorsToArrays([...model.namedParameters(), ...model.namedState()]);
  return encodeSafetensors(arrays, metadata);
}

/** Loads decoded weights into a model built with the same configuration; every tensor must match. */
export function importWeights(model: Module, tensors: ReadonlyMap<string, NamedArray>, source: string): void {
  const targets = [...model.namedParameters(), ...model.namedState()];
  const missing = targets.filter(([n]) => !tensors.has(n)).map(([n]) => n);
  if (missing.length) {
    throw new InputError(`${source}: weights do not fit this network: ${missing.length} tensors missing (first: ${missing[0]}); was it trained with another configuration?`);
  }
  for (const [name, t] of targets) {
    const src = tensors.get(name)!;
    if (src.data.length !== t.size) throw new InputError(`${source}: '${name}' has shape ${fmtShape(src.shape)}, the network expects ${fmtShape(t.shape)}`);
  }
  for (const [name, t] of targets) t.rt.write(t.buffer, tensors.get(name)!.data);
}
