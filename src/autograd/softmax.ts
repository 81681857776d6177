/**
 * Differentiable softmax over the last (channel) axis: what turns the
 * network's logits into class probabilities at inference, and a building
 * block of losses (the Dice loss fuses its own).
 */
import type { Tensor } from '../gpu/tensor.js';
import { softmaxBackward, softmaxForward } from '../kernels/softmax.js';
import { record } from './tape.js';

/** Softmax over the last (channel) axis. */
export function softmax(x: Tensor): Tensor {
  x.assertLive('softmax');
  const y = softmaxForward(x);
  return record('softmax', y, [x], (g) => [softmaxBackward(y, g)]);
}
