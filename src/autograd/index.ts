/**
 * The autograd layer's public face: the tape (backward, vjp, noGrad), every
 * differentiable op, the optimisers and the gradient checker. An op not
 * exported here is not part of the engine's contract.
 */
export * from './tape.js';
export * from './ops.js';
export { conv2d, conv3d } from './conv.js';
export { maxPool2d, maxPool3d } from './pool.js';
export { upsampleBilinear2d, upsampleTrilinear3d, type ResizeTarget } from './resize.js';
export { batchNorm, groupNorm, type BatchNormState, type NormOptions } from './norm.js';
export { dropout, type DropoutOptions } from './dropout.js';
export { softmax } from './softmax.js';
export * from './loss.js';
export * from './optim.js';
export * from './gradcheck.js';
export { Tensor, tidy, tidyAsync, keep } from '../gpu/index.js';
