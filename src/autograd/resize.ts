/**
 * Differentiable linear up-sampling with half-pixel centres (PyTorch
 * align_corners=False): bilinear over NHWC, trilinear over NDHWC. The
 * backward only needs the geometry, so nothing is saved.
 */
import { Tensor } from '../gpu/tensor.js';
import { resizeBackward, resizeForward, resizeGeometry, type ResizeTarget } from '../kernels/resize.js';
import { record } from './tape.js';

export type { ResizeTarget } from '../kernels/resize.js';

function upsample(op: string, x: Tensor, target: ResizeTarget, rank: 2 | 3): Tensor {
  const g = resizeGeometry(op, x, target, rank);
  const y = resizeForward(op, x, g, rank);
  return record(op, y, [x], (dy) => [resizeBackward(op, dy, g, rank)]);
}

/** Bilinear resize of NHWC x: { scale: s | [sh, sw] } (integers) or { size: [oh, ow] }. */
export function upsampleBilinear2d(x: Tensor, target: ResizeTarget): Tensor {
  return upsample('upsampleBilinear2d', x, target, 2);
}

/** Trilinear resize of NDHWC x: { scale: s | [sd, sh, sw] } (integers) or { size: [od, oh, ow] }. */
export function upsampleTrilinear3d(x: Tensor, target: ResizeTarget): Tensor {
  return upsample('upsampleTrilinear3d', x, target, 3);
}
