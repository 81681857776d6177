/**
 * The U-Net of section 2.2, in 3D (the paper's inter-slice module: group norm,
 * trilinear up-sampling, deep supervision) or 2D (the "Twofold U-Net" ablation's
 * first stage, with batch norm). Each level: two 3x3(x3) convolutions, each
 * followed by normalisation, ReLU and dropout; 2x2(x2) max pooling; feature maps
 * doubling per level. The expanding path up-samples, concatenates the skip (or
 * not, for the FCN ablation) and applies two convolutions.
 */
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { concat, relu } from '../autograd/ops.js';
import { maxPool2d, maxPool3d } from '../autograd/pool.js';
import { upsampleBilinear2d, upsampleTrilinear3d } from '../autograd/resize.js';
import type { InitStream } from './init.js';
import { BatchNorm, Conv, Dropout, GroupNorm, groupsFor, priorBias } from './layers.js';
import { Module } from './module.js';

export interface UNetOptions {
  dims: 2 | 3;
  inChannels: number;
  levels: number;
  baseChannels: number;
  groups: number;
  dropout: number;
  /** false: the FCN ablation (no skip concatenation). */
  skips: boolean;
  /** Output classes of the heads; 0: no heads (the 2D stage of Twofold returns features). */
  classes: number;
  /** Expanding levels (below the finest) that get a deep-supervision head. */
  supervisedLevels: number;
}

/** conv -> norm -> ReLU -> dropout. */
class ConvUnit extends Module {
  private readonly conv: Conv;
  private readonly norm: BatchNorm | GroupNorm;
  private readonly drop: Dropout;
  constructor(rt: Runtime, init: InitStream, o: UNetOptions, cin: number, cout: number) {
    super(rt);
    this.conv = this.child('conv', new Conv(rt, init, o.dims, cin, cout, 3));
    this.norm = this.child('norm', o.dims === 3 ? new GroupNorm(rt, cout, groupsFor(cout, o.groups)) : new BatchNorm(rt, cout));
    this.drop = this.child('drop', new Dropout(rt, o.dropout, init.seed()));
  }
  forward(x: Tensor): Tensor {
    return this.drop.forward(relu(this.norm.forward(this.conv.forward(x))));
  }
}

export interface UNetOutput {
  /** Finest-level output: logits (classes > 0) or features. */
  out: Tensor;
  /** Deep-supervision logits, up-sampled to full resolution, next-finest first. */
  deep: Tensor[];
}

export class UNet extends Module {
  private readonly encoder: Array<[ConvUnit, ConvUnit]> = [];
  private readonly decoder: Array<[ConvUnit, ConvUnit]> = [];
  private readonly head: Conv | null;
  private readonly deepHeads: Conv[] = [];
  readonly outChannels: number;

  constructor(rt: Runtime, init: InitStream, readonly o: UNetOptions) {
    super(rt);
    const width = (l: number) => o.baseChannels * 2 ** l;
    let cin = o.inChannels;
    for (let l = 0; l < o.levels; l++) {
      this.encoder.push([this.child(`enc${l}a`, new ConvUnit(rt, init, o, cin, width(l))), this.child(`enc${l}b`, new ConvUnit(rt, init, o, width(l), width(l)))]);
      cin = width(l);
    }
    for (let l = o.levels - 2; l >= 0; l--) {
      const inC = width(l + 1) + (o.skips ? width(l) : 0);
      this.decoder.push([this.child(`dec${l}a`, new ConvUnit(rt, init, o, inC, width(l))), this.child(`dec${l}b`, new ConvUnit(rt, init, o, width(l), width(l)))]);
    }
    this.head = o.classes > 0 ? this.child('head', new Conv(rt, init, o.dims, width(0), o.classes, 1, { head: true, biasInit: priorBias(o.classes) })) : null;
    for (let l = 1; l <= o.supervisedLevels && l <= o.levels - 2; l++) {
      this.deepHeads.push(this.child(`deep${l}`, new Conv(rt, init, o.dims, width(l), o.classes, 1, { head: true, biasInit: priorBias(o.classes) })));
    }
    this.outChannels = o.classes > 0 ? o.classes : width(0);
  }

  private pool(x: Tensor): Tensor {
    return this.o.dims === 3 ? maxPool3d(x) : maxPool2d(x);
  }

  private upsample(x: Tensor, size: readonly number[]): Tensor {
    return this.o.dims === 3 ? upsampleTrilinear3d(x, { size }) : upsampleBilinear2d(x, { size });
  }

  forward(x: Tensor): UNetOutput {
    const skips: Tensor[] = [];
    const sizes: number[][] = [];
    let h = x;
    for (let l = 0; l < this.encoder.length; l++) {
      if (l > 0) h = this.pool(h);
      sizes.push(h.shape.slice(1, -1));
      const [a, b] = this.encoder[l]!;
      h = b.forward(a.forward(h));
      skips.push(h);
    }
    const byLevel = new Map<number, Tensor>();
    for (let j = 0; j < this.decoder.length; j++) {
      const l = this.encoder.length - 2 - j;
      const up = this.upsample(h, sizes[l]!);
      const [a, b] = this.decoder[j]!;
      h = b.forward(a.forward(this.o.skips ? concat([up, skips[l]!]) : up));
      byLevel.set(l, h);
    }
    const full = sizes[0]!;
    const deep = this.deepHeads.map((head, i) => this.upsample(head.forward(byLevel.get(i + 1)!), full));
    return { out: this.head ? this.head.forward(h) : h, deep };
  }
}
