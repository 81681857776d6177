/** Which phantoms go with a network: the grid it was trained for decides. */
import type { NetConfig } from '../net/config.js';
import type { PhantomPreset } from './presets.js';
import type { PhantomSplit } from './scanner-ranges.js';

/** Which phantoms: a preset and, for the scanner preset, the split its parameters are drawn from. */
export interface PhantomKind {
  preset: PhantomPreset;
  split?: PhantomSplit;
}

/**
 * The phantoms a network is trained, calibrated and judged on. A network on
 * the working grid: scanner-size phantoms, drawn inside the training ranges for
 * training and calibration, from the full ranges (part of them never trained
 * on) for evaluation and the demo. Older networks: the small phantoms.
 */
export function phantomKind(config: NetConfig, purpose: 'train' | 'evaluate'): PhantomKind {
  if (!config.workingGrid) return { preset: 'small' };
  return { preset: 'scanner', split: purpose === 'train' ? 'train' : 'heldout' };
}
