import { describe, expect, it } from 'vitest';
import { generatePhantom } from '../src/phantom/phantom.js';
import type { Volume } from '../src/io/volume.js';
import { CacNet } from '../src/net/cacnet.js';
import { TINY_CONFIG, type NetConfig } from '../src/net/config.js';
import { segmentScan } from '../src/net/pipeline.js';
import { prepareScan } from '../src/net/train.js';
import { scoreScan } from '../src/scoring/score.js';
import { matchScores } from '../src/scoring/evaluate.js';
import { gpu } from './helpers/gpu.js';
import { labelledLesions, worldMm } from '../src/net/lesion-filter.js';

/** A tiny network on a coarse working grid (4 x 4 x 5 mm cells, 64 mm around the heart), so the test runs in seconds. */
const CONFIG: NetConfig = { ...TINY_CONFIG, inputChannels: 2, imageTo3d: true, workingGrid: { spacingMm: [4, 4, 5], planeCells: 16, maxDepthMm: 60, multiple: 4 }, seed: 11 };

describe('inference on the working grid', () => {
  const phantom = generatePhantom({ seed: 21, riskTarget: 3 });
  const ct: Volume = phantom.ct;

  it('returns labels on the input grid, only >= 130 HU, and the same labels when drawn again at its operating point', async () => {
    const rt = await gpu();
    const model = new CacNet(rt, CONFIG);
    // A fresh network starts at its background prior (P(calcium) about 0.03): a lower operating point makes it label plenty.
    model.calciumProbability = [0.001, 0.001, 0.001];
    const seg = await segmentScan(rt, model, ct);
    expect(seg.labels.dims).toEqual(ct.dims);
    expect(seg.labels.affine).toEqual(ct.affine);
    expect(seg.heart?.method).toBe('lungs');
    let labelled = 0;
    for (let v = 0; v < ct.data.length; v++) {
      if (seg.labels.data[v]! > 0) {
        labelled++;
        expect(ct.data[v]!).toBeGreaterThanOrEqual(130);
      }
    }
    expect(labelled).toBeGreaterThan(0);
    const again = seg.relabel(model.calciumProbability);
    expect(Buffer.from(again.data).equals(Buffer.from(seg.labels.data))).toBe(true);
    model.dispose();
  }, 300_000);

  it('calibration keeps only the box that can hold calcium, with the scores unchanged', async () => {
    const rt = await gpu();
    const model = new CacNet(rt, CONFIG);
    const seg = await segmentScan(rt, model, ct);
    const kept = seg.crop(phantom.labels, 0.02);
    expect(kept.ct.data.length).toBeLessThan(ct.data.length);
    for (const point of [0.02, 0.03, 0.5]) {
      const full = matchScores(scoreScan(ct, seg.relabel(point)), scoreScan(ct, phantom.labels));
      const crop = matchScores(scoreScan(kept.ct, kept.relabel(point)), scoreScan(kept.ct, kept.reference));
      expect(crop.counts).toEqual(full.counts);
      if (point === 0.02) expect(full.counts.tpPredicted + full.counts.fp).toBeGreaterThan(0);
      expect(crop.predicted.total.agatston).toBeCloseTo(full.predicted.total.agatston, 9);
      expect(crop.reference.total.agatston).toBeCloseTo(full.reference.total.agatston, 9);
    }
    model.dispose();
  });

  it('the position gate drops exactly the labelled lesions far from every artery, on a crop as on the whole scan', async () => {
    const rt = await gpu();
    // A phantom with more calcium: the untrained network labels four lesions 35-45 mm from the located heart.
    const p5 = generatePhantom({ seed: 5, riskTarget: 4 });
    const model = new CacNet(rt, CONFIG);
    model.calciumProbability = [0.001, 0.001, 0.001];
    // Every artery's calcium in a 15 mm (SD) ball about the heart's centre: the gate at 2.7 SDs keeps lesions centred within 40.5 mm of it.
    const ball = [[225, 0, 0], [0, 225, 0], [0, 0, 225]];
    model.arteryPrior = { mean: [[0, 0, 0], [0, 0, 0], [0, 0, 0]], covariance: [ball, ball, ball], share: [0.4, 0.3, 0.3], voxels: [4, 3, 3] };
    const seg = await segmentScan(rt, model, p5.ct, { positionGate: 2.7 });
    const frame = { prior: model.arteryPrior, originMm: seg.heart!.centreMm };
    const open = labelledLesions(seg.relabel(model.calciumProbability, { positionGate: Infinity }), p5.ct, frame);
    const far = open.filter((l) => l.priorDistance > 2.7);
    expect([open.length, far.length]).toEqual([4, 2]);
    expect(seg.setAside.farFromArteries).toBe(far.length);
    const gated = labelledLesions(seg.labels, p5.ct, frame);
    expect(gated.length).toBe(open.length - far.length);
    expect(gated.every((l) => l.priorDistance <= 2.7)).toBe(true);
    // The distance is the centre's, in mm from the located heart, over 15 mm.
    const c = [0, 0, 0];
    for (const v of gated[0]!.voxels) worldMm(v, p5.ct.dims, p5.ct.affine).forEach((x, r) => (c[r]! += x));
    expect(gated[0]!.priorDistance).toBeCloseTo(Math.hypot(...c.map((x, r) => x / gated[0]!.voxels.length - seg.heart!.centreMm[r]!)) / 15, 9);
    const kept = seg.crop(p5.labels, 0.001);
    const full = matchScores(scoreScan(p5.ct, seg.labels), scoreScan(p5.ct, p5.labels));
    const crop = matchScores(scoreScan(kept.ct, kept.relabel(model.calciumProbability)), scoreScan(kept.ct, kept.reference));
    expect(crop.counts).toEqual(full.counts);
    model.dispose();
  }, 300_000);

  it('prepares a training scan on the same working grid, labels binned with it', () => {
    const p = prepareScan({ id: 'p', ct, labels: phantom.labels }, CONFIG);
    expect(p.channels).toBe(2);
    expect(p.labels.dims).toEqual([16, 16, 16]);
    expect(p.x.length).toBe(2 * 16 * 16 * 16);
    // Every labelled native voxel lands in a labelled cell, so calcium survives the binning.
    const calcium = phantom.labels.data.reduce((n, l) => n + (l > 0 ? 1 : 0), 0);
    expect(calcium).toBeGreaterThan(0);
    expect(p.foreground.length).toBeGreaterThan(0);
    for (const c of p.foreground) expect(p.hu[c]!).toBeGreaterThanOrEqual(130);
  });
});
