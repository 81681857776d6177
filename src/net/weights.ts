/**
 * Model weights <-> safetensors bytes (parameters and running statistics, with
 * the network configuration in the metadata). Bytes only: used by the Node
 * checkpoints and by the browser, which fetches the shipped file.
 */
import { InputError, fmtShape } from '../base/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Module } from './module.js';
import { decodeSafetensors, encodeSafetensors, type NamedArray } from './safetensors.js';

export async function tensorsToArrays(named: Array<[string, Tensor]>): Promise<Map<string, NamedArray>> {
  const out = new Map<string, NamedArray>();
  for (const [name, t] of named) out.set(name, { data: await t.readF32(), shape: [...t.shape] });
  return out;
}

export async function exportWeights(model: Module, metadata: Record<string, string>): Promise<Uint8Array> {
  const arrays = await tensorsToArrays([...model.namedParameters(), ...model.namedState()]);
  return encodeSafetensors(arrays, metadata);
}

/** Loads weights into a model built with the same configuration; every tensor must match. */
export function importWeights(model: Module, bytes: Uint8Array, source: string): Record<string, string> {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
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
  return metadata;
}
