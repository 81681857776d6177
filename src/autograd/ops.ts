/**
 * First differentiable ops: arithmetic with broadcasting, scalar ops, relu,
 * channel concatenation, reshape, sums and means, matmul. Each pairs forward
 * kernels with the backward that the tape calls.
 */
import { ShapeError, fmtShape } from '../base/errors.js';
import { Tensor, type Shape } from '../gpu/tensor.js';
import { binary, expand, unary } from '../kernels/elementwise.js';
import { concatChannels, sliceChannels } from '../kernels/channels.js';
import { matmul as matmulKernel } from '../kernels/matmul.js';
import { normaliseAxes, sumAxes } from '../kernels/reduce.js';
import { record } from './tape.js';

/** Sums a broadcast gradient back down to `shape`. */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g.view(shape);
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const s = sumAxes(g, axes, true);
  const out = s.view(shape);
  s.dispose();
  return out;
}

function assertSameRt(op: string, a: Tensor, b: Tensor): void {
  a.assertLive(op);
  b.assertLive(op);
  if (a.rt !== b.rt) throw new ShapeError(`${op}: tensors live on different GPU devices`);
}

export function add(a: Tensor, b: Tensor): Tensor {
  assertSameRt('add', a, b);
  const y = binary('add', a, b, 'a + b');
  return record('add', y, [a, b], (g) => [a.requiresGrad ? sumToShape(g, a.shape) : null, b.requiresGrad ? sumToShape(g, b.shape) : null]);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  assertSameRt('sub', a, b);
  const y = binary('sub', a, b, 'a - b');
  return record('sub', y, [a, b], (g) => {
    let gb: Tensor | null = null;
    if (b.requiresGrad) {
      const neg = unary('neg', g, '-x');
      gb = sumToShape(neg, b.shape);
      neg.dispose();
    }
    return [a.requiresGrad ? sumToShape(g, a.shape) : null, gb];
  });
}

export function mul(a: Tensor, b: Tensor): Tensor {
  assertSameRt('mul', a, b);
  const y = binary('mul', a, b, 'a * b');
  return record('mul', y, [a, b], (g) => {
    const part = (other: Tensor, self: Tensor) => {
      const full = binary('mul', g, other, 'a * b');
      const r = sumToShape(full, self.shape);
      full.dispose();
      return r;
    };
    return [a.requiresGrad ? part(b, a) : null, b.requiresGrad ? part(a, b) : null];
  });
}

/** y = alpha * x + beta. */
export function affine(x: Tensor, alpha: number, beta = 0): Tensor {
  x.assertLive('affine');
  const y = unary('affine', x, 'p.alpha * x + p.beta', alpha, beta);
  return record('affine', y, [x], (g) => [unary('scale', g, 'p.alpha * x', alpha)]);
}

export const mulScalar = (x: Tensor, s: number): Tensor => affine(x, s, 0);
export const addScalar = (x: Tensor, s: number): Tensor => affine(x, 1, s);
export const neg = (x: Tensor): Tensor => affine(x, -1, 0);

export function relu(x: Tensor): Tensor {
  x.assertLive('relu');
  const y = unary('relu', x, 'max(x, 0.0)');
  return record('relu', y, [x], (g) => [binary('relu-backward', x, g, 'select(0.0, b, a > 0.0)')]);
}

/** Elementwise square (for L2 terms and tests of non-linear gradients). */
export function square(x: Tensor): Tensor {
  x.assertLive('square');
  const y = unary('square', x, 'x * x');
  return record('square', y, [x], (g) => [binary('square-backward', x, g, '2.0 * a * b')]);
}

/** Natural log, clamped below at `floor` so probabilities that underflow stay finite. */
export function logClamped(x: Tensor, floor = 1e-7): Tensor {
  x.assertLive('log');
  const y = unary('log', x, 'log(max(x, p.alpha))', floor);
  return record('log', y, [x], (g) => [binary('log-backward', x, g, `select(0.0, b / a, a > ${floor.toExponential()})`)]);
}

export function concat(xs: readonly Tensor[]): Tensor {
  for (const x of xs) x.assertLive('concat');
  const y = concatChannels(xs);
  return record('concat', y, xs, (g) => {
    let off = 0;
    return xs.map((x) => {
      const c = x.shape[x.rank - 1]!;
      const gi = x.requiresGrad ? sliceChannels(g, off, c) : null;
      off += c;
      return gi;
    });
  });
}

/** A free reshape (a view); one dimension may be -1. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const y = x.view(shape);
  return record('reshape', y, [x], (g) => [g.view(x.shape)]);
}

/** Sum over `axes` (all when omitted). */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  x.assertLive('sum');
  const y = sumAxes(x, axes, keepDims);
  const keptShape = x.shape.map((d, i) => (normaliseAxes('sum', x.rank, axes).includes(i) ? 1 : d));
  return record('sum', y, [x], (g) => {
    const gk = g.view(keptShape);
    const out = expand(gk, x.shape);
    gk.dispose();
    return [out];
  });
}

/** Mean over `axes` (all when omitted). */
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normaliseAxes('mean', x.rank, axes);
  const count = ax.reduce((n, a) => n * x.shape[a]!, 1);
  const s = sum(x, ax, keepDims);
  return affine(s, 1 / count);
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  assertSameRt('matmul', a, b);
  const y = matmulKernel(a, b);
  return record('matmul', y, [a, b], (g) => [
    a.requiresGrad ? matmulKernel(g, b, false, true) : null,
    b.requiresGrad ? matmulKernel(a, g, true, false) : null,
  ]);
}
