/**
 * CAC-Net (Fig. 1a) and the ablation variants of Table 4, all mapping a CT
 * patch [N, D, H, W, 1] to per-voxel logits [N, D, H, W, classes], plus
 * deep-supervision logits when the variant has them.
 *
 * τ and τ⁻¹ of section 2.3 are views: channels-last [N, D, H, W, C] and
 * [N·D, H, W, C] share one buffer.
 */
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError, fmtShape } from '../base/errors.js';
import { concat, reshape } from '../autograd/ops.js';
import { sizeMultiple, type NetConfig } from './config.js';
import { InitStream } from './init.js';
import { Conv, Dropout, priorBias } from './layers.js';
import { Module } from './module.js';
import { UDenseNet2d } from './udensenet.js';
import { UNet } from './unet.js';
import type { ArteryPrior } from './artery-prior.js';
import { DEFAULT_OPERATING_POINT, type InferenceSettings } from './inference-metadata.js';

export interface NetOutput {
  logits: Tensor;
  /** Deep-supervision logits at full resolution, weights[1..] of the config. */
  deep: Tensor[];
}

/** τ: a volume batch as a stack of slices. */
export function volumeToSlices(x: Tensor): Tensor {
  const [n, d, h, w, c] = x.shape as [number, number, number, number, number];
  return reshape(x, [n * d, h, w, c]);
}

/** τ⁻¹: a stack of slices back to volumes of depth d. */
export function slicesToVolume(x: Tensor, d: number): Tensor {
  const [s, h, w, c] = x.shape as [number, number, number, number];
  return reshape(x, [s / d, d, h, w, c]);
}

export class CacNet extends Module implements InferenceSettings {
  private readonly stage2d: UDenseNet2d | UNet | null = null;
  private readonly head2d: Conv | null = null;
  private readonly stage3d: UNet | null = null;
  /** Spatial prior that names the artery of found calcium at inference (artery-prior.ts); shipped with the weights, not trained. */
  arteryPrior: ArteryPrior | null = null;
  /** Inference operating point per artery (LAD, LCX, RCA): a candidate named that artery is calcium when 1 − P(background) reaches it (calibrate.ts). */
  calciumProbability: readonly number[] = DEFAULT_OPERATING_POINT;
  /** Noise SDs above 130 HU a lesion's peak must reach to be kept (noise-floor.ts); 0 keeps all. Calibrated with the operating point. */
  noiseMargin = 0;
  /** Prior SDs from the nearest artery a lesion's centre may lie (lesion-filter.ts); Infinity: no gate. Calibrated with the operating point. */
  positionGate = Infinity;

  constructor(rt: Runtime, readonly config: NetConfig) {
    super(rt);
    const c = config;
    const init = new InitStream(c.seed);
    const deepLevels = Math.max(0, c.supervisionWeights.length - 1);
    const input = c.inputChannels ?? 1;
    const image = c.imageTo3d ? input : 0;
    const unet3d = (inChannels: number, skips = true, supervised = deepLevels) =>
      new UNet(rt, init, { dims: 3, inChannels, levels: c.levels3d, baseChannels: c.baseChannels3d, groups: c.groups3d, dropout: c.dropout3d, skips, classes: c.classes, supervisedLevels: supervised });
    switch (c.variant) {
      case 'cacnet': {
        const s2 = this.child('udensenet', new UDenseNet2d(rt, init, c, input));
        this.stage2d = s2;
        this.stage3d = this.child('unet3d', unet3d(s2.outChannels + image));
        break;
      }
      case 'twofold': {
        const s2 = this.child('unet2d', new UNet(rt, init, { dims: 2, inChannels: input, levels: (c.denseBlocks.length + 1) / 2, baseChannels: c.growthRate * 3, groups: 1, dropout: c.dropout2d, skips: true, classes: 0, supervisedLevels: 0 }));
        this.stage2d = s2;
        this.stage3d = this.child('unet3d', unet3d(s2.outChannels + image));
        break;
      }
      case 'udensenet': {
        const s2 = this.child('udensenet', new UDenseNet2d(rt, init, c, input));
        this.stage2d = s2;
        this.head2d = this.child('head', new Conv(rt, init, 2, s2.outChannels, c.classes, 1, { head: true, biasInit: priorBias(c.classes) }));
        break;
      }
      case 'unet3d':
        this.stage3d = this.child('unet3d', unet3d(input));
        break;
      case 'fcn':
        this.stage3d = this.child('fcn3d', unet3d(input, false, 0));
        break;
    }
  }

  /** Checks a patch shape against the poolings, with a message a user can act on. */
  checkInput(x: Tensor): void {
    const m = sizeMultiple(this.config);
    const [, d, h, w, c] = x.shape;
    const channels = this.config.inputChannels ?? 1;
    if (x.rank !== 5 || c !== channels) throw new ShapeError(`cacnet: input must be [N, D, H, W, ${channels}], got ${fmtShape(x.shape)}`);
    if (d! % m.depth || h! % m.plane || w! % m.plane) {
      throw new ShapeError(`cacnet: patch ${d}x${h}x${w} must have depth divisible by ${m.depth} and height/width by ${m.plane} (the network pools that often)`);
    }
  }

  forward(x: Tensor): NetOutput {
    this.checkInput(x);
    const d = x.shape[1]!;
    let features = x;
    if (this.stage2d) {
      const slices = volumeToSlices(x);
      const f = this.stage2d instanceof UNet ? this.stage2d.forward(slices).out : this.stage2d.forward(slices);
      if (this.head2d) return { logits: slicesToVolume(this.head2d.forward(f), d), deep: [] };
      const volume = slicesToVolume(f, d);
      features = this.config.imageTo3d ? concat([volume, x]) : volume;
    }
    const out = this.stage3d!.forward(features);
    return { logits: out.out, deep: out.deep };
  }

  /** Sets the training step that seeds every dropout mask (reproducible resume). */
  setStep(step: number): void {
    for (const m of this.modules()) if (m instanceof Dropout) m.step = step;
  }
}
