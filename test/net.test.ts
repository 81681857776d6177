import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tensor, tidy } from '../src/gpu/index.js';
import { NonFiniteLossError } from '../src/base/errors.js';
import { backward, noGrad } from '../src/autograd/tape.js';
import { concat } from '../src/autograd/ops.js';
import { CacNet } from '../src/net/cacnet.js';
import { DEMO_CONFIG, PAPER_CONFIG, TINY_CONFIG, VARIANTS, type NetConfig, type Variant } from '../src/net/config.js';
import { backgroundSpreadByComponent, balancedVoxelWeights, cacnetLoss, candidateMask, nonCandidateBias, presentClassWeights, restrictToCandidates, weightedCrossEntropy } from '../src/net/loss.js';
import { gradCheck } from '../src/autograd/gradcheck.js';
import { learningRate, makeOptimizer, train, type Scan } from '../src/net/train.js';
import { windowStarts } from '../src/net/infer.js';
import { fitArteryPrior } from '../src/net/artery-prior.js';
import { loadModelFile } from '../src/cli/model-io.js';
import { readCheckpoint } from '../src/net/checkpoint.js';
import { buildModel } from '../src/net/model-bundle.js';
import { generatePhantom } from '../src/phantom/phantom.js';
import { mulberry32 } from '../src/base/random.js';
import { gpu, randomArray } from './helpers/gpu.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A toy labelled patch: bright blobs of classes 1..3 on a noisy background. */
function toyBatch(shape: [number, number, number], seed: number): { x: Float32Array; y: Uint32Array } {
  const [d, h, w] = shape;
  const r = mulberry32(seed);
  const x = new Float32Array(d * h * w).map(() => 0.2 + 0.1 * r());
  const y = new Uint32Array(d * h * w);
  for (let c = 1; c <= 3; c++) {
    const cz = Math.floor(r() * d), cy = Math.floor(r() * h), cx = Math.floor(r() * w);
    for (let k = 0; k < d; k++) for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) {
      if (Math.abs(k - cz) <= 0 && Math.abs(j - cy) <= 1 && Math.abs(i - cx) <= 1) {
        const v = (k * h + j) * w + i;
        x[v] = 0.5 + 0.15 * c;
        y[v] = c;
      }
    }
  }
  return { x, y };
}

function lossOf(model: CacNet, rt: Awaited<ReturnType<typeof gpu>>, b: { x: Float32Array; y: Uint32Array }, shape: number[]): Promise<number> {
  const l = noGrad(() => tidy(() => cacnetLoss(model.forward(Tensor.from(rt, b.x, [1, ...shape, 1])), Tensor.from(rt, b.y, [1, ...shape], 'u32'), model.config).loss));
  return l.item().finally(() => l.dispose());
}

describe('CAC-Net', () => {
  it('gradients of a tiny CAC-Net match finite differences through every module', async () => {
    const rt = await gpu();
    const model = new CacNet(rt, { ...TINY_CONFIG, seed: 3 });
    const shape: [number, number, number] = [2, 8, 8];
    const b = toyBatch(shape, 5);
    tidy(() => {
      const out = model.forward(Tensor.from(rt, b.x, [1, ...shape, 1]));
      backward(cacnetLoss(out, Tensor.from(rt, b.y, [1, ...shape], 'u32'), model.config).loss);
    });
    const named = model.namedParameters();
    // One parameter tensor from each kind of module on the path.
    const picks = ['udensenet.input3x3.weight', 'udensenet.down0.layer0.conv1.weight', 'udensenet.down0.layer0.bn2.gamma', 'udensenet.td1.conv.weight', 'udensenet.skip0.weight', 'udensenet.up0.layer0.conv3.weight', 'unet3d.enc0a.conv.weight', 'unet3d.enc1b.norm.gamma', 'unet3d.dec0a.conv.weight', 'unet3d.head.weight'];
    const r = mulberry32(11);
    let checked = 0;
    const failures: string[] = [];
    for (const name of picks) {
      const p = named.find(([n]) => n === name)?.[1];
      expect(p, `parameter ${name} exists`).toBeDefined();
      const grad = await p!.grad!.readF32();
      const data = await p!.readF32();
      // Probe the two entries with the largest gradient (and one random) for a clear signal.
      const order = [...grad.keys()].sort((i, j) => Math.abs(grad[j]!) - Math.abs(grad[i]!));
      for (const idx of [order[0]!, order[1] ?? order[0]!, Math.floor(r() * grad.length)]) {
        const eps = 1e-2 * Math.max(0.1, Math.abs(data[idx]!));
        const probe = async (delta: number) => {
          const copy = Float32Array.from(data);
          copy[idx] = data[idx]! + delta;
          rt.write(p!.buffer, copy);
          return lossOf(model, rt, b, shape);
        };
        const numeric = ((await probe(eps)) - (await probe(-eps))) / (2 * eps);
        rt.write(p!.buffer, data);
        const analytic = grad[idx]!;
        checked++;
        if (Math.abs(numeric - analytic) > 2e-3 + 5e-2 * Math.max(Math.abs(numeric), Math.abs(analytic))) failures.push(`${name}[${idx}]: analytic ${analytic}, numeric ${numeric}`);
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
    expect(checked).toBe(picks.length * 3);
    model.dispose();
  });

  it('one training step lowers the loss', async () => {
    const rt = await gpu();
    const model = new CacNet(rt, { ...TINY_CONFIG, seed: 4 });
    const shape: [number, number, number] = [2, 8, 8];
    const b = toyBatch(shape, 6);
    const before = await lossOf(model, rt, b, shape);
    const opt = makeOptimizer(model, 1e-2);
    tidy(() => backward(cacnetLoss(model.forward(Tensor.from(rt, b.x, [1, ...shape, 1])), Tensor.from(rt, b.y, [1, ...shape], 'u32'), model.config).loss));
    opt.step();
    opt.zeroGrad();
    const after = await lossOf(model, rt, b, shape);
    expect(after).toBeLessThan(before);
    opt.dispose();
    model.dispose();
  });

  it('every ablation variant of Table 4 builds and produces per-voxel logits', async () => {
    const rt = await gpu();
    for (const variant of Object.keys(VARIANTS) as Variant[]) {
      const model = new CacNet(rt, { ...TINY_CONFIG, variant });
      const y = noGrad(() => tidy(() => model.forward(Tensor.from(rt, randomArray(2 * 8 * 8, 1, 0, 1), [1, 2, 8, 8, 1])).logits));
      expect([...y.shape], variant).toEqual([1, 2, 8, 8, 4]);
      const v = await y.readF32();
      expect(v.every(Number.isFinite), variant).toBe(true);
      y.dispose();
      model.dispose();
    }
  });

  it('imageTo3d feeds the CT itself to the 3D stage: one more input channel, and its gradient reaches that weight slice', async () => {
    const rt = await gpu();
    const plain = new CacNet(rt, { ...TINY_CONFIG, seed: 2 });
    const model = new CacNet(rt, { ...TINY_CONFIG, seed: 2, imageTo3d: true });
    const w = (m: CacNet) => m.namedParameters().find(([n]) => n === 'unet3d.enc0a.conv.weight')![1];
    const cin = (m: CacNet) => w(m).shape[w(m).rank - 2]!;
    expect(cin(model)).toBe(cin(plain) + 1);
    const shape: [number, number, number] = [2, 8, 8];
    const b = toyBatch(shape, 3);
    tidy(() => backward(cacnetLoss(model.forward(Tensor.from(rt, b.x, [1, ...shape, 1])), Tensor.from(rt, b.y, [1, ...shape], 'u32'), model.config).loss));
    // Weights are [kd, kh, kw, cin, cout]: the last input channel is the CT.
    const g = await w(model).grad!.readF32();
    const cout = w(model).shape[w(model).rank - 1]!;
    let imageGrad = 0;
    for (let i = 0; i < g.length; i++) if (Math.floor(i / cout) % cin(model) === cin(model) - 1) imageGrad += Math.abs(g[i]!);
    expect(imageGrad).toBeGreaterThan(0);
    for (const p of model.parameters()) p.grad?.dispose();
    plain.dispose();
    model.dispose();
  });

  it('rejects a patch the poolings cannot divide, with the sizes it needs', async () => {
    const rt = await gpu();
    const model = new CacNet(rt, DEMO_CONFIG);
    const x = Tensor.from(rt, randomArray(5 * 12 * 12, 1), [1, 5, 12, 12, 1]);
    expect(() => model.forward(x)).toThrow(/patch 5x12x12 must have depth divisible by 8 and height\/width by 8/);
    x.dispose();
    model.dispose();
  });

  it('the paper configuration runs a forward and backward step on a small patch', { timeout: 300_000 }, async () => {
    const rt = await gpu();
    const model = new CacNet(rt, PAPER_CONFIG);
    const shape: [number, number, number] = [16, 16, 16];
    const b = toyBatch(shape, 7);
    const live0 = rt.memory().liveBytes;
    const loss = tidy(() => {
      const r = cacnetLoss(model.forward(Tensor.from(rt, b.x, [1, ...shape, 1])), Tensor.from(rt, b.y, [1, ...shape], 'u32'), model.config);
      backward(r.loss);
      return r.loss;
    });
    const v = await loss.item();
    expect(Number.isFinite(v)).toBe(true);
    const withGrad = model.parameters().filter((p) => p.grad).length;
    expect(withGrad).toBe(model.parameters().length);
    console.log(`paper configuration: ${model.parameterCount()} parameters`);
    loss.dispose();
    for (const p of model.parameters()) p.grad?.dispose();
    expect(rt.memory().liveBytes).toBe(live0);
    model.dispose();
  });
});

describe('training loss', () => {
  it('the class-balanced cross-entropy matches float64 and finite differences', async () => {
    const rt = await gpu();
    const logits = randomArray(5 * 4, 21, -2, 2);
    const labels = Uint32Array.from([0, 2, 0, 0, 3]);
    const w = balancedVoxelWeights(labels, 4);
    // Half the weight on the two calcium voxels, half on the three background ones.
    expect(w[1 * 4 + 2]).toBeCloseTo(0.25);
    expect(w[0]).toBeCloseTo(1 / 6);
    let want = 0;
    for (let v = 0; v < 5; v++) {
      const row = Array.from(logits.slice(v * 4, v * 4 + 4));
      const lse = Math.log(row.reduce((s, z) => s + Math.exp(z), 0));
      want -= w[v * 4 + labels[v]!]! * (row[labels[v]!]! - lse);
    }
    const got = tidy(() => weightedCrossEntropy(Tensor.from(rt, logits, [5, 4]), Tensor.from(rt, w, [5, 4])));
    expect([...got.shape]).toEqual([1]);
    expect(await got.item()).toBeCloseTo(want, 5);
    got.dispose();
    const res = await gradCheck(rt, ([z]) => weightedCrossEntropy(z!, Tensor.from(rt, w, [5, 4])), [{ data: logits, shape: [5, 4] }]);
    expect(res.ok, JSON.stringify(res.failures)).toBe(true);
  });

  it('with candidates, background below the HU threshold carries no cross-entropy weight', () => {
    const labels = Uint32Array.from([0, 1, 0, 0, 0]);
    const candidates = candidateMask(Float32Array.from([-50, 300, 129.5, 700, 130]), 130);
    expect([...candidates]).toEqual([0, 1, 0, 1, 1]);
    const w = balancedVoxelWeights(labels, 4, candidates);
    // Calcium keeps half the weight; the two bright background voxels share the other half.
    expect(w[1 * 4 + 1]).toBeCloseTo(0.5);
    expect([w[0], w[2 * 4], w[3 * 4], w[4 * 4]]).toEqual([0, 0, 0.25, 0.25]);
  });

  it('background weight per component: an isolated bright voxel weighs as much as a whole bone', () => {
    // Two patches of [d, h, w] = [1, 2, 4], x fastest. Patch 0: a 3-voxel "bone"
    // (0, 1, 2 in row 0) and an isolated voxel (7); its calcium voxel (4) is not
    // background. Patch 1: a 2-voxel component (8, 12: one column, two rows).
    const labels = Uint32Array.from([0, 0, 0, 0, 2, 0, 0, 0, /**/ 0, 0, 0, 0, 0, 0, 0, 0]);
    const candidates = Uint8Array.from([1, 1, 1, 0, 1, 0, 0, 1, /**/ 1, 0, 0, 0, 1, 0, 0, 0]);
    const all = backgroundSpreadByComponent(labels, candidates, [1, 2, 4], 1);
    // Three components (patch boundaries separate them), each 1/3, split among its voxels.
    expect(Array.from(all, (v) => +v.toFixed(6))).toEqual(
      [1 / 9, 1 / 9, 1 / 9, 0, 0, 0, 0, 1 / 3, 1 / 6, 0, 0, 0, 1 / 6, 0, 0, 0].map((v) => +v.toFixed(6)),
    );
    const half = backgroundSpreadByComponent(labels, candidates, [1, 2, 4], 0.5);
    // Half per voxel (6 background candidates), half per component.
    expect(half[0]).toBeCloseTo(0.5 / 6 + 0.5 / 9, 6);
    expect(half[7]).toBeCloseTo(0.5 / 6 + 0.5 / 3, 6);
    expect(half.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    // The background half of the cross-entropy follows the spread; calcium keeps its half.
    const w = balancedVoxelWeights(labels, 4, candidates, false, all);
    expect(w[4 * 4 + 2]).toBeCloseTo(0.5);
    expect(w[7 * 4]).toBeCloseTo(0.5 / 3);
    expect(w[0]).toBeCloseTo(0.5 / 9);
    expect(w[3 * 4]).toBe(0);
  });

  it('per-artery balance splits the calcium half equally between the arteries present', () => {
    const labels = Uint32Array.from([1, 1, 1, 3, 0, 0]);
    const w = balancedVoxelWeights(labels, 4, undefined, true);
    expect(w[0 * 4 + 1]).toBeCloseTo(0.25 / 3);
    expect(w[3 * 4 + 3]).toBeCloseTo(0.25);
    expect(w[4 * 4]).toBeCloseTo(0.25);
    const plain = balancedVoxelWeights(labels, 4);
    expect(plain[0 * 4 + 1]).toBeCloseTo(0.5 / 4);
    expect(plain[3 * 4 + 3]).toBeCloseTo(0.5 / 4);
  });

  it('candidate restriction makes non-candidates certain background and leaves candidates untouched', async () => {
    const rt = await gpu();
    const logits = randomArray(3 * 4, 5, -3, 3);
    const bias = nonCandidateBias(Uint8Array.from([1, 0, 1]), 4);
    const out = tidy(() => {
      const r = restrictToCandidates({ logits: Tensor.from(rt, logits, [3, 4]), deep: [Tensor.from(rt, logits, [3, 4])] }, Tensor.from(rt, bias, [3, 4]));
      return [r.logits, r.deep[0]!];
    });
    for (const t of out) {
      const v = await t.readF32();
      expect(Array.from(v.slice(0, 4))).toEqual(Array.from(logits.slice(0, 4)));
      expect(v[4]! - Math.max(v[5]!, v[6]!, v[7]!)).toBeGreaterThan(30);
      t.dispose();
    }
  });

  it('Dice terms add up over the heads with the supervision weights, cross-entropy is on the final output', async () => {
    const rt = await gpu();
    const model = new CacNet(rt, { ...TINY_CONFIG, levels3d: 3, supervisionWeights: [1, 0.5, 0.25], seed: 4 });
    const shape: [number, number, number] = [4, 8, 8];
    const b = toyBatch(shape, 8);
    const values = noGrad(() =>
      tidy(() => {
        const out = model.forward(Tensor.from(rt, b.x, [1, ...shape, 1]));
        const y = Tensor.from(rt, b.y, [1, ...shape], 'u32');
        const voxelWeights = Tensor.from(rt, balancedVoxelWeights(b.y, 4), [1, ...shape, 4]);
        const l = (dice: number, crossEntropy: number) => cacnetLoss(out, y, model.config, { weights: { dice, crossEntropy }, voxelWeights }).loss;
        const ce = [out.logits, ...out.deep].map((h) => weightedCrossEntropy(h, voxelWeights));
        return concat([l(1, 0), l(0, 1), l(0.5, 2), ...ce]);
      }),
    );
    const [dice, ce, mixed, ...ceHeads] = Array.from(await values.readF32());
    values.dispose();
    const s = model.config.supervisionWeights;
    expect(ce).toBeCloseTo(ceHeads[0]!, 5);
    expect(ceHeads.length).toBe(2); // a deep-supervision head besides the final output
    expect(mixed).toBeCloseTo(0.5 * dice! + 2 * ce!, 5);
    expect(dice).toBeGreaterThan(0);
    model.dispose();
  });

  it('the learning rate warms up linearly, then decays by a cosine to 10%', () => {
    const o = { steps: 200, lr: 0.01, warmupSteps: 10, patch: [16, 16, 16] as [number, number, number], batch: 1, foregroundProbability: 1, seed: 1 };
    expect(learningRate(o, 0)).toBeCloseTo(0.001 * (0.1 + 0.45 * (1 + Math.cos(0))), 9);
    expect(learningRate(o, 4)).toBeCloseTo(0.005 * (0.1 + 0.45 * (1 + Math.cos(Math.PI * 4 / 200))), 9);
    expect(learningRate(o, 100)).toBeCloseTo(0.01 * 0.55, 9);
    expect(learningRate(o, 200)).toBeCloseTo(0.001, 9);
  });

  it('absent arteries get the small Dice weight, present ones 1', () => {
    expect(presentClassWeights(Uint32Array.from([0, 2, 0]), 4, 0.1)).toEqual([0, 0.1, 1, 0.1]);
    expect(presentClassWeights(Uint32Array.from([0, 0]), 4, 0.1)).toEqual([0, 1, 1, 1]);
  });
});

describe('training', () => {
  const scans = (): Scan[] => [0, 1].map((i) => {
    const p = generatePhantom({ seed: 100 + i, preset: 'small', riskTarget: 4 });
    return { id: `t${i}`, ct: p.ct, labels: p.labels };
  });
  const config: NetConfig = { ...TINY_CONFIG, dropout2d: 0.2, dropout3d: 0.2, seed: 9 };
  const options = (dir: string) => ({ steps: 4, lr: 5e-3, patch: [2, 16, 16] as [number, number, number], batch: 1, foregroundProbability: 0.7, seed: 5, checkpointDir: dir, checkpointEvery: 2 });

  it('keeps live GPU memory flat across steps', async () => {
    const rt = await gpu();
    const model = new CacNet(rt, config);
    const live: number[] = [];
    await train(rt, model, scans(), [], { ...options(''), checkpointDir: undefined, steps: 6, onProgress: () => live.push(rt.memory().liveBytes) });
    expect(live.length).toBe(6);
    expect(new Set(live.slice(0)).size).toBe(1);
    model.dispose();
  });

  it('a run stopped after a checkpoint and resumed ends with the same weights as an uninterrupted run', async () => {
    const rt = await gpu();
    const d1 = await mkdtemp(join(tmpdir(), 'cacnet-run-'));
    const d2 = await mkdtemp(join(tmpdir(), 'cacnet-run-'));
    dirs.push(d1, d2);
    const a = new CacNet(rt, config);
    await train(rt, a, scans(), [], options(d1));
    const b = new CacNet(rt, config);
    await train(rt, b, scans(), [], { ...options(d2), stopAfter: 2 });
    b.dispose();
    const checkpoint = await readCheckpoint(d2);
    const c = buildModel(rt, checkpoint.model);
    const res = await train(rt, c, scans(), [], options(d2), checkpoint);
    expect(res.step).toBe(4);
    const wa = a.namedParameters();
    const wc = c.namedParameters();
    let maxDiff = 0;
    for (let i = 0; i < wa.length; i++) {
      const x = await wa[i]![1].readF32();
      const y = await wc[i]![1].readF32();
      for (let k = 0; k < x.length; k++) maxDiff = Math.max(maxDiff, Math.abs(x[k]! - y[k]!));
    }
    expect(maxDiff).toBe(0);
    // The spatial artery prior is fitted to the training labels and travels with the weights.
    const expected = fitArteryPrior(scans().map((s) => s.labels));
    expect(expected?.voxels).toEqual([19, 16, 72]);
    expect(a.arteryPrior).toEqual(expected);
    expect(c.arteryPrior).toEqual(expected);
    const loaded = await loadModelFile(rt, join(d2, 'model.safetensors'));
    expect(loaded.arteryPrior).toEqual(expected);
    loaded.dispose();
    a.dispose();
    c.dispose();
  });

  it('stops with a clear message on a non-finite loss', async () => {
    const rt = await gpu();
    const model = new CacNet(rt, config);
    const w = model.namedParameters().find(([n]) => n === 'unet3d.head.weight')![1];
    rt.write(w.buffer, new Float32Array(w.size).fill(Number.NaN));
    await expect(train(rt, model, scans(), [], { ...options(''), checkpointDir: undefined })).rejects.toThrow(NonFiniteLossError);
    model.dispose();
  });
});

describe('sliding windows', () => {
  it('cover every voxel with the requested overlap', () => {
    for (const [n, size, overlap] of [[64, 64, 0.25], [100, 32, 0.5], [70, 32, 0.25], [10, 16, 0.5]] as const) {
      const starts = windowStarts(n, size, overlap);
      const covered = new Array<number>(n).fill(0);
      for (const s of starts) for (let i = Math.max(0, s); i < Math.min(n, s + size); i++) covered[i]!++;
      expect(covered.every((c) => c > 0), `${n}/${size}`).toBe(true);
      if (n > size) expect(starts[starts.length - 1]).toBe(n - size);
    }
  });
});
