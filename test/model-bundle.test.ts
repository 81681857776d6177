/**
 * The model bundle: one file is the whole model (configuration, weights,
 * artery prior, operating point), decoded once, versioned, and read the same
 * by the CLI, the browser and training.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CacNet } from '../src/net/cacnet.js';
import { DEMO_CONFIG, SCANNER_CONFIG, TINY_CONFIG } from '../src/net/config.js';
import { crc32 } from '../src/net/checksum.js';
import { BUNDLE_FORMAT, BUNDLE_FORMAT_KEY, CHECKSUM_KEY, encodeModel, encodeWithInferenceSettings, loadModel, readModelBundle } from '../src/net/model-bundle.js';
import { ARTERY_PRIOR_KEY } from '../src/net/artery-prior.js';
import { CALCIUM_PROBABILITY_KEY } from '../src/net/inference-metadata.js';
import { decodeSafetensors, encodeSafetensors } from '../src/net/safetensors.js';
import { REPO } from './helpers/cli.js';
import { gpu } from './helpers/gpu.js';

const SHIPPED = join(REPO, 'weights', 'cacnet-demo.safetensors');
/** The network for the small 64 x 64 x 16 phantoms, shipped before the scanner network. */
const SMALL = join(REPO, 'weights', 'cacnet-small.safetensors');

describe('model bundle', () => {
  it('reads the shipped file into a model that holds its tensors: the scanner network, calibrated', async () => {
    const rt = await gpu();
    const bytes = new Uint8Array(await readFile(SHIPPED));
    const bundle = readModelBundle(bytes, SHIPPED);
    // Format 4: the working grid and two input channels travel in the configuration.
    expect(bundle.format).toBe(4);
    expect(bundle.metadata[CHECKSUM_KEY]).toMatch(/^[0-9a-f]{8}$/);
    expect(bundle.config).toEqual({ ...SCANNER_CONFIG, seed: bundle.config.seed });
    expect(bundle.inference.calciumProbability).toEqual([0.95, 0.9, 0.6]);
    expect(bundle.inference.noiseMargin).toBe(2.5);
    expect(bundle.inference.positionGate).toBe(5.5);
    expect(bundle.inference.arteryPrior?.voxels.length).toBe(3);
    expect(bundle.metadata.step).toBe('200');
    const model = loadModel(rt, bytes, SHIPPED);
    expect(model.training).toBe(false);
    expect([model.calciumProbability, model.noiseMargin, model.positionGate]).toEqual([[0.95, 0.9, 0.6], 2.5, 5.5]);
    expect(model.arteryPrior).toEqual(bundle.inference.arteryPrior);
    for (const [name, t] of [...model.namedParameters(), ...model.namedState()]) {
      expect(await t.readF32(), name).toEqual(bundle.tensors.get(name)!.data);
    }
    model.dispose();
  });

  it('reads the small-grid network too (format 3, written before working grids)', () => {
    return readFile(SMALL).then((b) => {
      const bundle = readModelBundle(new Uint8Array(b), SMALL);
      expect(bundle.format).toBe(3);
      expect(bundle.config).toEqual({ ...DEMO_CONFIG, seed: bundle.config.seed });
      expect([bundle.inference.calciumProbability, bundle.inference.noiseMargin, bundle.metadata.step]).toEqual([[0.8, 0.7, 0.9], 0, '200']);
    });
  });

  it('still reads a file of format 1 (written before formats were recorded): the same model', async () => {
    const small = decodeSafetensors(new Uint8Array(await readFile(SMALL)), 'small');
    const { [BUNDLE_FORMAT_KEY]: _format, [CHECKSUM_KEY]: _crc, ...older } = small.metadata;
    const current = readModelBundle(new Uint8Array(await readFile(SMALL)), SMALL);
    const old = readModelBundle(encodeSafetensors(small.tensors, older), 'format-1.safetensors');
    expect(old.format).toBe(1);
    expect([old.config, old.inference, old.metadata.step]).toEqual([current.config, current.inference, current.metadata.step]);
    for (const [name, t] of current.tensors) expect(old.tensors.get(name)!.data, name).toEqual(t.data);
  });

  it('writes the current format and reads it back: same configuration, settings and weights', async () => {
    const rt = await gpu();
    const model = new CacNet(rt, TINY_CONFIG);
    model.calciumProbability = [0.6, 0.7, 0.8];
    const bytes = await encodeModel(model, { metadata: { step: '12' } });
    const bundle = readModelBundle(bytes, 'tiny.safetensors');
    expect(bundle.format).toBe(BUNDLE_FORMAT);
    expect(bundle.config).toEqual(TINY_CONFIG);
    expect(bundle.inference).toEqual({ arteryPrior: null, calciumProbability: [0.6, 0.7, 0.8], noiseMargin: 0, positionGate: Infinity });
    expect(bundle.metadata.step).toBe('12');
    const again = loadModel(rt, bytes, 'tiny.safetensors');
    const [a, b] = [model.namedParameters(), again.namedParameters()];
    for (let i = 0; i < a.length; i++) expect(await b[i]![1].readF32()).toEqual(await a[i]![1].readF32());
    model.dispose();
    again.dispose();
  });

  it('a fresh file is the current format with its CRC-32, and a flipped bit anywhere is refused', async () => {
    const rt = await gpu();
    const model = new CacNet(rt, TINY_CONFIG);
    const bytes = await encodeModel(model);
    model.dispose();
    const bundle = readModelBundle(bytes, 'fresh');
    expect(bundle.format).toBe(BUNDLE_FORMAT);
    expect(bundle.metadata[CHECKSUM_KEY]).toMatch(/^[0-9a-f]{8}$/);
    for (const at of [9, 100, bytes.length >> 1, bytes.length - 1]) {
      const copy = bytes.slice();
      copy[at]! ^= 0x04;
      expect(() => readModelBundle(copy, 'flipped'), `byte ${at}`).toThrow(/^flipped: /);
    }
  });

  it('CRC-32 matches the standard check values', () => {
    expect(crc32(new TextEncoder().encode('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('refuses a format it does not know, in one line naming the file', async () => {
    const rt = await gpu();
    const model = new CacNet(rt, TINY_CONFIG);
    const { tensors, metadata } = decodeSafetensors(await encodeModel(model), 'tiny');
    model.dispose();
    for (const format of [String(BUNDLE_FORMAT + 1), '0', '1.5', 'two']) {
      const bytes = encodeSafetensors(tensors, { ...metadata, [BUNDLE_FORMAT_KEY]: format });
      expect(() => readModelBundle(bytes, 'future.safetensors')).toThrow(
        new RegExp(`^future\\.safetensors: model format '${format}' is not one this cacnet reads \\(1 to ${BUNDLE_FORMAT}\\); a newer cacnet wrote it, or the file is corrupt$`),
      );
    }
  });

  it('calibration rewrites the operating point and keeps the rest of the file', async () => {
    const bundle = readModelBundle(new Uint8Array(await readFile(SHIPPED)), SHIPPED);
    const bytes = encodeWithInferenceSettings(bundle, { ...bundle.inference, calciumProbability: [0.5, 0.5, 0.5] });
    const { tensors, metadata } = decodeSafetensors(bytes, 'rewritten');
    // The default point is stored as no key at all; the prior, the step and the configuration stay.
    expect(metadata[CALCIUM_PROBABILITY_KEY]).toBeUndefined();
    expect(metadata[ARTERY_PRIOR_KEY]).toBe(bundle.metadata[ARTERY_PRIOR_KEY]);
    expect(metadata.step).toBe('200');
    expect(metadata[BUNDLE_FORMAT_KEY]).toBe(String(BUNDLE_FORMAT));
    expect(JSON.parse(metadata.config!)).toEqual(bundle.config);
    expect([...tensors.keys()]).toEqual([...bundle.tensors.keys()]);
    const noPrior = decodeSafetensors(encodeWithInferenceSettings(bundle, { arteryPrior: null, calciumProbability: [0.8, 0.7, 0.9], noiseMargin: 0, positionGate: Infinity }), 'x').metadata;
    expect([noPrior[ARTERY_PRIOR_KEY], noPrior[CALCIUM_PROBABILITY_KEY]]).toEqual([undefined, '0.8,0.7,0.9']);
  });
});
