/**
 * `cacnet train --init`: fine-tuning starts from the given weights, and the
 * command's mistakes are one line on stderr. Runs the CLI in a child process.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CacNet } from '../src/net/cacnet.js';
import { TINY_CONFIG } from '../src/net/config.js';
import { decodeSafetensors, encodeSafetensors } from '../src/net/safetensors.js';
import { exportWeights } from '../src/net/weights.js';
import { runCli } from './helpers/cli.js';
import { gpu, randomArray } from './helpers/gpu.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** stderr without the Vulkan loader's and Dawn's own chatter. */
const ownLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() && !/vulkan|xdg|dawn|warning:/i.test(l));

describe('cacnet train --init', () => {
  it('fine-tunes from the file: after one step at a negligible rate the weights are still the file\'s', { timeout: 300_000 }, async () => {
    const rt = await gpu();
    const dir = await mkdtemp(join(tmpdir(), 'cacnet-init-'));
    dirs.push(dir);
    // Weights unlike any seed's initialisation, so a run that ignored --init would show.
    const model = new CacNet(rt, TINY_CONFIG);
    const names = model.namedParameters().map(([n]) => n);
    const { tensors, metadata } = decodeSafetensors(await exportWeights(model, { config: JSON.stringify(TINY_CONFIG) }), 'tiny');
    model.dispose();
    let seed = 1;
    for (const t of tensors.values()) t.data.set(randomArray(t.data.length, seed++, -0.3, 0.3));
    const init = join(dir, 'init.safetensors');
    await writeFile(init, encodeSafetensors(tensors, metadata));

    const out = join(dir, 'run');
    const r = await runCli(['train', '--init', init, '--steps', '1', '--lr', '1e-9', '--train-count', '2', '--val-count', '0', '--sample-arteries', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    // The default patch is the whole 64x64x16 phantom: centring it per artery cannot matter, and the user is told.
    expect(r.stderr).toMatch(/16,64,64 patch covers the whole scan, so where a patch is centred .* changes nothing/);
    const trained = decodeSafetensors(new Uint8Array(await readFile(join(out, 'model.safetensors'))), 'trained');
    expect(trained.metadata.step).toBe('1');
    expect(JSON.parse(trained.metadata.config!)).toEqual(TINY_CONFIG);
    let maxDiff = 0;
    for (const n of names) {
      const a = tensors.get(n)!.data;
      const b = trained.tensors.get(n)!.data;
      for (let k = 0; k < a.length; k++) maxDiff = Math.max(maxDiff, Math.abs(a[k]! - b[k]!));
    }
    expect(maxDiff).toBeLessThan(1e-6);
  });

  it('refuses --config beside --init, and a missing file, in one line each', { timeout: 120_000 }, async () => {
    const both = await runCli(['train', '--init', 'weights/cacnet-demo.safetensors', '--config', 'tiny']);
    expect(both.code).toBe(2); // a usage error
    expect(ownLines(both.stderr)).toEqual([expect.stringMatching(/--init takes the network from the weights file; drop --config and --variant/)]);
    const missing = await runCli(['train', '--init', 'no/such.safetensors']);
    expect(missing.code).toBe(1); // an input error
    expect(ownLines(missing.stderr)).toEqual([expect.stringMatching(/no\/such\.safetensors: weights file not found/)]);
  });
});
