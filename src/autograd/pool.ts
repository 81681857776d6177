/**
 * Differentiable max pooling (window = stride, NHWC / NDHWC). The forward
 * writes the argmax only when a gradient will be needed; the backward closure
 * keeps it and gathers dL/dx from it. The argmax lives in the caller's scope,
 * like every tensor a backward closure reads.
 */
import { Tensor } from '../gpu/tensor.js';
import { maxPoolBackward, maxPoolForward, poolGeometry, poolWindow } from '../kernels/pool.js';
import { isGradEnabled, record } from './tape.js';

function maxPool(op: string, x: Tensor, k: number | readonly number[], rank: 2 | 3): Tensor {
  const g = poolGeometry(op, x, poolWindow(op, k, rank), rank);
  const needsGrad = isGradEnabled() && x.requiresGrad;
  const { y, argmax } = maxPoolForward(op, x, g, rank, needsGrad);
  if (!argmax) return y;
  return record(op, y, [x], (dy) => [maxPoolBackward(op, dy, argmax, g, rank)]);
}

/** 2x2 (or k x k) max pooling with stride = window over NHWC; odd sizes floor. */
export function maxPool2d(x: Tensor, k: number | readonly [number, number] = 2): Tensor {
  return maxPool('maxPool2d', x, k, 2);
}

/** 2x2x2 (or k, or [kd, kh, kw]) max pooling with stride = window over NDHWC; odd sizes floor. */
export function maxPool3d(x: Tensor, k: number | readonly [number, number, number] = 2): Tensor {
  return maxPool('maxPool3d', x, k, 3);
}
