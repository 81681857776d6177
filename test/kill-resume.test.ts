/**
 * Kill -9 at any instant, resume, and end with bit-identical weights. A child
 * process trains a tiny network with a checkpoint after every step; it is
 * killed inside a checkpoint write (with the new file flushed under its
 * temporary name, the old one still current) and at random instants, and each
 * time the folder must hold a complete checkpoint or none, never a mix. The
 * next child resumes; the last one runs to the end, and its weights must equal
 * an uninterrupted run's bit for bit, with no temporary file left behind.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../src/base/random.js';
import { CacNet } from '../src/net/cacnet.js';
import { CHECKPOINT_FILE, readCheckpoint, WEIGHTS_FILE } from '../src/net/checkpoint.js';
import { decodeSafetensors } from '../src/net/safetensors.js';
import { train } from '../src/net/train.js';
import { REPO } from './helpers/cli.js';
import { gpu } from './helpers/gpu.js';
import { KILL_TEST_CONFIG, KILL_TEST_STEPS, killTestOptions, killTestScans } from './helpers/kill-test-run.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

type Kill = { at: 'commit'; skip: number } | { at: 'time'; afterFirstStepMs: number } | { at: 'never' };

/** Runs the child until `kill` says, then SIGKILLs it; resolves with what it printed and how it ended. */
function runChild(dir: string, kill: Kill): Promise<{ out: string; killed: boolean; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test', 'helpers', 'train-child.ts'), dir, '300'], { cwd: REPO, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    let commits = 0;
    let killed = false;
    let timer = false;
    const killNow = () => {
      if (!killed) child.kill('SIGKILL');
      killed = true;
    };
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      out += text;
      if (kill.at === 'commit' && /committing/.test(text) && commits++ === kill.skip) killNow();
      if (kill.at === 'time' && /step \d/.test(text) && !timer) {
        timer = true;
        setTimeout(killNow, kill.afterFirstStepMs);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ out, killed, code }));
  });
}

async function weightsOf(path: string): Promise<Map<string, Float32Array>> {
  const { tensors } = decodeSafetensors(new Uint8Array(await readFile(path)), path);
  return new Map([...tensors].filter(([n]) => !n.startsWith('optimizer.')).map(([n, t]) => [n, t.data]));
}

describe('kill anywhere, resume, same weights', () => {
  it('kills inside checkpoint writes and at random instants; the resumed run ends bit-identical to an uninterrupted one', { timeout: 600_000 }, async () => {
    const rt = await gpu();
    const reference = new CacNet(rt, KILL_TEST_CONFIG);
    await train(rt, reference, killTestScans(), [], killTestOptions(undefined));
    const want = new Map(await Promise.all(reference.namedParameters().map(async ([n, t]) => [n, await t.readF32()] as const)));
    reference.dispose();

    const dir = await mkdtemp(join(tmpdir(), 'cacnet-kill-'));
    dirs.push(dir);
    const random = mulberry32(4711);
    // Each child compiles its own pipelines (tens of seconds on SwiftShader), so the plan is short: one kill inside a write, one at random.
    const plan: Kill[] = [
      { at: 'commit', skip: 1 },
      { at: 'time', afterFirstStepMs: Math.floor(random() * 600) },
    ];
    const log: string[] = [];
    let insideWrite = 0;
    for (const kill of plan) {
      const before = await readCheckpoint(dir).then((c) => c.position.step, () => 0);
      const r = await runChild(dir, kill);
      const names = await readdir(dir);
      const temps = names.filter((name) => name.endsWith('.tmp'));
      // Whatever instant it died at, the folder holds a complete checkpoint (readCheckpoint checks its CRC) that did not go back.
      const after = await readCheckpoint(dir).then((c) => c.position.step, () => 0);
      log.push(`${kill.at}: killed ${r.killed} (code ${r.code}), checkpoint ${before} -> ${after}, temporaries ${temps.length}`);
      expect(after).toBeGreaterThanOrEqual(before);
      if (!r.killed) break; // a random instant after the run had finished
      if (kill.at === 'commit') {
        expect(r.killed, log.join('; ')).toBe(true);
        // Killed with the new checkpoint flushed but not renamed: the old one is still current, the new one a temporary.
        expect(temps.some((t) => t.startsWith(`.${CHECKPOINT_FILE}.`)), log.join('; ')).toBe(true);
        insideWrite++;
      }
    }
    const last = await runChild(dir, { at: 'never' });
    expect(last.code, last.out).toBe(0);
    expect(last.out).toMatch(new RegExp(`done ${KILL_TEST_STEPS}`));
    expect(insideWrite).toBe(1);
    // The stale temporaries of the killed children are gone.
    expect((await readdir(dir)).sort()).toEqual([CHECKPOINT_FILE, WEIGHTS_FILE]);
    for (const file of [CHECKPOINT_FILE, WEIGHTS_FILE]) {
      const got = await weightsOf(join(dir, file));
      for (const [name, values] of want) {
        const g = got.get(name)!;
        expect(g, `${file} ${name}`).toBeDefined();
        expect(Buffer.from(g.buffer, g.byteOffset, g.byteLength).equals(Buffer.from(values.buffer, values.byteOffset, values.byteLength)), `${file} ${name} differs`).toBe(true);
      }
    }
    console.log(`kill-resume: ${log.join('; ')}; final run to step ${KILL_TEST_STEPS}: bit-identical`);
  });
});
