/** The run the kill-anywhere test interrupts: shared by the test (its uninterrupted reference) and the child process. */
import { generatePhantom } from '../../src/phantom/phantom.js';
import { TINY_CONFIG, type NetConfig } from '../../src/net/config.js';
import type { Scan, TrainOptions } from '../../src/net/train.js';

/** The 3D U-Net alone: the fewest pipelines to compile (each child process compiles its own), dropout on so resumed steps must re-derive their masks. */
export const KILL_TEST_CONFIG: NetConfig = { ...TINY_CONFIG, variant: 'unet3d', dropout3d: 0.2, seed: 21 };
export const KILL_TEST_STEPS = 6;

export function killTestScans(): Scan[] {
  return [0, 1].map((i) => {
    const p = generatePhantom({ seed: 300 + i, preset: 'small', riskTarget: 3, dims: [32, 32, 8] });
    return { id: `k${i}`, ct: p.ct, labels: p.labels };
  });
}

export function killTestOptions(dir: string | undefined): TrainOptions {
  return { steps: KILL_TEST_STEPS, lr: 5e-3, patch: [4, 16, 16], batch: 1, foregroundProbability: 0.8, seed: 8, checkpointDir: dir, checkpointEvery: 1 };
}
