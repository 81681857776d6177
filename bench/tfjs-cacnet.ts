/**
 * CAC-Net (the 'cacnet' variant of src/net) composed from TensorFlow.js ops, the
 * way a tfjs user would write it: the same modules in the same order, the same
 * parameter names (so the weights can be copied from a cacnet model and the two
 * forwards compared), trained with tf.train.adam through optimizer.minimize
 * (tf.variableGrads underneath).
 *
 * - 2D convolutions use tf.fused.conv2d with the bias (and the ReLU where one
 *   follows directly): the fastest tfjs path. 3D convolutions are tf.conv3d plus
 *   a bias add (tfjs has no fused 3D convolution).
 * - Batch norm: tf.moments + tf.batchNorm in training, running averages updated
 *   after the step as Keras does; group norm and trilinear up-sampling are
 *   composed (tfjs has neither), see bench/suites/ops.ts.
 * - Per-channel broadcasts on rank-5 tensors go through a [-1, C] view: tfjs-webgpu
 *   4.22 generates WGSL that does not compile for rank-5 broadcasts.
 * - The L2 term of eq. 4 is added to the loss (λ Σ‖W‖²): tfjs's Adam has no
 *   weight decay, and cacnet's Adam applies the same gradient (2λW) in its update.
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { NetConfig } from '../src/net/config.js';
import { groupsFor } from '../src/net/layers.js';
import type { Tf } from './lib/tfjs.js';
import { tfBatchNorm, tfChannelAffine, tfGroupNorm, tfSoftmaxDice, tfTrilinear } from './suites/ops.js';

export interface HostTensor {
  data: Float32Array;
  shape: number[];
}

type T = TF.Tensor;

export class TfCacNet {
  readonly params = new Map<string, TF.Variable>();
  private readonly state = new Map<string, TF.Variable>();
  training = true;
  /** Batch statistics of this step's batch norms, for the running-average update after it. */
  private pendingStats: Array<{ name: string; mean: T; variance: T; count: number }> = [];
  private readonly momentum = 0.1;

  constructor(
    private readonly tf: Tf,
    readonly config: NetConfig,
    params: ReadonlyMap<string, HostTensor>,
    state: ReadonlyMap<string, HostTensor>,
  ) {
    if (config.variant !== 'cacnet') throw new Error(`tfjs-cacnet composes the 'cacnet' variant only, not '${config.variant}'`);
    for (const [name, t] of params) this.params.set(name, tf.variable(tf.tensor(t.data, t.shape), true, `p/${name}`));
    for (const [name, t] of state) this.state.set(name, tf.variable(tf.tensor(t.data, t.shape), false, `s/${name}`));
  }

  private p(name: string): TF.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`tfjs-cacnet: no parameter '${name}' (the composition and src/net disagree)`);
    return v;
  }

  private s(name: string): TF.Variable {
    const v = this.state.get(name);
    if (!v) throw new Error(`tfjs-cacnet: no state '${name}'`);
    return v;
  }

  // ---- layers ---------------------------------------------------------------

  private conv2d(prefix: string, x: T, relu = false): T {
    return this.tf.fused.conv2d({ x: x as TF.Tensor4D, filter: this.p(`${prefix}.weight`) as unknown as TF.Tensor4D, strides: 1, pad: 'same', bias: this.p(`${prefix}.bias`), activation: relu ? 'relu' : 'linear' });
  }

  private conv3d(prefix: string, x: T): T {
    const y = this.tf.conv3d(x as TF.Tensor5D, this.p(`${prefix}.weight`) as unknown as TF.Tensor5D, 1, 'same');
    return tfChannelAffine(this.tf, y, null, this.p(`${prefix}.bias`));
  }

  private batchNorm(prefix: string, x: T): T {
    const gamma = this.p(`${prefix}.gamma`);
    const beta = this.p(`${prefix}.beta`);
    if (!this.training) return this.tf.batchNorm(x as TF.Tensor4D, this.s(`${prefix}.running_mean`), this.s(`${prefix}.running_var`), beta, gamma, 1e-5);
    const { y, mean, variance } = tfBatchNorm(this.tf, x, gamma, beta, 1e-5);
    this.pendingStats.push({ name: prefix, mean: this.tf.keep(mean), variance: this.tf.keep(variance), count: x.size / x.shape[x.rank - 1]! });
    return y;
  }

  private dropout(x: T, rate: number): T {
    if (!this.training || rate === 0) return x;
    const c = x.shape[x.rank - 1]!;
    return this.tf.reshape(this.tf.dropout(this.tf.reshape(x, [-1, c]), rate), x.shape);
  }

  private concat(xs: T[]): T {
    return xs.length === 1 ? xs[0]! : this.tf.concat(xs, -1);
  }

  // ---- U-DenseNet 2D ----------------------------------------------------------

  private convBlock(prefix: string, x: T): T {
    const r = this.config.dropout2d;
    const h = this.dropout(this.conv2d(`${prefix}.conv1`, this.batchNorm(`${prefix}.bn1`, x), true), r);
    return this.dropout(this.conv2d(`${prefix}.conv3`, this.batchNorm(`${prefix}.bn2`, h), true), r);
  }

  private denseBlock(prefix: string, x: T, layers: number): T {
    const features: T[] = [];
    let input = x;
    for (let i = 0; i < layers; i++) {
      features.push(this.convBlock(`${prefix}.layer${i}`, input));
      input = this.concat([x, ...features]);
    }
    return this.concat(features);
  }

  private transitionDown(prefix: string, x: T): T {
    const h = this.dropout(this.conv2d(`${prefix}.conv`, this.tf.relu(this.batchNorm(`${prefix}.bn`, x))), this.config.dropout2d);
    return this.tf.maxPool(h as TF.Tensor4D, 2, 2, 'valid');
  }

  private bilinear(x: T, size: [number, number]): T {
    return this.tf.image.resizeBilinear(x as TF.Tensor4D, size, false, true);
  }

  private udensenet(x: T): T {
    const c = this.config;
    const levels = (c.denseBlocks.length - 1) / 2;
    let h = this.concat([3, 5, 7].map((k) => this.conv2d(`udensenet.input${k}x${k}`, x)));
    const skips: T[] = [];
    const sizes: Array<[number, number]> = [];
    for (let i = 0; i < levels; i++) {
      sizes.push([h.shape[1]!, h.shape[2]!]);
      const s = this.concat([h, this.denseBlock(`udensenet.down${i}`, h, c.denseBlocks[i]!)]);
      skips.push(s);
      h = this.transitionDown(`udensenet.td${i}`, s);
    }
    let u = this.denseBlock('udensenet.bottleneck', h, c.denseBlocks[levels]!);
    const outputs: T[] = [];
    for (let j = 0; j < levels; j++) {
      const level = levels - 1 - j;
      const input = this.tf.add(this.bilinear(u, sizes[level]!), this.conv2d(`udensenet.skip${level}`, skips[level]!));
      const f = this.denseBlock(`udensenet.up${level}`, input, c.denseBlocks[levels + 1 + j]!);
      outputs.push(f);
      if (level === 0) break; // the finest block's "input + output" would feed nothing
      u = this.tf.add(input, this.params.has(`udensenet.proj${level}.weight`) ? this.conv2d(`udensenet.proj${level}`, f) : f);
    }
    const full = sizes[0]!;
    return this.concat(outputs.map((f) => (f.shape[1] === full[0] && f.shape[2] === full[1] ? f : this.bilinear(f, full))));
  }

  // ---- 3D U-Net -----------------------------------------------------------------

  private convUnit(prefix: string, x: T, cout: number): T {
    const y = this.conv3d(`${prefix}.conv`, x);
    const g = groupsFor(cout, this.config.groups3d);
    const n = tfGroupNorm(this.tf, y, this.p(`${prefix}.norm.gamma`), this.p(`${prefix}.norm.beta`), g, 1e-5);
    return this.dropout(this.tf.relu(n), this.config.dropout3d);
  }

  private unet3d(x: T): { out: T; deep: T[] } {
    const c = this.config;
    const width = (l: number) => c.baseChannels3d * 2 ** l;
    const skips: T[] = [];
    const sizes: Array<[number, number, number]> = [];
    let h = x;
    for (let l = 0; l < c.levels3d; l++) {
      if (l > 0) h = this.tf.maxPool3d(h as TF.Tensor5D, 2, 2, 'valid');
      sizes.push([h.shape[1]!, h.shape[2]!, h.shape[3]!]);
      h = this.convUnit(`unet3d.enc${l}b`, this.convUnit(`unet3d.enc${l}a`, h, width(l)), width(l));
      skips.push(h);
    }
    const byLevel = new Map<number, T>();
    for (let l = c.levels3d - 2; l >= 0; l--) {
      const up = tfTrilinear(this.tf, h, sizes[l]!);
      h = this.convUnit(`unet3d.dec${l}b`, this.convUnit(`unet3d.dec${l}a`, this.concat([up, skips[l]!]), width(l)), width(l));
      byLevel.set(l, h);
    }
    const deep: T[] = [];
    const deepLevels = Math.max(0, c.supervisionWeights.length - 1);
    for (let l = 1; l <= deepLevels && l <= c.levels3d - 2; l++) deep.push(tfTrilinear(this.tf, this.conv3d(`unet3d.deep${l}`, byLevel.get(l)!), sizes[0]!));
    return { out: this.conv3d('unet3d.head', h), deep };
  }

  // ---- the network, its loss, one training step -----------------------------------

  /**
   * x: [N, D, H, W, 1] -> logits [N, D, H, W, classes] and the deep-supervision
   * logits. With imageTo3d the 3D stage also gets the CT, as cacnet's does.
   */
  forward(x: T): { logits: T; deep: T[] } {
    const [n, d, h, w] = x.shape as [number, number, number, number, number];
    const f = this.udensenet(this.tf.reshape(x, [n * d, h, w, 1]));
    const volume = this.tf.reshape(f, [n, d, h, w, f.shape[3]!]);
    const out = this.unet3d(this.config.imageTo3d ? this.concat([volume, x]) : volume);
    return { logits: out.out, deep: out.deep };
  }

  /** Eq. 4: Σ_t w_t Dice-loss_t + λ Σ‖W‖². */
  loss(x: T, labels: T): T {
    const tf = this.tf;
    const c = this.config;
    const out = this.forward(x);
    const logits = [out.logits, ...out.deep];
    let total = tf.scalar(0);
    logits.forEach((l, t) => {
      total = tf.add(total, tf.mul(tfSoftmaxDice(tf, l, labels, c.classes, c.diceSmooth), c.supervisionWeights[t]!));
    });
    if (c.l2 > 0) {
      let sq = tf.scalar(0);
      for (const v of this.params.values()) sq = tf.add(sq, tf.sum(tf.square(v)));
      total = tf.add(total, tf.mul(sq, c.l2));
    }
    return total;
  }

  /** Folds this step's batch statistics into the running averages (unbiased variance, as cacnet and PyTorch). */
  updateRunningStats(): void {
    const tf = this.tf;
    const m = this.momentum;
    tf.tidy(() => {
      for (const s of this.pendingStats) {
        const rm = this.s(`${s.name}.running_mean`);
        const rv = this.s(`${s.name}.running_var`);
        rm.assign(tf.add(tf.mul(rm, 1 - m), tf.mul(s.mean, m)));
        rv.assign(tf.add(tf.mul(rv, 1 - m), tf.mul(s.variance, (m * s.count) / Math.max(1, s.count - 1))));
      }
    });
    for (const s of this.pendingStats) tf.dispose([s.mean, s.variance]);
    this.pendingStats = [];
  }

  /** One training step: forward, backward, Adam, running averages; resolves to the loss (read back). */
  async trainStep(optimizer: TF.Optimizer, x: Float32Array, labels: Int32Array, patch: readonly number[]): Promise<number> {
    const tf = this.tf;
    this.training = true;
    const tx = tf.tensor(x, [1, ...patch, 1]);
    const ty = tf.tensor(labels, [1, ...patch], 'int32');
    const cost = optimizer.minimize(() => this.loss(tx, ty) as TF.Scalar, true, [...this.params.values()]);
    this.updateRunningStats();
    const v = (await cost!.data())[0]!;
    tf.dispose([cost!, tx, ty]);
    return v;
  }

  /** Inference (eval mode); resolves to the logits read back. */
  async infer(x: Float32Array, patch: readonly number[]): Promise<Float32Array> {
    const tf = this.tf;
    this.training = false;
    const logits = tf.tidy(() => this.forward(tf.tensor(x, [1, ...patch, 1])).logits);
    const out = (await logits.data()) as Float32Array;
    logits.dispose();
    return out;
  }

  dispose(): void {
    this.tf.dispose([...this.params.values(), ...this.state.values()]);
  }
}
