import { describe, expect, it } from 'vitest';
import type { LabelMap, Volume } from '../src/io/volume.js';
import type { ArteryPrior } from '../src/net/artery-prior.js';
import { applyInferenceMetadata, inferenceMetadata, POSITION_GATE_KEY, type InferenceSettings } from '../src/net/inference-metadata.js';
import { BONE_REGION_MM3, keepLesions, labelledLesions, setAside, worldMm } from '../src/net/lesion-filter.js';

const IDENTITY = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

/** One row of voxels, 1 mm apart from x = 0: HU and labels. */
function row(hu: number[], lab: number[], affine = IDENTITY): { ct: Volume; labels: LabelMap } {
  const dims: [number, number, number] = [hu.length, 1, 1];
  return {
    ct: { data: Float32Array.from(hu), dims, spacing: [1, 1, 1], affine, source: 'row' },
    labels: { data: Uint8Array.from(lab), dims, spacing: [1, 1, 1], affine },
  };
}

/** Arteries at x = 0, 10 and 40 mm (y = z = 0), SDs 2 mm along x and 1 mm across: Mahalanobis distance along x is |dx| / 2. */
const PRIOR: ArteryPrior = {
  mean: [[0, 0, 0], [10, 0, 0], [40, 0, 0]],
  covariance: [0, 1, 2].map(() => [[4, 0, 0], [0, 1, 0], [0, 0, 1]]),
  share: [0.4, 0.3, 0.3],
  voxels: [40, 30, 30],
};

describe('lesion checks', () => {
  it('drops whole lesions whose peak is under the floor and keeps the rest untouched', () => {
    // A speck peaking at 150 (x 1-2, LAD), a plaque peaking at 400 (x 5-7, RCA), a 145 HU tail of it at x 8.
    const { ct, labels } = row([40, 140, 150, 40, 40, 300, 400, 200, 145, 40], [0, 1, 1, 0, 0, 3, 3, 3, 3, 0]);
    const lesions = labelledLesions(labels, ct);
    expect(lesions.map((l) => [[...l.voxels], l.peakHU])).toEqual([[[1, 2], 150], [[5, 6, 7, 8], 400]]);
    expect(lesions.every((l) => Number.isNaN(l.priorDistance))).toBe(true);
    const at = (floorHU: number) => [...keepLesions(labels, lesions, { floorHU, positionGate: Infinity }).data];
    expect(at(180)).toEqual([0, 0, 0, 0, 0, 3, 3, 3, 3, 0]);
    expect(at(150)).toEqual([...labels.data]);
    expect(at(401).every((l) => l === 0)).toBe(true);
    expect(setAside(lesions, { floorHU: 180, positionGate: Infinity })).toEqual({ belowFloor: 1, partOfBone: 0, farFromArteries: 0 });
    // Without a prior there is no distance, and any gate lets a lesion through.
    expect(keepLesions(labels, lesions, { floorHU: 130, positionGate: 1 })).toBe(labels);
    expect([...labels.data]).toEqual([0, 1, 1, 0, 0, 3, 3, 3, 3, 0]);
  });

  it('measures a lesion\'s centre from the nearest artery in prior SDs, in the frame\'s origin', () => {
    // Lesions centred at x = 3 (voxels 2-4), x = 25.5 (25-26) and x = 60 (60): nearest arteries at 0 (1.5 SD), 10 or 40 (7.25 SD), 40 (10 SD).
    const hu = new Array<number>(64).fill(40);
    const lab = new Array<number>(64).fill(0);
    for (const x of [2, 3, 4, 25, 26, 60]) [hu[x], lab[x]] = [300, 1];
    // The frame's origin is 5 mm along x from the grid's first voxel, which lies at x = 5 mm in the world: positions in the frame equal the index.
    const shifted = [1, 0, 0, 5, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    const { ct, labels } = row(hu, lab, shifted);
    expect(worldMm(3, ct.dims, shifted)).toEqual([8, 0, 0]);
    const lesions = labelledLesions(labels, ct, { prior: PRIOR, originMm: [5, 0, 0] });
    expect(lesions.map((l) => l.priorDistance)).toEqual([1.5, 7.25, 10]);
    const kept = (gate: number) => labelledLesions(keepLesions(labels, lesions, { floorHU: 130, positionGate: gate }), ct).map((l) => l.voxels[0]);
    expect(kept(Infinity)).toEqual([2, 25, 60]);
    expect(kept(8)).toEqual([2, 25]);
    expect(kept(7.25)).toEqual([2, 25]);
    expect(kept(4)).toEqual([2]);
    // Counted by the first check failed: the far one below the floor counts there.
    expect(setAside(lesions, { floorHU: 130, positionGate: 4 })).toEqual({ belowFloor: 0, partOfBone: 0, farFromArteries: 2 });
    expect(setAside(lesions, { floorHU: 300.5, positionGate: 4 })).toEqual({ belowFloor: 3, partOfBone: 0, farFromArteries: 0 });
  });

  it('sets aside a lesion that is part of a bone-sized region >= 130 HU, and keeps a plaque beside it', () => {
    // 1 x 1 x 2 mm voxels (2 mm³). Bone: a block of 40 x 25 x 10 voxels = 20,000 mm³ >= 130 HU, the network's label on
    // 3 voxels of its edge. A smaller block (20 x 20 x 10 = 8,000 mm³, under BONE_REGION_MM3) with a label, and a 2-voxel plaque
    // one voxel of 40 HU away from the bone.
    const dims: [number, number, number] = [64, 32, 12];
    const [nx, ny] = dims;
    const at = (i: number, j: number, k: number) => i + nx * (j + ny * k);
    const hu = new Float32Array(64 * 32 * 12).fill(40);
    const lab = new Uint8Array(hu.length);
    const block = (i0: number, j0: number, w: number, h: number, value: number) => {
      for (let k = 1; k <= 10; k++) for (let j = j0; j < j0 + h; j++) for (let i = i0; i < i0 + w; i++) hu[at(i, j, k)] = value;
    };
    block(0, 0, 40, 25, 400);
    block(42, 0, 20, 20, 300);
    for (const i of [37, 38, 39]) lab[at(i, 24, 5)] = 3; // on the bone's edge
    lab[at(50, 10, 5)] = 1;
    for (const j of [27, 28]) [hu[at(10, j, 5)], lab[at(10, j, 5)]] = [500, 2]; // j = 25, 26 are 40 HU: apart from the bone
    const affine = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1];
    const ct: Volume = { data: hu, dims, spacing: [1, 1, 2], affine, source: 'bone' };
    const labels: LabelMap = { data: lab, dims, spacing: [1, 1, 2], affine };
    expect(40 * 25 * 10 * 2).toBeGreaterThanOrEqual(BONE_REGION_MM3);
    expect(20 * 20 * 10 * 2).toBeLessThan(BONE_REGION_MM3);
    const lesions = labelledLesions(labels, ct);
    expect(lesions.map((l) => [l.voxels.length, l.partOfBone])).toEqual([[1, false], [3, true], [2, false]]);
    const checks = { floorHU: 130, positionGate: Infinity };
    expect(setAside(lesions, checks)).toEqual({ belowFloor: 0, partOfBone: 1, farFromArteries: 0 });
    const kept = keepLesions(labels, lesions, checks).data;
    expect([kept[at(38, 24, 5)], kept[at(10, 27, 5)], kept[at(50, 10, 5)]]).toEqual([0, 2, 1]);
    // The floor is counted first: a bone lesion under it counts as below the floor.
    expect(setAside(lesions, { ...checks, floorHU: 450 })).toEqual({ belowFloor: 2, partOfBone: 0, farFromArteries: 0 });
  });

  it('travels in the weights file\'s metadata: stored when finite, refused when not a sane number of SDs or without a prior', () => {
    const settings: InferenceSettings = { arteryPrior: PRIOR, calciumProbability: [0.9, 0.8, 0.7], noiseMargin: 1, positionGate: 4.5 };
    const meta = inferenceMetadata(settings);
    expect(meta[POSITION_GATE_KEY]).toBe('4.5');
    const back: InferenceSettings = { arteryPrior: null, calciumProbability: [], noiseMargin: 0, positionGate: Infinity };
    applyInferenceMetadata(back, meta, 'm');
    expect(back).toEqual(settings);
    expect(inferenceMetadata({ ...settings, positionGate: Infinity })[POSITION_GATE_KEY]).toBeUndefined();
    for (const bad of ['0.5', 'x', '21', 'Infinity']) {
      expect(() => applyInferenceMetadata(back, { ...meta, [POSITION_GATE_KEY]: bad }, 'm.safetensors')).toThrow(/m\.safetensors: position_gate .* from 1 to 20/);
    }
    const noPrior = inferenceMetadata({ ...settings, arteryPrior: null });
    expect(() => applyInferenceMetadata(back, noPrior, 'm.safetensors')).toThrow(/m\.safetensors: position_gate .* needs an artery prior/);
  });
});
