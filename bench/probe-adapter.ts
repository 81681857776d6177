/**
 * Does Dawn in Node see a hardware GPU? Prints what Dawn finds (no SwiftShader
 * fallback) and what the Vulkan loader has to work with; exits 0 when a
 * hardware adapter answers, 3 when none does. Used by bench/gpu-run.sh.
 *
 *   npx tsx bench/probe-adapter.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { requestNodeAdapter } from '../src/gpu/node-gpu.js';

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 }).toString().trim();
  } catch {
    return '';
  }
}

const icdDirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
const icds = icdDirs.filter((d) => existsSync(d)).flatMap((d) => readdirSync(d).map((f) => `${d}/${f}`));
console.log(`nvidia-smi:        ${sh('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader']) || '(not found or no GPU)'}`);
console.log(`Vulkan ICDs:       ${icds.join(', ') || '(none)'}`);
console.log(`libvulkan.so.1:    ${sh('sh', ['-c', 'ldconfig -p | grep -m1 libvulkan.so.1']) || '(not found: apt-get install libvulkan1)'}`);
console.log(`VK_ICD_FILENAMES:  ${process.env.VK_ICD_FILENAMES ?? '(unset)'}`);

const got = await requestNodeAdapter({ enableToggles: ['disable_robustness'], adapter: 'hardware' });
if (!got) {
  console.log('Dawn: no hardware adapter. On an NVIDIA machine the Vulkan loader needs the driver\'s ICD');
  console.log('(nvidia_icd.json, shipped with the driver\'s Vulkan/GL user-space libraries, e.g. libnvidia-gl-<ver>)');
  console.log('and libvulkan1; a container needs NVIDIA_DRIVER_CAPABILITIES to include graphics.');
  process.exit(3);
}
const info = got.adapter.info;
console.log(`Dawn: hardware adapter: ${info.vendor} ${info.architecture} ${info.device} "${info.description}"`);
console.log(`      maxStorageBufferBindingSize ${got.adapter.limits.maxStorageBufferBindingSize}, features ${[...got.adapter.features].join(', ')}`);
process.exit(0);
