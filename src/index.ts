/**
 * cacnet's public API: the WebGPU engine (runtime, tensors, autograd), the
 * CAC-Net network, CT input/output and calcium scoring.
 */
export * from './base/errors.js';
export * from './gpu/index.js';
export * from './autograd/index.js';
export { CacNet, volumeToSlices, slicesToVolume, type NetOutput } from './net/cacnet.js';
export { CONFIGS, DEMO_CONFIG, PAPER_CONFIG, TINY_CONFIG, VARIANTS, type NetConfig, type Variant } from './net/config.js';
export { segment, type InferenceOptions } from './net/infer.js';
export { scoreCt, type ScanResult } from './net/pipeline.js';
export { train, type TrainOptions } from './net/train.js';
export { buildModel, encodeModel, loadModel, readModelBundle, type ModelBundle } from './net/model-bundle.js';
export * from './io/volume.js';
export { generatePhantom, type Phantom, type PhantomOptions } from './phantom/phantom.js';
export { generateCohort } from './phantom/cohort.js';
export { SCANNER_RANGES, type PhantomSplit } from './phantom/scanner-ranges.js';
export { CALCIUM_KIND_CODES, type CalciumKind } from './phantom/noncoronary-calcium.js';
export * from './scoring/index.js';
