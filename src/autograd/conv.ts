/**
 * Differentiable convolutions: stride 1, same padding, odd kernels, optional
 * bias; x channels-last ([N, H, W, Cin] / [N, D, H, W, Cin]) and weights in
 * TensorFlow layout ([KH, KW, Cin, Cout] / [KD, KH, KW, Cin, Cout]). The bias
 * is added inside the forward kernel; its gradient is dy summed over all but
 * the channel axis.
 */
import type { Tensor } from '../gpu/tensor.js';
import { convBiasGrad, convForward, convGeometry, convInputGrad, convWeightGrad } from '../kernels/conv.js';
import { record } from './tape.js';

function conv(op: 'conv2d' | 'conv3d', dims: 2 | 3, x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const g = convGeometry(op, x, w, dims, b);
  const y = convForward(x, w, b ?? null, g);
  const inputs = b ? [x, w, b] : [x, w];
  return record(op, y, inputs, (dy) => [
    x.requiresGrad ? convInputGrad(dy, w, g) : null,
    w.requiresGrad ? convWeightGrad(x, dy, w.shape, g) : null,
    ...(b ? [b.requiresGrad ? convBiasGrad(dy) : null] : []),
  ]);
}

/** y = conv2d(x, w) + b, x [N, H, W, Cin], w [KH, KW, Cin, Cout], b [Cout]. */
export function conv2d(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  return conv('conv2d', 2, x, w, b);
}

/** y = conv3d(x, w) + b, x [N, D, H, W, Cin], w [KD, KH, KW, Cin, Cout], b [Cout]. */
export function conv3d(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  return conv('conv3d', 3, x, w, b);
}
