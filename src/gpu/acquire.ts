/**
 * One way to get a WebGPU device, in Node (Dawn) or in a browser (navigator.gpu).
 * We ask for the adapter's real limits: Dawn's default device caps storage
 * bindings at 128 MiB while most adapters allow far more.
 */
import { GpuUnavailableError } from '../base/errors.js';

export interface AcquireOptions {
  /** 'auto': hardware first, then SwiftShader (Node only). */
  adapter?: 'auto' | 'hardware' | 'swiftshader';
  /**
   * Dawn's robustness (bounds clamping on every storage access) costs 2-2.6x on
   * SwiftShader. Every kernel here bounds-checks its own indices, so Node turns
   * it off by default; pass true to keep it. Browsers ignore this.
   */
  robustness?: boolean;
  /** Ask for shader-f16 / subgroups when the adapter has them. */
  optionalFeatures?: GPUFeatureName[];
  /** Folders searched for SwiftShader's ICD (Node); default: where Debian and others install Chromium. */
  icdSearchDirs?: readonly string[];
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isSoftware: boolean;
  platform: 'node' | 'browser';
  robustness: boolean;
  /** How the adapter was found, one line per attempt (Node). */
  tried: string[];
}

export interface AcquiredDevice {
  adapter: GPUAdapter;
  device: GPUDevice;
  description: AdapterDescription;
  /** CPU threads of the host (what a software adapter runs on). */
  hostThreads: number;
}

const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
] as const;

const DEFAULT_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups' as GPUFeatureName, 'timestamp-query'];

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node && typeof (globalThis as { window?: unknown }).window === 'undefined';
}

export async function acquireDevice(opts: AcquireOptions = {}): Promise<AcquiredDevice> {
  const platform = isNode() ? 'node' : 'browser';
  const robustness = platform === 'browser' ? true : opts.robustness ?? false;
  let adapter: GPUAdapter | undefined;
  let swift = false;
  let hostThreads = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 4;
  let tried: string[] = [];
  if (platform === 'node') {
    const { requestNodeAdapter, hostThreads: nodeThreads } = await import('./node-gpu.js');
    hostThreads = nodeThreads();
    const got = await requestNodeAdapter({
      enableToggles: robustness ? [] : ['disable_robustness'],
      adapter: opts.adapter ?? 'auto',
      icdSearchDirs: opts.icdSearchDirs,
    });
    if (!got) {
      throw new GpuUnavailableError(
        'no WebGPU adapter found: no GPU driver answered and SwiftShader was not found. ' +
          'Run ./setup.sh (it installs libvulkan1 and chromium, whose SwiftShader driver gives a CPU adapter), ' +
          'or set CACNET_SWIFTSHADER_ICD to a vk_swiftshader_icd.json.',
      );
    }
    adapter = got.adapter;
    swift = got.usedSwiftShader;
    tried = got.tried;
  } else {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) throw new GpuUnavailableError('this browser has no WebGPU (navigator.gpu is missing); try a recent Chrome or Edge');
    adapter = (await gpu.requestAdapter({ powerPreference: 'high-performance' })) ?? undefined;
    if (!adapter) throw new GpuUnavailableError('WebGPU is present but no adapter is available (blocklisted GPU or disabled)');
  }

  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const requiredFeatures = (opts.optionalFeatures ?? DEFAULT_FEATURES).filter((f) => adapter!.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });

  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const description: AdapterDescription = {
    vendor: info.vendor || 'unknown',
    architecture: info.architecture || '',
    device: info.device || '',
    description: info.description || '',
    isSoftware: swift || /swiftshader|llvmpipe|lavapipe|software/i.test(`${info.vendor} ${info.architecture} ${info.description}`),
    platform,
    robustness,
    tried,
  };
  return { adapter, device, description, hostThreads };
}
