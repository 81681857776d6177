/**
 * The device profile: what the kernel planners need to know about the adapter,
 * read once when the runtime starts. Kernels are chosen by it, never by a
 * global tuning constant:
 *  - 'swiftshader' family (a CPU adapter: a few cores, 4-wide SIMD, costly
 *    barriers and operand fetches): few persistent workgroups of one quad,
 *    register-resident operands, no workgroup memory;
 *  - 'gpu' family (a hardware GPU: thousands of lanes, cheap barriers, costly
 *    driver compiles of unrolled code): many workgroups, workgroup-memory
 *    tiles, bounded loops.
 * The family can be forced (Runtime option `kernels`, or the environment
 * variable CACNET_KERNELS=gpu|swiftshader) to test one family on any adapter.
 */
import { InputError } from '../base/errors.js';
import type { AdapterDescription } from './acquire.js';

export type KernelFamily = 'gpu' | 'swiftshader';
export const KERNEL_FAMILIES: readonly KernelFamily[] = ['gpu', 'swiftshader'];

export interface DeviceProfile {
  /** The kernel family planners use (forced, or from `software`). */
  family: KernelFamily;
  /** Whether the family was forced rather than chosen from the adapter. */
  forced: boolean;
  /** A CPU adapter (SwiftShader, llvmpipe...). */
  software: boolean;
  vendor: string;
  architecture: string;
  /** Subgroup (wave, warp) sizes the adapter reports; 0 when it does not say. */
  subgroupMinSize: number;
  subgroupMaxSize: number;
  /** Limits the device was created with (the adapter's, not WebGPU's defaults). */
  maxWorkgroupStorageBytes: number;
  maxInvocationsPerWorkgroup: number;
  maxWorkgroupSizeX: number;
  features: { shaderF16: boolean; subgroups: boolean; timestampQuery: boolean };
  /**
   * Compute units to keep busy: CPU threads on a software adapter; on hardware
   * an estimate (WebGPU does not expose SM or CU counts): 128 for a discrete
   * GPU (an H100 has 132 SMs), 32 for an integrated one.
   */
  computeUnits: number;
}

/** Workgroups that fill the device: 4 per compute unit (latency hiding without tiny tiles). */
export function fillTarget(p: DeviceProfile): number {
  return 4 * p.computeUnits;
}

/** The family named by CACNET_KERNELS, or undefined; a bad value is an input error. */
export function familyFromEnv(env: Record<string, string | undefined> = typeof process !== 'undefined' ? process.env : {}): KernelFamily | undefined {
  const v = env.CACNET_KERNELS;
  if (v === undefined || v === '') return undefined;
  if (!(KERNEL_FAMILIES as readonly string[]).includes(v)) {
    throw new InputError(`CACNET_KERNELS must be one of ${KERNEL_FAMILIES.join(', ')}, got '${v}'`);
  }
  return v as KernelFamily;
}

const INTEGRATED = /intel|apple|arm|qualcomm|mali|adreno|powervr|imagination/i;

/** Builds the profile from the created device, its adapter's description and the host's CPU count. */
export function readProfile(device: GPUDevice, d: AdapterDescription, adapterInfo: Partial<GPUAdapterInfo>, cpus: number, forced?: KernelFamily): DeviceProfile {
  const has = (f: string) => device.features.has(f as GPUFeatureName);
  const info = adapterInfo as { subgroupMinSize?: number; subgroupMaxSize?: number };
  const computeUnits = d.isSoftware ? Math.max(1, cpus) : INTEGRATED.test(`${d.vendor} ${d.architecture} ${d.description}`) ? 32 : 128;
  return {
    family: forced ?? (d.isSoftware ? 'swiftshader' : 'gpu'),
    forced: forced !== undefined,
    software: d.isSoftware,
    vendor: d.vendor,
    architecture: d.architecture,
    subgroupMinSize: info.subgroupMinSize ?? 0,
    subgroupMaxSize: info.subgroupMaxSize ?? 0,
    maxWorkgroupStorageBytes: device.limits.maxComputeWorkgroupStorageSize,
    maxInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
    maxWorkgroupSizeX: device.limits.maxComputeWorkgroupSizeX,
    features: { shaderF16: has('shader-f16'), subgroups: has('subgroups'), timestampQuery: has('timestamp-query') },
    computeUnits,
  };
}

/** One line for logs and reports. */
export function describeProfile(p: DeviceProfile): string {
  const feats = Object.entries(p.features).filter(([, on]) => on).map(([f]) => f);
  return (
    `${p.family} kernels${p.forced ? ' (forced)' : ''} on a ${p.software ? 'software' : 'hardware'} adapter (${p.vendor}${p.architecture ? ` ${p.architecture}` : ''}), ` +
    `${p.computeUnits} compute units, subgroups ${p.subgroupMinSize}-${p.subgroupMaxSize}, ` +
    `workgroup storage ${p.maxWorkgroupStorageBytes} B, ${p.maxInvocationsPerWorkgroup} invocations, features: ${feats.join(', ') || 'none'}`
  );
}
