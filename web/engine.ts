/**
 * The network in the tab: one WebGPU runtime on navigator.gpu, the shipped
 * weights fetched from this page's own server, and the same scoreCt the CLI
 * runs, so the page and `cacnet infer` give the same numbers.
 */
import { Runtime } from '../src/gpu/runtime.js';
import type { CacNet } from '../src/net/cacnet.js';
import { loadModel } from '../src/net/model-bundle.js';
import { scoreCt, type ScanResult } from '../src/net/pipeline.js';
import type { Volume } from '../src/io/volume.js';
import { WeightsError } from './problems.js';
import { GpuLimitError, InputError } from '../src/base/errors.js';

export const WEIGHTS_URL = 'weights/cacnet-demo.safetensors';

/** Host memory the inference may take in a tab (browsers cap a tab at a few GiB). */
const TAB_MEMORY_BUDGET = 2 * 2 ** 30;

export interface EngineInfo {
  adapter: string;
  software: boolean;
  maxBindingMiB: number;
}

/** One GPU runtime and one model for the life of the page. */
export class Engine {
  private constructor(
    readonly rt: Runtime,
    readonly model: CacNet,
  ) {}

  static async create(onStatus: (text: string) => void): Promise<Engine> {
    onStatus('Requesting a WebGPU device…');
    const rt = await Runtime.create();
    try {
      onStatus('Loading the network weights…');
      return new Engine(rt, await loadShippedModel(rt));
    } catch (error) {
      rt.destroy();
      throw error;
    }
  }

  get info(): EngineInfo {
    const d = this.rt.description;
    const name = [d.vendor, d.architecture, d.device, d.description].filter(Boolean).join(' ') || 'unknown adapter';
    return { adapter: name, software: d.isSoftware, maxBindingMiB: this.rt.maxStorageBinding / 2 ** 20 };
  }

  /**
   * Scores a scan. Refuses, with a GpuLimitError, one whose inference buffers
   * (per-class probabilities, weights, the normalised copy, the labels) would
   * not fit a browser tab: the tab would otherwise just crash.
   */
  score(ct: Volume, onProgress: (done: number, total: number) => void): Promise<ScanResult> {
    const voxels = ct.dims[0] * ct.dims[1] * ct.dims[2];
    // Sized for inference on the scan's own grid; a working-grid network needs less (cell index, labels), so this is
    // conservative for it, and still passes every calcium-scoring scan (512 x 512 x 80 is 0.6 GiB by this count).
    const bytes = voxels * 4 * (this.model.config.classes + 3);
    if (bytes > TAB_MEMORY_BUDGET) {
      const gib = (x: number) => (x / 2 ** 30).toFixed(1);
      return Promise.reject(
        new GpuLimitError(
          `this scan (${ct.dims.join('×')} voxels) needs about ${gib(bytes)} GiB for inference, more than the ${gib(TAB_MEMORY_BUDGET)} GiB a browser tab can count on; use the CLI (cacnet infer) or crop the scan to the heart`,
        ),
      );
    }
    return scoreCt(this.rt, this.model, ct, { inference: { onProgress } });
  }

  get lost(): boolean {
    return this.rt.isLost;
  }

  destroy(): void {
    this.model.dispose();
    this.rt.destroy();
  }
}

async function loadShippedModel(rt: Runtime): Promise<CacNet> {
  let response: Response;
  try {
    response = await fetch(WEIGHTS_URL, { cache: 'no-cache' });
  } catch (error) {
    throw new WeightsError(`could not fetch ${WEIGHTS_URL} from this page's server (${(error as Error).message})`);
  }
  if (!response.ok) {
    throw new WeightsError(
      response.status === 404
        ? `the shipped weights (${WEIGHTS_URL}) are missing on the server; train them with 'cacnet train' (see README) or reinstall`
        : `fetching ${WEIGHTS_URL} failed: HTTP ${response.status}`,
    );
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  try {
    return loadModel(rt, bytes, WEIGHTS_URL);
  } catch (error) {
    // What the file holds is wrong (format, configuration, tensors); GPU errors keep their kind.
    if (error instanceof InputError) throw new WeightsError(error.message);
    throw error;
  }
}
