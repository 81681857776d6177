/**
 * Differentiable convolutions (stride 1, same padding, optional bias).
 * TEMPORARY: backed by the direct kernels until the implicit-GEMM core lands.
 */
import { ShapeError, fmtShape } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { binary } from '../kernels/elementwise.js';
import { sumAxes } from '../kernels/reduce.js';
import { convForward, convGeometry, convInputGrad, convWeightGrad } from '../kernels/conv-direct.js';
import { record } from './tape.js';

function conv(op: string, dims: 2 | 3, x: Tensor, w: Tensor, b?: Tensor): Tensor {
  x.assertLive(op);
  w.assertLive(op);
  const g = convGeometry(op, x, w, dims);
  if (b && (b.rank !== 1 || b.shape[0] !== g.cout)) throw new ShapeError(`${op}: bias ${fmtShape(b.shape)} must be [${g.cout}]`);
  const raw = convForward(x, w, g);
  const y = b ? binary(`${op}-bias`, raw, b, 'a + b') : raw;
  if (b) raw.dispose();
  const inputs = b ? [x, w, b] : [x, w];
  return record(op, y, inputs, (dy) => [
    x.requiresGrad ? convInputGrad(dy, w, x.shape, g) : null,
    w.requiresGrad ? convWeightGrad(x, dy, w.shape, g) : null,
    ...(b ? [b.requiresGrad ? sumAxes(dy, [...Array(dy.rank - 1).keys()]) : null] : []),
  ]);
}

export function conv2d(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  return conv('conv2d', 2, x, w, b);
}

export function conv3d(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  return conv('conv3d', 3, x, w, b);
}
