/**
 * WebGPU for Node through Dawn (npm `webgpu`). Imported dynamically so that
 * browser bundles never see it.
 *
 * When the machine has no GPU driver, Dawn finds no Vulkan adapter. Debian's
 * chromium ships SwiftShader, a CPU Vulkan driver Dawn accepts; we point the
 * Vulkan loader at its ICD file ourselves so a user never has to.
 */
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { vulkanDriverManifests, vulkanManifestDirs } from './vulkan-drivers.js';

/** Places where a SwiftShader Vulkan ICD manifest is known to live. */
const ICD_DIRS = [
  '/usr/lib/chromium',
  '/usr/lib64/chromium',
  '/usr/lib/chromium-browser',
  '/snap/chromium/current/usr/lib/chromium-browser',
  '/opt/google/chrome',
];

/** CPU threads of this host (what SwiftShader runs on). */
export function hostThreads(): number {
  return availableParallelism();
}

export function findSwiftShaderIcd(dirs: readonly string[] = ICD_DIRS): string | undefined {
  const fromEnv = process.env.CACNET_SWIFTSHADER_ICD;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  for (const dir of dirs) {
    const candidate = join(dir, 'vk_swiftshader_icd.json');
    if (existsSync(candidate)) return candidate;
  }
  if (dirs !== ICD_DIRS) return undefined;
  // Last resort: any chromium-like folder under /usr/lib.
  try {
    for (const entry of readdirSync('/usr/lib')) {
      if (!/chrom/i.test(entry)) continue;
      const candidate = join('/usr/lib', entry, 'vk_swiftshader_icd.json');
      if (existsSync(candidate)) return candidate;
    }
  } catch {
    /* no /usr/lib: not Linux */
  }
  return undefined;
}

export interface NodeGpuOptions {
  /** Dawn toggles to enable on the instance (e.g. 'disable_robustness'). */
  enableToggles: string[];
  /** 'auto' tries hardware first, then SwiftShader; 'swiftshader' forces it. */
  adapter: 'auto' | 'hardware' | 'swiftshader';
  powerPreference?: GPUPowerPreference;
  /** Folders searched for vk_swiftshader_icd.json (tests pass an empty list). */
  icdSearchDirs?: readonly string[];
}

export interface NodeGpuResult {
  adapter: GPUAdapter;
  usedSwiftShader: boolean;
  icd?: string;
  /** What was tried, in order, one line each (cacnet doctor prints them). */
  tried: string[];
}

async function loadDawn(): Promise<{ create: (flags: string[]) => GPU }> {
  // Dawn prints a warning per call when XDG_RUNTIME_DIR is unset; it is harmless.
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const mod = (await import('webgpu')) as unknown as {
    create: (flags: string[]) => GPU;
    globals: Record<string, unknown>;
  };
  // GPUBufferUsage and friends are globals in a browser; Dawn provides them.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  return mod;
}

/**
 * Dawn instances must outlive their devices: if the GPU object from create()
 * is garbage-collected, Dawn tears down under a live device and the process
 * aborts. We hold every instance we hand out for the life of the process.
 */
const instances: GPU[] = [];

export async function requestNodeAdapter(opts: NodeGpuOptions): Promise<NodeGpuResult | undefined> {
  const dawn = await loadDawn();
  const flags = opts.enableToggles.length ? [`enable-dawn-features=${opts.enableToggles.join(',')}`] : [];
  const tried: string[] = [];
  const request = async () => {
    const gpu = dawn.create(flags);
    instances.push(gpu);
    return (await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' })) ?? undefined;
  };
  if (opts.adapter !== 'swiftshader' && !process.env.VK_ICD_FILENAMES?.includes('swiftshader')) {
    const manifests = vulkanDriverManifests();
    // With no driver manifest the probe cannot succeed and only makes native code print
    // warnings on stderr (see vulkan-drivers.ts); 'hardware' asks anyway.
    if (manifests.length === 0 && opts.adapter === 'auto') {
      tried.push(`hardware GPU: skipped, no Vulkan driver manifest (searched ${vulkanManifestDirs().join(', ')})`);
    } else {
      const hw = await request();
      tried.push(`hardware GPU: ${hw ? 'found' : 'no adapter'} (Vulkan drivers: ${manifests.join(', ') || 'none'})`);
      if (hw) return { adapter: hw, usedSwiftShader: false, tried };
      if (opts.adapter === 'hardware') return undefined;
    }
  }
  const icd = findSwiftShaderIcd(opts.icdSearchDirs);
  if (!icd) return undefined;
  // The Vulkan loader reads this variable when Dawn creates its instance.
  process.env.VK_ICD_FILENAMES = icd;
  const sw = await request();
  tried.push(`SwiftShader (CPU): ${sw ? 'found' : 'no adapter'} (${icd})`);
  return sw ? { adapter: sw, usedSwiftShader: true, icd, tried } : undefined;
}
