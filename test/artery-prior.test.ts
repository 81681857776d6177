import { describe, expect, it } from 'vitest';
import { InputError } from '../src/base/errors.js';
import type { LabelMap, Volume } from '../src/io/volume.js';
import { CacNet } from '../src/net/cacnet.js';
import { TINY_CONFIG } from '../src/net/config.js';
import { labelsFromProbabilities } from '../src/net/infer.js';
import { applyInferenceMetadata, CALCIUM_PROBABILITY_KEY, inferenceMetadata } from '../src/net/inference-metadata.js';
import { gpu } from './helpers/gpu.js';
import { ARTERY_PRIOR_KEY, PRIOR_FLOOR_MM, applyArteryPrior, arteryLogPrior, fitArteryPrior, readArteryPrior, voxelPositionMm, type ArteryPrior } from '../src/net/artery-prior.js';

/** A 5 x 4 x 3 grid of 2 x 3 x 5 mm voxels with calcium placed by hand. */
function labelMap(points: Array<[number, number, number, number]>): LabelMap {
  const dims: [number, number, number] = [5, 4, 3];
  const data = new Uint8Array(5 * 4 * 3);
  for (const [i, j, k, a] of points) data[i + 5 * (j + 4 * k)] = a;
  return { data, dims, spacing: [2, 3, 5], affine: [2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 5, 0, 0, 0, 0, 1] };
}

describe('artery prior', () => {
  it('positions are patient millimetres from the scan centre, whatever the storage order', () => {
    // Centre of a 5 x 4 x 3 grid: voxel (2, 1.5, 1).
    const affine = [2, 0, 0, 10, 0, 3, 0, 20, 0, 0, 5, 30, 0, 0, 0, 1];
    expect(voxelPositionMm(0, 0, 0, [5, 4, 3], affine)).toEqual([-4, -4.5, -5]);
    expect(voxelPositionMm(4, 3, 2, [5, 4, 3], affine)).toEqual([4, 4.5, 5]);
    // The same scan stored with x reversed (and the origin moved) puts voxel 4 - i where i was.
    const flipped = [-2, 0, 0, 18, 0, 3, 0, 20, 0, 0, 5, 30, 0, 0, 0, 1];
    expect(voxelPositionMm(4, 0, 0, [5, 4, 3], flipped)).toEqual(voxelPositionMm(0, 0, 0, [5, 4, 3], affine));
    // Axes swapped: storage axis 0 runs along patient y.
    const swapped = [0, 2, 0, 0, 3, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 1];
    expect(voxelPositionMm(0, 0, 0, [4, 5, 3], swapped)).toEqual([-4, -4.5, -5]);
  });

  it('fits each artery a mean, a floored covariance and a share, by hand', () => {
    // LAD at x = -4 and -2 (same y, z); LCX four voxels in a 2 x 2 square in y-z; RCA two voxels along z.
    const lab = labelMap([
      [0, 0, 0, 1], [1, 0, 0, 1], [0, 0, 0, 1], [1, 0, 0, 1],
      [4, 2, 1, 2], [4, 3, 1, 2], [4, 2, 2, 2], [4, 3, 2, 2],
      [2, 1, 0, 3], [2, 1, 2, 3], [2, 1, 0, 3], [2, 1, 2, 3],
    ]);
    // The map holds each voxel once: LAD 2 voxels, LCX 4, RCA 2.
    const p = fitArteryPrior([lab, lab])!;
    expect(p.voxels).toEqual([4, 8, 4]);
    expect(p.share).toEqual([0.25, 0.5, 0.25]);
    expect(p.mean[0]).toEqual([-3, -4.5, -5]);
    expect(p.mean[1]).toEqual([4, 3, 2.5]);
    expect(p.mean[2]).toEqual([0, -1.5, 0]);
    const f = PRIOR_FLOOR_MM ** 2;
    // LAD: x = -4, -2 -> variance 1 (population); nothing in y or z.
    expect(p.covariance[0]).toEqual([[1 + f, 0, 0], [0, f, 0], [0, 0, f]]);
    // LCX: y = 1.5 or 4.5 (variance 2.25), z = 0 or 5 (variance 6.25), independent.
    expect(p.covariance[1]).toEqual([[f, 0, 0], [0, 2.25 + f, 0], [0, 0, 6.25 + f]]);
    // RCA: z = -5 or 5.
    expect(p.covariance[2]).toEqual([[f, 0, 0], [0, f, 0], [0, 0, 25 + f]]);
  });

  it('needs a few voxels of every artery', () => {
    expect(fitArteryPrior([labelMap([[0, 0, 0, 1], [1, 0, 0, 1], [2, 0, 0, 1], [3, 0, 0, 1], [4, 0, 0, 3]])])).toBeNull();
  });

  const prior: ArteryPrior = {
    mean: [[0, -40, 0], [20, 20, 0], [-30, 0, 0]],
    covariance: [0, 1, 2].map(() => [[100, 0, 0], [0, 100, 0], [0, 0, 100]]),
    share: [0.4, 0.2, 0.4],
    voxels: [40, 20, 40],
  };

  it('log prior: a Gaussian per artery plus its log share', () => {
    const lp = arteryLogPrior(prior)([20, 20, 0]);
    const logDet = Math.log(100 ** 3);
    expect(lp[1]).toBeCloseTo(-0.5 * logDet + Math.log(0.2), 10);
    // LAD: squared distance 400 + 3600 over variance 100.
    expect(lp[0]).toBeCloseTo(-0.5 * (40 + logDet) + Math.log(0.4), 10);
    expect(lp[2]).toBeCloseTo(-0.5 * (25 + 4 + logDet) + Math.log(0.4), 10);
  });

  it('re-divides only the calcium probability, by Bayes, and only where asked', () => {
    // Two voxels of a 1 x 2 x 1 grid with 10 mm spacing: positions (0, -5, 0) and (0, 5, 0).
    const probs = [Float32Array.of(0.2, 0.2), Float32Array.of(0.5, 0.5), Float32Array.of(0.2, 0.2), Float32Array.of(0.1, 0.1)];
    applyArteryPrior(probs, [1, 2, 1], [10, 0, 0, 0, 0, 10, 0, 0, 0, 0, 10, 0, 0, 0, 0, 1], prior, (v) => v === 1);
    // Voxel 0 untouched.
    expect([probs[0]![0], probs[1]![0], probs[2]![0], probs[3]![0]].map((x) => +x!.toFixed(6))).toEqual([0.2, 0.5, 0.2, 0.1]);
    // Voxel 1 at (0, 5, 0): q(a) ∝ P(a) N(pos; μa) share_a.
    const lp = arteryLogPrior(prior)([0, 5, 0]);
    const w = [0.5, 0.2, 0.1].map((p, a) => p * Math.exp(lp[a]!));
    const z = w.reduce((s, x) => s + x, 0);
    expect(probs[0]![1]).toBeCloseTo(0.2, 6);
    for (let a = 0; a < 3; a++) expect(probs[a + 1]![1]).toBeCloseTo((0.8 * w[a]!) / z, 6);
    // The network's favourite (LAD, 45 mm away) loses to the artery whose Gaussian is nearest (LCX, 25 mm).
    expect(probs[2]![1]!).toBeGreaterThan(Math.max(probs[1]![1]!, probs[3]![1]!));
  });

  it('reads a prior from weights metadata; none is null; malformed is a clear InputError', () => {
    expect(readArteryPrior({}, 'w.safetensors')).toBeNull();
    expect(readArteryPrior({ [ARTERY_PRIOR_KEY]: JSON.stringify(prior) }, 'w.safetensors')).toEqual(prior);
    expect(() => readArteryPrior({ [ARTERY_PRIOR_KEY]: '{' }, 'w.safetensors')).toThrow(InputError);
    const singular = { ...prior, covariance: [prior.covariance[0], [[1, 0, 0], [0, 0, 0], [0, 0, 1]], prior.covariance[2]] };
    expect(() => readArteryPrior({ [ARTERY_PRIOR_KEY]: JSON.stringify(singular) }, 'w.safetensors')).toThrow(/w.safetensors: the artery prior in the metadata is malformed/);
    expect(() => readArteryPrior({ [ARTERY_PRIOR_KEY]: JSON.stringify({ ...prior, share: [1, 0] }) }, 'w.safetensors')).toThrow(/malformed/);
  });
});

describe('from probabilities to labels', () => {
  const ct = (hu: number[]): Volume => ({ data: Float32Array.from(hu), dims: [hu.length, 1, 1], spacing: [1, 1, 1], affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], source: 'test' });

  it('a candidate is calcium when 1 - P(background) reaches the operating point; it takes its most probable artery', () => {
    // Voxels: below 130 HU but certain LAD; calcium 0.6 mostly LCX; calcium 0.9 mostly RCA; calcium 0.45 (LAD the top class).
    const probs = [
      Float32Array.of(0.0, 0.4, 0.1, 0.55),
      Float32Array.of(1.0, 0.1, 0.2, 0.44),
      Float32Array.of(0.0, 0.3, 0.3, 0.005),
      Float32Array.of(0.0, 0.2, 0.4, 0.005),
    ];
    const scan = ct([100, 200, 300, 400]);
    expect([...labelsFromProbabilities(probs, scan, 130, 0.5).data]).toEqual([0, 2, 3, 0]);
    expect([...labelsFromProbabilities(probs, scan, 130, 0.7).data]).toEqual([0, 0, 3, 0]);
    expect([...labelsFromProbabilities(probs, scan, 130, 0.4).data]).toEqual([0, 2, 3, 1]);
    // One threshold per artery: each voxel is held to its own artery's.
    expect([...labelsFromProbabilities(probs, scan, 130, [0.4, 0.55, 0.95]).data]).toEqual([0, 2, 0, 1]);
    // The HU threshold still rules: at 250 HU the second voxel is no candidate.
    expect([...labelsFromProbabilities(probs, scan, 250, 0.5).data]).toEqual([0, 0, 3, 0]);
  });

  it('the artery prior and the operating point travel in the weights metadata, checked on the way in', async () => {
    const rt = await gpu();
    const model = new CacNet(rt, TINY_CONFIG);
    expect(inferenceMetadata(model)).toEqual({});
    const prior: ArteryPrior = { mean: [[0, 0, 0], [1, 1, 1], [2, 2, 2]], covariance: [0, 1, 2].map(() => [[1, 0, 0], [0, 1, 0], [0, 0, 1]]), share: [0.5, 0.25, 0.25], voxels: [2, 1, 1] };
    model.arteryPrior = prior;
    model.calciumProbability = [0.85, 0.6, 0.85];
    const meta = inferenceMetadata(model);
    expect(meta[CALCIUM_PROBABILITY_KEY]).toBe('0.85,0.6,0.85');
    const other = new CacNet(rt, TINY_CONFIG);
    applyInferenceMetadata(other, meta, 'w.safetensors');
    expect(other.arteryPrior).toEqual(prior);
    expect(other.calciumProbability).toEqual([0.85, 0.6, 0.85]);
    // One number is every artery's (files calibrated before per-artery points).
    applyInferenceMetadata(other, { [CALCIUM_PROBABILITY_KEY]: '0.75' }, 'w.safetensors');
    expect(other.calciumProbability).toEqual([0.75, 0.75, 0.75]);
    model.calciumProbability = [0.75, 0.75, 0.75];
    expect(inferenceMetadata(model)[CALCIUM_PROBABILITY_KEY]).toBe('0.75');
    applyInferenceMetadata(other, {}, 'w.safetensors');
    expect([other.arteryPrior, other.calciumProbability]).toEqual([null, [0.5, 0.5, 0.5]]);
    for (const bad of ['1.5', '0.5,0.6', '0.5,x,0.5']) {
      expect(() => applyInferenceMetadata(other, { [CALCIUM_PROBABILITY_KEY]: bad }, 'w.safetensors')).toThrow(new RegExp(`w.safetensors: calcium_probability .* between 0 and 1, or one per artery .*got '${bad}'`));
    }
    model.dispose();
    other.dispose();
  });
});
