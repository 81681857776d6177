/**
 * The 2D U-DenseNet of section 2.1 (Fig. 1b), over a stack of slices [S, H, W, C].
 *
 * Our reading of the places the paper leaves open:
 * - a dense block returns only its new feature maps (growth × layers), as in
 *   FC-DenseNet; transition-down takes concat(block input, block output);
 * - the expanding path has a constant width: that of the bottleneck's output.
 *   Each up block's input is TU(previous) + 1x1conv(same-level concat), and its
 *   "input + output" sum projects the output to that width with a 1x1 conv when
 *   the two differ;
 * - the 3D module's input is the concatenation of all up blocks' outputs,
 *   bilinearly up-sampled to full resolution.
 */
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { add, concat, relu } from '../autograd/ops.js';
import { maxPool2d } from '../autograd/pool.js';
import { upsampleBilinear2d } from '../autograd/resize.js';
import type { NetConfig } from './config.js';
import type { InitStream } from './init.js';
import { BatchNorm, Conv, Dropout } from './layers.js';
import { Module } from './module.js';

/** BN, 1x1 conv, ReLU, BN, 3x3 conv, ReLU, with dropout after each convolution. */
class ConvBlock extends Module {
  private readonly bn1: BatchNorm;
  private readonly conv1: Conv;
  private readonly drop1: Dropout;
  private readonly bn2: BatchNorm;
  private readonly conv3: Conv;
  private readonly drop2: Dropout;
  constructor(rt: Runtime, init: InitStream, cin: number, c: NetConfig) {
    super(rt);
    const mid = c.growthRate * c.bottleneckFactor;
    this.bn1 = this.child('bn1', new BatchNorm(rt, cin));
    this.conv1 = this.child('conv1', new Conv(rt, init, 2, cin, mid, 1));
    this.drop1 = this.child('drop1', new Dropout(rt, c.dropout2d, init.seed()));
    this.bn2 = this.child('bn2', new BatchNorm(rt, mid));
    this.conv3 = this.child('conv3', new Conv(rt, init, 2, mid, c.growthRate, 3));
    this.drop2 = this.child('drop2', new Dropout(rt, c.dropout2d, init.seed()));
  }
  forward(x: Tensor): Tensor {
    const h = this.drop1.forward(relu(this.conv1.forward(this.bn1.forward(x))));
    return this.drop2.forward(relu(this.conv3.forward(this.bn2.forward(h))));
  }
}

/** Dense block: each conv-block sees the block input and every earlier block's output. */
export class DenseBlock extends Module {
  private readonly blocks: ConvBlock[] = [];
  readonly outChannels: number;
  constructor(rt: Runtime, init: InitStream, readonly cin: number, layers: number, c: NetConfig) {
    super(rt);
    for (let i = 0; i < layers; i++) this.blocks.push(this.child(`layer${i}`, new ConvBlock(rt, init, cin + i * c.growthRate, c)));
    this.outChannels = layers * c.growthRate;
  }
  /** Returns the new feature maps only (growth × layers channels). */
  forward(x: Tensor): Tensor {
    const features: Tensor[] = [];
    let input = x;
    for (const b of this.blocks) {
      features.push(b.forward(input));
      input = concat([x, ...features]);
    }
    return features.length === 1 ? features[0]! : concat(features);
  }
}

/** BN, ReLU, 1x1 conv, 2x2 max pooling. */
class TransitionDown extends Module {
  private readonly bn: BatchNorm;
  private readonly conv: Conv;
  private readonly drop: Dropout;
  constructor(rt: Runtime, init: InitStream, channels: number, c: NetConfig) {
    super(rt);
    this.bn = this.child('bn', new BatchNorm(rt, channels));
    this.conv = this.child('conv', new Conv(rt, init, 2, channels, channels, 1));
    this.drop = this.child('drop', new Dropout(rt, c.dropout2d, init.seed()));
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(this.drop.forward(this.conv.forward(relu(this.bn.forward(x)))));
  }
}

export class UDenseNet2d extends Module {
  private readonly inputConvs: Conv[];
  private readonly down: DenseBlock[] = [];
  private readonly transitions: TransitionDown[] = [];
  private readonly bottleneck: DenseBlock;
  private readonly skips: Conv[] = [];
  private readonly up: DenseBlock[] = [];
  private readonly projections: Array<Conv | null> = [];
  /** Channels of the full-resolution feature stack handed to the 3D module. */
  readonly outChannels: number;

  constructor(rt: Runtime, init: InitStream, c: NetConfig, inChannels = 1) {
    super(rt);
    const levels = (c.denseBlocks.length - 1) / 2;
    if (!Number.isInteger(levels) || levels < 1) throw new Error(`denseBlocks needs an odd length >= 3, got ${c.denseBlocks.length}`);
    this.inputConvs = [3, 5, 7].map((k) => this.child(`input${k}x${k}`, new Conv(rt, init, 2, inChannels, c.inputChannels2d, k)));
    let ch = 3 * c.inputChannels2d;
    const skipChannels: number[] = [];
    for (let i = 0; i < levels; i++) {
      const block = this.child(`down${i}`, new DenseBlock(rt, init, ch, c.denseBlocks[i]!, c));
      this.down.push(block);
      ch += block.outChannels;
      skipChannels.push(ch);
      this.transitions.push(this.child(`td${i}`, new TransitionDown(rt, init, ch, c)));
    }
    this.bottleneck = this.child('bottleneck', new DenseBlock(rt, init, ch, c.denseBlocks[levels]!, c));
    const width = this.bottleneck.outChannels;
    let out = 0;
    for (let j = 0; j < levels; j++) {
      const level = levels - 1 - j;
      this.skips.push(this.child(`skip${level}`, new Conv(rt, init, 2, skipChannels[level]!, width, 1)));
      const block = this.child(`up${level}`, new DenseBlock(rt, init, width, c.denseBlocks[levels + 1 + j]!, c));
      this.up.push(block);
      // The finest block's "input + output" would feed no further TU: no projection there.
      const needsProjection = level > 0 && block.outChannels !== width;
      this.projections.push(needsProjection ? this.child(`proj${level}`, new Conv(rt, init, 2, block.outChannels, width, 1)) : null);
      out += block.outChannels;
    }
    this.outChannels = out;
  }

  /** x: [S, H, W, C] slices. Returns [S, H, W, outChannels] at full resolution. */
  forward(x: Tensor): Tensor {
    let h = concat(this.inputConvs.map((conv) => conv.forward(x)));
    const skips: Tensor[] = [];
    const sizes: Array<[number, number]> = [];
    for (let i = 0; i < this.down.length; i++) {
      sizes.push([h.shape[1]!, h.shape[2]!]);
      const s = concat([h, this.down[i]!.forward(h)]);
      skips.push(s);
      h = this.transitions[i]!.forward(s);
    }
    let u = this.bottleneck.forward(h);
    const outputs: Tensor[] = [];
    for (let j = 0; j < this.up.length; j++) {
      const level = this.down.length - 1 - j;
      const input = add(upsampleBilinear2d(u, { size: sizes[level]! }), this.skips[j]!.forward(skips[level]!));
      const f = this.up[j]!.forward(input);
      outputs.push(f);
      if (level === 0) break;
      const proj = this.projections[j];
      u = add(input, proj ? proj.forward(f) : f);
    }
    const full = sizes[0]!;
    return concat(outputs.map((f) => (f.shape[1] === full[0] && f.shape[2] === full[1] ? f : upsampleBilinear2d(f, { size: full }))));
  }
}
