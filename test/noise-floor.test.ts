import { describe, expect, it } from 'vitest';
import { gaussian, mulberry32 } from '../src/base/random.js';
import type { Volume } from '../src/io/volume.js';
import { applyInferenceMetadata, inferenceMetadata, NOISE_MARGIN_KEY, type InferenceSettings } from '../src/net/inference-metadata.js';
import { estimateNoiseHU, noiseFloorHU } from '../src/net/noise-floor.js';

const IDENTITY = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

/** Soft tissue at 40 HU with noise, a fat band at -100 HU (x < 16) and a bright bone block; 0.5 mm pixels. */
function noisyScan(noise: Float64Array, dims: [number, number, number]): Volume {
  const [nx, ny] = dims;
  const data = new Float32Array(noise.length);
  for (let v = 0; v < data.length; v++) {
    const x = v % nx;
    const y = Math.floor(v / nx) % ny;
    const base = x < 16 ? -100 : y < 8 && x > 100 ? 700 : 40;
    data[v] = base + noise[v]!;
  }
  return { data, dims: [...dims], spacing: [0.5, 0.5, 3], affine: IDENTITY, source: 'noise' };
}

/** The SD of a sample, in float64: the reference the estimate is held to. */
function sampleSd(x: Float64Array): number {
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  return Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / (x.length - 1));
}

describe('the scan noise a lesion must rise above', () => {
  const dims: [number, number, number] = [128, 128, 6];
  const n = dims[0] * dims[1] * dims[2];

  it('measures white noise to within 5% despite fat, bone and edges', () => {
    const g = gaussian(mulberry32(11));
    const noise = Float64Array.from({ length: n }, () => 25 * g());
    expect(estimateNoiseHU(noisyScan(noise, dims)) / sampleSd(noise)).toBeCloseTo(1, 1);
    expect(Math.abs(estimateNoiseHU(noisyScan(noise, dims)) / sampleSd(noise) - 1)).toBeLessThan(0.05);
  });

  it('measures noise with a reconstruction kernel\'s grain (correlated over ~1.5 mm) in full, where neighbour differences would not', () => {
    const g = gaussian(mulberry32(12));
    const white = Float64Array.from({ length: n }, () => g());
    // A 3 x 3 in-plane box filter: correlated over 3 pixels (1.5 mm); scaled to about 30 HU.
    const [nx, ny] = dims;
    const noise = new Float64Array(n);
    for (let v = 0; v < n; v++) {
      const x = v % nx, y = Math.floor(v / nx) % ny;
      let s = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += white[((x + dx + nx) % nx) + nx * (((y + dy + ny) % ny) + ny * Math.floor(v / (nx * ny)))]!;
      noise[v] = 30 * (s / 3);
    }
    const ratio = estimateNoiseHU(noisyScan(noise, dims)) / sampleSd(noise);
    expect(Math.abs(ratio - 1)).toBeLessThan(0.05);
    // The same scan measured 1 pixel apart would read about 0.58 of it (1 - 3/9 correlation): the 3 mm distance matters.
    const close: Volume = { ...noisyScan(noise, dims), spacing: [3, 3, 3] };
    expect(estimateNoiseHU(close) / sampleSd(noise)).toBeLessThan(0.7);
  });

  it('reads only the region asked for, and says NaN when no soft tissue is there', () => {
    const g = gaussian(mulberry32(13));
    const noise = Float64Array.from({ length: n }, () => 20 * g());
    const ct = noisyScan(noise, dims);
    const fatOnly = Int32Array.from({ length: n }, (_, v) => (v % dims[0] < 16 ? 0 : -1));
    expect(estimateNoiseHU(ct, fatOnly)).toBeNaN();
    expect(noiseFloorHU(130, 2, Number.NaN)).toBe(130);
    expect(noiseFloorHU(130, 1.5, 20)).toBe(160);
  });

  it('travels in the weights file\'s metadata: stored when not 0, refused when not a sane number of SDs', () => {
    const settings: InferenceSettings = { arteryPrior: null, calciumProbability: [0.9, 0.8, 0.7], noiseMargin: 1.5, positionGate: Infinity };
    const meta = inferenceMetadata(settings);
    expect(meta[NOISE_MARGIN_KEY]).toBe('1.5');
    const back: InferenceSettings = { arteryPrior: null, calciumProbability: [], noiseMargin: 0, positionGate: Infinity };
    applyInferenceMetadata(back, meta, 'm');
    expect(back).toEqual(settings);
    expect(inferenceMetadata({ ...settings, noiseMargin: 0 })[NOISE_MARGIN_KEY]).toBeUndefined();
    for (const bad of ['-1', 'x', '11']) expect(() => applyInferenceMetadata(back, { ...meta, [NOISE_MARGIN_KEY]: bad }, 'm.safetensors')).toThrow(/m\.safetensors: noise_margin/);
  });
});
