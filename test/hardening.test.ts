/**
 * Issue 18's cases, one by one: no wrong answer with exit 0, checkpoints that
 * survive, one line and a non-zero exit for every failure, no hang, and a web
 * server that answers only to its own name. Commands run in this process
 * (runInProcess) except where the test is about the process itself.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calibrate } from '../src/cli/calibrate.js';
import { infer } from '../src/cli/infer.js';
import { phantoms } from '../src/cli/phantoms.js';
import { score } from '../src/cli/score.js';
import { trainCommand } from '../src/cli/train.js';
import { writeFilesAtomic } from '../src/io/atomic-write.js';
import { decodeNifti, encodeLabelMapNifti, gzip } from '../src/io/nifti.js';
import { prepareOutputFolder } from '../src/io/output-folder.js';
import { CacNet } from '../src/net/cacnet.js';
import { TINY_CONFIG } from '../src/net/config.js';
import { CHECKPOINT_FILE, readCheckpoint, removeStaleTemporaries, saveCheckpoint } from '../src/net/checkpoint.js';
import { encodeModel } from '../src/net/model-bundle.js';
import { decodeSafetensors, encodeSafetensors } from '../src/net/safetensors.js';
import { makeOptimizer, train } from '../src/net/train.js';
import { segment } from '../src/net/infer.js';
import { NonFiniteLossError } from '../src/base/errors.js';
import { generatePhantom } from '../src/phantom/phantom.js';
import { startWebServer } from '../web/serve.js';
import { cliCommand, REPO } from './helpers/cli.js';
import { encodeCtSlice } from './helpers/dicom-writer.js';
import { gpu } from './helpers/gpu.js';
import { edited, expectOneLineFailure, NIFTI, runInProcess, writeFixture, type Fixture } from './helpers/hostile.js';

let root: string;
let fx: Fixture;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cacnet-hardening-'));
  fx = await writeFixture(join(root, 'fixture'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let files = 0;
async function file(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(root, `${files++}-${name}`);
  await writeFile(path, bytes);
  return path;
}

/** The CT with one header change, scored against the fixture's labels. */
async function scoreEdited(edit: (v: DataView, b: Uint8Array) => void) {
  return runInProcess(score, [await file('ct.nii', edited(fx.niiBytes, edit)), fx.labelsPath]);
}

describe('no wrong answer with exit 0: scans', () => {
  it('the fixture itself scores, with calcium', async () => {
    const r = await runInProcess(score, [fx.nii, fx.labelsPath]);
    expect(r.code, r.stderr.join('\n')).toBe(0);
    expect(fx.score.total.agatston).toBeGreaterThan(0);
    expect(r.stdout.join('\n')).toContain(fx.score.total.agatston.toFixed(1));
  });

  it('refuses voxel sizes no scanner makes (pixdim 1e30, 1e-30) and units in metres', async () => {
    for (const value of [1e30, 1e-30]) {
      expectOneLineFailure(await scoreEdited((v) => v.setFloat32(NIFTI.pixdim + 4, value, true)), /voxel size .* is not a CT's|transform has voxels of/);
    }
    // Every pixdim (and the sform) in metres: 1000 times the size, consistent but absurd.
    expectOneLineFailure(await scoreEdited((_, b) => (b[NIFTI.xyztUnits] = (b[NIFTI.xyztUnits]! & ~7) | 1)), /voxel size .* is not a CT's .*in metres \(xyzt_units\)/);
  });

  it('refuses a pixdim that disagrees with the sform', async () => {
    expectOneLineFailure(await scoreEdited((v) => v.setFloat32(NIFTI.pixdim + 4, v.getFloat32(NIFTI.pixdim + 4, true) * 1.5, true)), /transform has voxels of .* but the spacing says .*contradicts itself/);
  });

  it('refuses scl_inter 3e38 (HU no CT stores) and vox_offset inside the header', async () => {
    expectOneLineFailure(await scoreEdited((v) => v.setFloat32(NIFTI.sclInter, 3e38, true)), /values span .* outside what a CT stores .*scl_inter 3e\+38/);
    for (const offset of [0, 200, 348, 350]) {
      expectOneLineFailure(await scoreEdited((v) => v.setFloat32(NIFTI.voxOffset, offset, true)), /vox_offset .* is not a whole byte offset at or past/);
    }
  });

  it('refuses a gzip whose header claims 4 GiB, in words, before allocating', async () => {
    // 1024³ float32 voxels: at the voxel limit, 4 GiB of data in a file of a few kB.
    const huge = edited(fx.niiBytes, (v) => {
      for (const k of [1, 2, 3]) v.setInt16(NIFTI.dim + 2 * k, 1024, true);
      v.setInt16(NIFTI.datatype, 16, true);
      v.setInt16(NIFTI.bitpix, 32, true);
    });
    await expect(decodeNifti(await gzip(huge), 'huge.nii.gz')).rejects.toThrow(/huge\.nii\.gz: the header claims 4294967648 bytes of image, more than a gzip file of \d+ bytes can hold/);
  });

  it('refuses a DICOM series with Rows 0 in words (not a kernel error)', async () => {
    const dir = join(root, 'rows0');
    const slices = [0, 1, 2].map((k) => encodeCtSlice({ seriesUid: '1.2.3', instanceNumber: k, rows: 0, columns: 0, pixelSpacing: [0.5, 0.5], orientation: [1, 0, 0, 0, 1, 0], position: [0, 0, 3 * k], pixels: [], signed: true }));
    await prepareOutputFolder(dir);
    for (const [k, bytes] of slices.entries()) await writeFile(join(dir, `IM${k}`), bytes);
    expectOneLineFailure(await runInProcess(score, [dir, fx.labelsPath]), /rows0: image size 0×0×3 has an empty axis/);
  });

  it('score refuses a label map on another grid: spacing, origin, an x flip', async () => {
    const on = async (change: Partial<{ spacing: [number, number, number]; affine: number[] }>) =>
      runInProcess(score, [fx.nii, await file('labels.nii.gz', await gzip(encodeLabelMapNifti({ ...fx.labels, ...change })))]);
    const a = fx.labels.affine;
    const [sx, sy, sz] = fx.labels.spacing;
    expectOneLineFailure(await on({ spacing: [sx * 1.1, sy, sz], affine: [a[0]! * 1.1, ...a.slice(1)] }), /spacing .* does not match CT spacing/);
    expectOneLineFailure(await on({ affine: a.map((x, i) => (i === 3 ? x + 5 : x)) }), /lies on another grid than the CT: its origin is/);
    const flipped = a.map((x, i) => (i === 0 ? -x : x));
    expectOneLineFailure(await on({ affine: flipped }), /lies on another grid than the CT: voxel axis i points along/);
  });
});

describe('no wrong answer with exit 0: weights, checkpoints, training', () => {
  it('infer refuses weights holding NaN, before any GPU work', async () => {
    const shipped = decodeSafetensors(new Uint8Array(await readFile(join(REPO, 'weights', 'cacnet-demo.safetensors'))), 'shipped');
    const t = shipped.tensors.get('unet3d.head.weight')!;
    for (let i = 0; i < 30 && i < t.data.length; i++) t.data[i] = Number.NaN;
    // Without its checksum (as a format-1 file), so that the finite check is what refuses it.
    const { cacnet_crc32: _crc, cacnet_format: _format, ...older } = shipped.metadata;
    const weights = await file('nan.safetensors', encodeSafetensors(shipped.tensors, older));
    const t0 = performance.now();
    expectOneLineFailure(await runInProcess(infer, [fx.nii, '--weights', weights, '--out', join(root, 'nan-out')]), /nan\.safetensors: \d+ values are NaN or infinite, in 1 tensor \(first: 'unet3d\.head\.weight'\); the file is corrupt/);
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(await readdir(join(root, 'nan-out'))).toEqual([]);
  });

  it('a checkpoint holding NaN is refused on resume, a damaged one by its checksum', async () => {
    const rt = await gpu();
    const model = new CacNet(rt, TINY_CONFIG);
    const opt = makeOptimizer(model, 1e-3);
    const dir = join(root, 'nan-checkpoint');
    await prepareOutputFolder(dir);
    await saveCheckpoint(dir, model, opt, { step: 0, options: {}, history: [] });
    opt.dispose();
    const path = join(dir, CHECKPOINT_FILE);
    const good = new Uint8Array(await readFile(path));
    expect((await readCheckpoint(dir)).position.step).toBe(0);
    // NaN written through the encoder, so the checksum is right and the finite check must catch it.
    const w = model.namedParameters()[0]![1];
    rt.write(w.buffer, new Float32Array(w.size).fill(Number.NaN));
    const { tensors, metadata } = decodeSafetensors(good, 'good');
    const optimizerState = new Map([...tensors].filter(([n]) => n.startsWith('optimizer.')));
    await writeFile(path, await encodeModel(model, { metadata: { training_state: metadata.training_state! }, tensors: optimizerState }));
    await expect(readCheckpoint(dir)).rejects.toThrow(/checkpoint\.safetensors: \d+ values are NaN or infinite/);
    // One flipped bit anywhere in the data: refused by the CRC-32.
    await writeFile(path, edited(good, (_, b) => (b[b.length - 9]! ^= 0x10)));
    await expect(readCheckpoint(dir)).rejects.toThrow(/checksum mismatch .* the file is corrupt/);
    model.dispose();
  });

  it('training with --lr 1e30 stops at the step whose parameters or loss went bad, names it, and keeps no bad checkpoint', { timeout: 300_000 }, async () => {
    const rt = await gpu();
    const p = generatePhantom({ seed: 3, preset: 'small', riskTarget: 3, dims: [32, 32, 8] });
    const model = new CacNet(rt, { ...TINY_CONFIG, variant: 'unet3d' });
    const dir = join(root, 'lr1e30');
    const o = { steps: 4, lr: 1e30, patch: [4, 16, 16] as [number, number, number], batch: 1, foregroundProbability: 0.9, seed: 5, checkpointDir: dir, checkpointEvery: 1 };
    const error = await train(rt, model, [{ id: 'a', ct: p.ct, labels: p.labels }], [], o).then(() => undefined, (e: unknown) => e);
    model.dispose();
    expect(error).toBeInstanceOf(NonFiniteLossError);
    expect((error as Error).message).toMatch(/^training stopped at step \d: (the loss is (NaN|-?Infinity)|\d+ parameter values became NaN or infinite \(first in '.+'\) although the loss was .+)\. Lower the learning rate \(--lr, now 1e\+30\); the last good checkpoint in .* is intact$/);
    const stoppedAt = Number(/step (\d)/.exec((error as Error).message)![1]);
    // The checkpoint kept (readCheckpoint checks every value) is from before the step that went bad.
    const kept = await readCheckpoint(dir).then((c) => c.position.step, () => 0);
    expect(kept).toBe(stoppedAt - 1);
  });
});

describe('checkpoints and --resume', () => {
  it('resume restores the stored options, refuses a conflicting one, and --stop-after reports the step it holds', { timeout: 600_000 }, async () => {
    const out = join(root, 'resume');
    // The 3D U-Net alone: the fewest pipelines to compile in each of the two runs.
    const base = ['--config', 'tiny', '--variant', 'unet3d', '--steps', '3', '--train-count', '2', '--val-count', '0', '--patch', '4,16,16', '--checkpoint-every', '2'];
    const first = await runInProcess(trainCommand, [...base, '--out', out, '--stop-after', '1']);
    expect(first.code, first.stderr.join('\n')).toBe(0);
    expect(first.stdout.join('\n')).toMatch(/stopped after step 1 of 3 \(--resume continues\); the checkpoint in .* holds step 1/);
    expect((await readCheckpoint(out)).position.step).toBe(1);
    expectOneLineFailure(await runInProcess(trainCommand, ['--out', out, '--resume', '--lr', '0.5']), /--lr 0\.5 conflicts with the resumed run's 0\.01; --resume continues with the run's own options/, 2);
    expectOneLineFailure(await runInProcess(trainCommand, ['--out', out, '--resume', '--balance-arteries']), /--balance-arteries conflicts with the resumed run's false/, 2);
    // Without --steps the run goes on to its own 3 steps, not the default 450.
    const resumed = await runInProcess(trainCommand, ['--out', out, '--resume', '--lr', '0.01']);
    expect(resumed.code, resumed.stderr.join('\n')).toBe(0);
    expect(resumed.stdout.join('\n')).toMatch(/trained to step 3; the checkpoint in .* holds step 3/);
    const weights = decodeSafetensors(new Uint8Array(await readFile(join(out, 'model.safetensors'))), 'w');
    expect(weights.metadata.step).toBe('3');
  });

  it('a checkpoint folder of the older four-file layout, an empty or truncated checkpoint: one line each', async () => {
    const legacy = join(root, 'legacy');
    await prepareOutputFolder(legacy);
    await writeFile(join(legacy, 'state.json'), '{"step": 5');
    expectOneLineFailure(await runInProcess(trainCommand, ['--out', legacy, '--resume']), /holds a checkpoint in an older layout/);
    await writeFile(join(legacy, CHECKPOINT_FILE), '');
    expectOneLineFailure(await runInProcess(trainCommand, ['--out', legacy, '--resume']), /checkpoint\.safetensors: not a safetensors file/);
    const rt = await gpu();
    const model = new CacNet(rt, TINY_CONFIG);
    const bytes = await encodeModel(model);
    model.dispose();
    await writeFile(join(legacy, CHECKPOINT_FILE), bytes.subarray(0, bytes.length - 100));
    expectOneLineFailure(await runInProcess(trainCommand, ['--out', legacy, '--resume']), /checkpoint\.safetensors: (tensor .* is truncated|checksum mismatch)/);
    await writeFile(join(legacy, CHECKPOINT_FILE), bytes);
    expectOneLineFailure(await runInProcess(trainCommand, ['--out', legacy, '--resume']), /no training_state in the metadata \(a weights file, not a checkpoint\?\)/);
  });

  it('temporary files of killed writers are removed; those of a running one stay', async () => {
    const dir = join(root, 'stale');
    await prepareOutputFolder(dir);
    const dead = await new Promise<number>((resolve) => {
      const child = execFile(process.execPath, ['-e', '0'], () => resolve(child.pid!));
    });
    const stale = `.checkpoint.safetensors.${dead}.0123456789ab.tmp`;
    const mine = `.checkpoint.safetensors.${process.pid}.0123456789ab.tmp`;
    await writeFile(join(dir, stale), '');
    await writeFile(join(dir, mine), '');
    expect(await removeStaleTemporaries(dir)).toEqual([stale]);
    expect((await readdir(dir)).sort()).toEqual([mine]);
  });
});

describe('one line and a non-zero exit for every failure', () => {
  it('--out that is a file, /dev/null, under /proc or where writing is not permitted (/sys): refused before any work, in score, infer, phantoms and train', async () => {
    // (Tests run as root here, so a chmod-read-only folder would still take files; /sys refuses even root.)
    const plain = await file('plain', new Uint8Array(1));
    for (const out of [plain, '/dev/null', '/proc/x', '/proc/self/x/y', '/sys/cacnet-out']) {
      const started = performance.now();
      expectOneLineFailure(await runInProcess(score, [fx.nii, fx.labelsPath, '--out', out]), /--out .*(is not a folder|cannot create|cannot write|cannot be used)/);
      expectOneLineFailure(await runInProcess(infer, [fx.nii, '--out', out]), /--out .*(is not a folder|cannot create|cannot write|cannot be used)/);
      expectOneLineFailure(await runInProcess(phantoms, ['--out', out, '--count', '1']), /--out .*(is not a folder|cannot create|cannot write|cannot be used)/);
      expectOneLineFailure(await runInProcess(trainCommand, ['--out', out, '--config', 'tiny']), /--out .*(is not a folder|cannot create|cannot write|cannot be used)/);
      // No network ran and nothing spun: each refusal is immediate.
      expect(performance.now() - started).toBeLessThan(10_000);
    }
  });

  it('--weights naming a folder, or a malformed safetensors file: one line', async () => {
    const header = (json: string) => {
      const text = new TextEncoder().encode(json);
      const out = new Uint8Array(8 + text.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
      out.set(text, 8);
      return out;
    };
    const cases: Array<[Uint8Array | null, RegExp]> = [
      [null, /is a folder, expected a file/],
      [header('42'), /corrupt safetensors header \(not a JSON object\)/],
      [header('null'), /corrupt safetensors header \(not a JSON object\)/],
      [header('{"w": {"dtype": "F32", "shape": "3", "data_offsets": [0, 12]}}'), /tensor 'w' has a malformed shape or data_offsets/],
      [header('{"w": null}'), /tensor 'w' has dtype undefined/],
      [header('{"__metadata__": {"config": 7}}'), /__metadata__ must map names to strings/],
      [header('{"__metadata__": {"config": "{\\"variant\\": \\"cacnet\\"}"}}'), /network configuration in the metadata is not sound \(classes must be an integer/],
      [header('{"__metadata__": {"config": "[1]"}}'), /not sound \(not an object\)/],
    ];
    for (const [bytes, pattern] of cases) {
      const weights = bytes ? await file('bad.safetensors', bytes) : root;
      expectOneLineFailure(await runInProcess(infer, [fx.nii, '--weights', weights, '--out', join(root, 'w-out')]), pattern);
    }
  });

  it('an input path that is a symlink loop, and a missing one: one line naming it', async () => {
    const a = join(root, 'loop-a.nii');
    const b = join(root, 'loop-b.nii');
    await symlink(b, a);
    await symlink(a, b);
    expectOneLineFailure(await runInProcess(score, [a, fx.labelsPath]), /loop-a\.nii: cannot read \(too many symbolic links \(a loop\?\) \(ELOOP\)\)/);
    expectOneLineFailure(await runInProcess(score, [fx.nii, b]), /loop-b\.nii: cannot read .*ELOOP/);
    expectOneLineFailure(await runInProcess(score, [join(root, 'nothing.nii'), fx.labelsPath]), /nothing\.nii: no such file or folder/);
  });

  it('train --patch 4096,4096,4096 is a usage error in one line', async () => {
    expectOneLineFailure(await runInProcess(trainCommand, ['--config', 'tiny', '--patch', '4096,4096,4096', '--out', join(root, 'patch')]), /--patch 4096,4096,4096 with --batch 1 needs about \d+ MiB for one activation, more than this device's/, 2);
  });

  it('arguments: negative numbers, unknown options, missing values and counts that would not end', async () => {
    expectOneLineFailure(await runInProcess(phantoms, ['--out', join(root, 'p'), '--count', '-5']), /--count must be an integer from 1 to 10000, got '-5'/, 2);
    expectOneLineFailure(await runInProcess(phantoms, ['--out', join(root, 'p'), '--count', '1e9']), /--count must be an integer from 1 to 10000, got '1e9'/, 2);
    expectOneLineFailure(await runInProcess(phantoms, ['--out', join(root, 'p'), '--colour', 'red']), /unknown option '--colour' \(see 'cacnet phantoms --help'\)/, 2);
    expectOneLineFailure(await runInProcess(phantoms, ['--count']), /--count needs a value/, 2);
    expectOneLineFailure(await runInProcess(phantoms, ['--out', '--count', '3']), /--out needs a value/, 2);
    expectOneLineFailure(await runInProcess(phantoms, ['--out', 'a', '--out', 'b']), /--out is given twice/, 2);
    expectOneLineFailure(await runInProcess(trainCommand, ['--train-count', '100000']), /--train-count must be an integer from 1 to 2000/, 2);
    for (const bad of ['0', 'wide', '25']) {
      expectOneLineFailure(await runInProcess(calibrate, ['--position-gate', bad]), new RegExp(`--position-gate must be a number of prior SDs from 1 to 20, or none, got '${bad}'`), 2);
    }
  });

  it('a set of outputs is written whole or not at all', async () => {
    const dir = join(root, 'set');
    await prepareOutputFolder(dir);
    await expect(writeFilesAtomic([{ path: join(dir, 'a_labels.nii.gz'), bytes: new Uint8Array(10) }, { path: join(dir, 'missing', 'a.json'), bytes: new Uint8Array(3) }])).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('an unknown command is one line (the real process)', { timeout: 120_000 }, async () => {
    const r = await promisify(execFile)(process.execPath, [...cliCommand(), 'frobnicate'], { cwd: REPO }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').filter((l) => l && !/vulkan|xdg|dawn|warning|CheckVk/i.test(l))).toEqual([
      "cacnet: error: unknown command 'frobnicate' (commands: demo, train, calibrate, infer, batch, score, eval, phantoms, qrm, bench, doctor; see 'cacnet --help')",
    ]);
  });
});

describe('no unbounded growth', () => {
  it('inference holds the same host and GPU memory after 4 windows as after 16 (no per-window leak)', { timeout: 300_000 }, async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const rt = await gpu();
    const model = new CacNet(rt, { ...TINY_CONFIG, variant: 'unet3d' }).eval();
    const [nx, ny, nz] = [176, 176, 16]; // 4 × 4 windows of 64 × 64 × 16
    const ct = { data: Float32Array.from({ length: nx * ny * nz }, (_, i) => ((i * 7919) % 1500) - 500), dims: [nx, ny, nz] as [number, number, number], spacing: [0.7, 0.7, 3] as [number, number, number], affine: [0.7, 0, 0, 0, 0, 0.7, 0, 0, 0, 0, 3, 0, 0, 0, 0, 1], source: 'growth' };
    const samples = new Map<number, { host: number; gpu: number }>();
    await segment(rt, model, ct, {
      onProgress: (done) => {
        if (done !== 4 && done !== 16) return;
        gc();
        const m = process.memoryUsage();
        samples.set(done, { host: m.heapUsed + m.arrayBuffers, gpu: rt.memory().liveBytes });
      },
    });
    model.dispose();
    const [a, b] = [samples.get(4)!, samples.get(16)!];
    // A window's probabilities are 1 MiB; twelve more windows kept would show as 12 MiB.
    expect(b.host - a.host).toBeLessThan(2 ** 20);
    expect(b.gpu).toBe(a.gpu);
  });
});

describe('web server', () => {
  it('answers only to 127.0.0.1 and localhost, with the security headers on every response', async () => {
    const web = await startWebServer({ port: 0 });
    try {
      const port = new URL(web.url).port;
      const get = (path: string, host: string) =>
        new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
          import('node:http').then(({ request }) => {
            const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
              res.resume();
              resolve({ status: res.statusCode!, headers: res.headers });
            });
            req.on('error', reject);
            req.end();
          });
        });
      const cases: Array<[string, string, number]> = [
        ['/', `127.0.0.1:${port}`, 200],
        ['/', `localhost:${port}`, 200],
        ['/', `evil.example:${port}`, 403],
        ['/', '127.0.0.1', 403],
        ['/nothing', `127.0.0.1:${port}`, 404],
        ['/%E0%A4%A', `127.0.0.1:${port}`, 400],
      ];
      for (const [path, host, status] of cases) {
        const r = await get(path, host);
        expect(r.status, `${host}${path}`).toBe(status);
        for (const h of ['content-security-policy', 'x-content-type-options', 'referrer-policy', 'cross-origin-opener-policy', 'x-frame-options']) {
          expect(r.headers[h], `${h} on ${status}`).toBeDefined();
        }
      }
    } finally {
      await web.close();
    }
  });
});
