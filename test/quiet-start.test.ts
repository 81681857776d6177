/**
 * A start on SwiftShader prints nothing from the Vulkan loader or Dawn, and
 * `cacnet doctor` still says what it tried. Runs the CLI in a child process,
 * because the noise comes from native code writing to fd 2.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { vulkanDriverManifests, vulkanManifestDirs } from '../src/gpu/vulkan-drivers.js';
import { cliCommand, REPO } from './helpers/cli.js';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('quiet start', () => {
  it('cacnet doctor on a machine without a Vulkan driver: empty stderr, and the attempts on stdout', { timeout: 120_000 }, async () => {
    // Only meaningful where the loader has no driver; with one, the hardware probe is real and may talk.
    if (vulkanDriverManifests().length > 0) return;
    const env = { ...process.env };
    delete env.VK_ICD_FILENAMES;
    const r = await run(process.execPath, [...cliCommand(), 'doctor'], { cwd: REPO, env, timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^tried {7}hardware GPU: skipped, no Vulkan driver manifest \(searched .*\/etc\/vulkan\/icd\.d/m);
    expect(r.stdout).toMatch(/^tried {7}SwiftShader \(CPU\): found \(.*vk_swiftshader_icd\.json\)$/m);
  });

  it('finds driver manifests where the loader looks, and those the environment names', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cacnet-vk-'));
    dirs.push(root);
    const env = { HOME: join(root, 'home'), XDG_DATA_DIRS: join(root, 'share') };
    expect(vulkanManifestDirs(env)).toContain(join(root, 'share', 'vulkan', 'icd.d'));
    expect(vulkanManifestDirs(env)).toContain(join(root, 'home', '.config', 'vulkan', 'icd.d'));
    const icd = join(root, 'share', 'vulkan', 'icd.d');
    await mkdir(icd, { recursive: true });
    await writeFile(join(icd, 'nvidia_icd.json'), '{}');
    await writeFile(join(icd, 'readme.txt'), 'not a manifest');
    await writeFile(join(icd, 'vk_swiftshader_icd.json'), '{}');
    const found = vulkanDriverManifests(env);
    // The real system folders (/etc/vulkan/icd.d, ...) are searched too; ours must be among the results.
    expect(found).toContain(join(icd, 'nvidia_icd.json'));
    expect(found.filter((f) => f.startsWith(root))).toEqual([join(icd, 'nvidia_icd.json')]);
    expect(vulkanDriverManifests({ ...env, VK_ICD_FILENAMES: '/x/a.json:/x/vk_swiftshader_icd.json' })).toEqual(['/x/a.json']);
    expect(vulkanDriverManifests({ ...env, VK_ICD_FILENAMES: '/x/vk_swiftshader_icd.json' })).toEqual([]);
  });
});
