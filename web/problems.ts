/**
 * What can go wrong on the page, sorted into what the user can do about it:
 * no WebGPU, a file that is not a CT volume, a scan too large for the device,
 * missing weights, or a bug.
 */
import { CacnetError, DeviceLostError, GpuLimitError, GpuUnavailableError, InputError } from '../src/base/errors.js';

/** The shipped weights could not be fetched or do not fit the network. */
export class WeightsError extends CacnetError {}

/** What went wrong, in the words the page shows. */
export type ProblemKind = 'no-webgpu' | 'not-ct' | 'too-large' | 'weights' | 'internal';

export interface Problem {
  kind: ProblemKind;
  title: string;
  detail: string;
}

/** Sorts an error into what the user can do about it. */
export function describeProblem(error: unknown, stage: 'open' | 'score'): Problem {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof GpuUnavailableError) {
    return {
      kind: 'no-webgpu',
      title: 'WebGPU is not available in this browser',
      detail: `${message}. Use a recent Chrome, Edge or another browser with WebGPU enabled; on Linux Chrome may need chrome://flags/#enable-unsafe-webgpu. The scan can still be viewed.`,
    };
  }
  if (error instanceof GpuLimitError || error instanceof DeviceLostError || /out of memory|OutOfMemory|exceeds the .*limit|allocation/i.test(message)) {
    return {
      kind: 'too-large',
      title: 'This scan does not fit this device',
      detail: `${message}. Try a machine with more GPU memory, or a scan cropped to the heart.`,
    };
  }
  if (error instanceof WeightsError) return { kind: 'weights', title: 'The network weights could not be loaded', detail: message };
  if (error instanceof InputError && stage === 'open') return { kind: 'not-ct', title: 'This file is not a CT volume the app can score', detail: message };
  if (error instanceof CacnetError) return { kind: 'internal', title: stage === 'open' ? 'The scan could not be opened' : 'Scoring failed', detail: message };
  return { kind: 'internal', title: 'Something went wrong', detail: message };
}
