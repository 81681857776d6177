/**
 * Errors a user can act on. The CLI prints `error.message` in one line and exits
 * non-zero for these; anything else is a bug and keeps its stack trace.
 */
export class CacnetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An op was called with tensors whose shapes do not fit together. */
export class ShapeError extends CacnetError {}

/** An op was called with a tensor of the wrong element type. */
export class DtypeError extends CacnetError {}

/** A tensor was used after its GPU memory went back to the pool. */
export class DisposedTensorError extends CacnetError {}

/** No WebGPU adapter could be found (no GPU, no SwiftShader, no navigator.gpu). */
export class GpuUnavailableError extends CacnetError {}

/** The GPU device was lost (driver reset, out of memory, device destroyed). */
export class DeviceLostError extends CacnetError {}

/** The work does not fit the device's limits (buffer size, memory). */
export class GpuLimitError extends CacnetError {}

/** Formats a shape the same way in every message: [2, 3, 4]. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** A user's input file or argument is unusable (corrupt, truncated, wrong kind). */
export class InputError extends CacnetError {}

/** Training met a NaN or infinite loss. */
export class NonFiniteLossError extends CacnetError {}
