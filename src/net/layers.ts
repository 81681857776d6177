/**
 * The layers CAC-Net is built from: convolutions, normalisations, dropout.
 * Each holds its parameters; forward() records on the tape.
 */
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { conv2d, conv3d } from '../autograd/conv.js';
import { batchNorm, groupNorm } from '../autograd/norm.js';
import { dropout } from '../autograd/dropout.js';
import { Module } from './module.js';
import type { InitStream } from './init.js';

export class Conv extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(
    rt: Runtime,
    init: InitStream,
    readonly dims: 2 | 3,
    readonly cin: number,
    readonly cout: number,
    readonly k: number,
    opts: { bias?: boolean; head?: boolean; biasInit?: Float32Array } = {},
  ) {
    super(rt);
    const taps = k ** dims;
    const shape = dims === 2 ? [k, k, cin, cout] : [k, k, k, cin, cout];
    const count = taps * cin * cout;
    this.weight = this.param('weight', opts.head ? init.small(count) : init.he(count, taps * cin), shape);
    this.bias = opts.bias === false ? null : this.param('bias', opts.biasInit ?? new Float32Array(cout), [cout]);
  }

  forward(x: Tensor): Tensor {
    return this.dims === 2 ? conv2d(x, this.weight, this.bias ?? undefined) : conv3d(x, this.weight, this.bias ?? undefined);
  }
}

export class BatchNorm extends Module {
  readonly gamma: Tensor;
  readonly beta: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  constructor(rt: Runtime, readonly channels: number, readonly momentum = 0.1, readonly eps = 1e-5) {
    super(rt);
    this.gamma = this.param('gamma', new Float32Array(channels).fill(1), [channels]);
    this.beta = this.param('beta', new Float32Array(channels), [channels]);
    this.runningMean = this.state('running_mean', new Float32Array(channels), [channels]);
    this.runningVar = this.state('running_var', new Float32Array(channels).fill(1), [channels]);
  }

  forward(x: Tensor): Tensor {
    return batchNorm(x, this.gamma, this.beta, { runningMean: this.runningMean, runningVar: this.runningVar, momentum: this.momentum, eps: this.eps }, this.training);
  }
}

export class GroupNorm extends Module {
  readonly gamma: Tensor;
  readonly beta: Tensor;
  constructor(rt: Runtime, readonly channels: number, readonly groups: number, readonly eps = 1e-5) {
    super(rt);
    this.gamma = this.param('gamma', new Float32Array(channels).fill(1), [channels]);
    this.beta = this.param('beta', new Float32Array(channels), [channels]);
  }

  forward(x: Tensor): Tensor {
    return groupNorm(x, this.gamma, this.beta, this.groups, this.eps);
  }
}

/**
 * Dropout whose mask depends only on (layer seed, training step): a run resumed
 * from a checkpoint draws exactly the masks the uninterrupted run would have.
 */
export class Dropout extends Module {
  step = 0;
  constructor(rt: Runtime, readonly p: number, private readonly seed: number) {
    super(rt);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return dropout(x, this.p, { training: true, seed: (Math.imul(this.seed ^ 0x9e3779b9, 1) + Math.imul(this.step + 1, 0x85ebca6b)) >>> 0 });
  }
}

/**
 * Bias of a classification head that starts the softmax at a prior: background
 * probability 1 - (C-1)·p, each foreground class p. With calcium in a tiny
 * fraction of voxels, a uniform start makes every foreground Dice ≈ 0 and the
 * first hundreds of steps only learn "mostly background" (cf. the prior
 * initialisation of focal-loss detectors).
 */
export function priorBias(classes: number, p = 0.01): Float32Array {
  const b = new Float32Array(classes);
  b[0] = Math.log((1 - (classes - 1) * p) / p);
  return b;
}

/** Largest group count <= wanted that divides channels. */
export function groupsFor(channels: number, wanted: number): number {
  for (let g = Math.min(wanted, channels); g > 1; g--) if (channels % g === 0) return g;
  return 1;
}
