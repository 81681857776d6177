/**
 * The GPU runtime: one device, a buffer pool, a pipeline cache keyed by a
 * program's short key (see program.ts), and one command encoder that collects every dispatch until somebody
 * reads a result back. Reading back is the explicit, expensive exception.
 */
import { acquireDevice, type AcquireOptions, type AdapterDescription } from './acquire.js';
import { BufferPool, type PoolStats } from './buffer-pool.js';
import { CacnetError, DeviceLostError, GpuLimitError } from '../base/errors.js';
import { familyFromEnv, readProfile, type DeviceProfile, type KernelFamily } from './profile.js';

export interface RuntimeOptions extends AcquireOptions {
  /** Force a kernel family (tests, rehearsals); default: CACNET_KERNELS, else chosen by the adapter. */
  kernels?: KernelFamily;
  /** Plan as if the device had this many compute units (rehearsing a big GPU's plans on a small adapter). */
  computeUnits?: number;
}

export interface DispatchSpec {
  /** Names the op in error messages and GPU debug labels. */
  label: string;
  /**
   * Pipeline-cache key: a program's short key (op, family, tile, vector
   * width...). Without one, a literal `source` is its own key (probes).
   */
  key?: string;
  /** The WGSL (entry point `main`), or its builder: called only when the key is not cached yet. */
  source: string | (() => string);
  /** Storage buffers bound at @binding(0..n-1) of @group(0), in order. */
  buffers: readonly GPUBuffer[];
  /** Optional uniform block bound at @binding(n), right after the buffers. */
  uniforms?: ArrayBuffer | ArrayBufferView;
  /**
   * Workgroup count. A number is a flat 1D grid that is split into x*y when it
   * passes the 65535-per-dimension limit: kernels must compute their flat
   * workgroup index as wid.x + wid.y * nwg.x and bounds-check it.
   */
  workgroups: number | [number, number, number];
}

export interface RuntimeCounters {
  dispatches: number;
  submits: number;
  readbacks: number;
  pipelines: number;
  /** WGSL sources built (one per pipeline-cache key). */
  sourceBuilds: number;
}

export interface MemoryStats extends PoolStats {
  /** Live tensors (not yet disposed). */
  liveTensors: number;
}

export class Runtime {
  readonly limits: GPUSupportedLimits;
  readonly features: ReadonlySet<string>;
  readonly counters: RuntimeCounters = { dispatches: 0, submits: 0, readbacks: 0, pipelines: 0, sourceBuilds: 0 };
  /** Tensors alive right now; maintained by Tensor. */
  liveTensors = 0;

  private readonly storage: BufferPool;
  private readonly uniformPool: BufferPool;
  private readonly readPool: BufferPool;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** Buffers that may only be recycled once the current encoder is submitted. */
  private afterSubmit: Array<() => void> = [];
  private lost: GPUDeviceLostInfo | null = null;
  private pendingError: Error | null = null;

  private constructor(
    readonly device: GPUDevice,
    readonly adapter: GPUAdapter,
    readonly description: AdapterDescription,
    /** What the kernel planners plan for: read once from the adapter. */
    readonly profile: DeviceProfile,
  ) {
    this.limits = device.limits;
    this.features = new Set([...device.features] as string[]);
    const U = GPUBufferUsage;
    this.storage = new BufferPool(device, U.STORAGE | U.COPY_SRC | U.COPY_DST, 'tensor');
    this.uniformPool = new BufferPool(device, U.UNIFORM | U.COPY_DST, 'uniform');
    this.readPool = new BufferPool(device, U.MAP_READ | U.COPY_DST, 'readback');
    device.lost.then((info) => {
      this.lost = info;
    });
    device.addEventListener?.('uncapturederror', (ev: Event) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.pendingError ??= new CacnetError(`GPU error: ${err.message}`);
    });
  }

  static async create(opts: RuntimeOptions = {}): Promise<Runtime> {
    const forced = opts.kernels ?? familyFromEnv();
    const { adapter, device, description, hostThreads } = await acquireDevice(opts);
    const profile = readProfile(device, description, adapter.info ?? {}, hostThreads, forced);
    if (opts.computeUnits !== undefined) profile.computeUnits = opts.computeUnits;
    return new Runtime(device, adapter, description, profile);
  }

  get maxStorageBinding(): number {
    return this.limits.maxStorageBufferBindingSize;
  }

  /** Whether the device was created with a feature (e.g. 'shader-f16', 'subgroups'). */
  has(feature: string): boolean {
    return this.features.has(feature);
  }

  // ---- memory -------------------------------------------------------------

  /** A storage buffer of at least `bytes` bytes, from the pool. */
  allocate(bytes: number, what: string): GPUBuffer {
    this.checkAlive();
    if (bytes > this.limits.maxStorageBufferBindingSize) {
      throw new GpuLimitError(
        `${what} needs ${(bytes / 2 ** 20).toFixed(1)} MiB in one buffer, more than this device's ` +
          `${(this.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB storage binding limit; process it in tiles`,
      );
    }
    return this.storage.acquire(bytes);
  }

  /** Returns a storage buffer to the pool. Safe while dispatches using it are still unsubmitted. */
  recycle(buffer: GPUBuffer): void {
    this.storage.release(buffer);
  }

  memory(): MemoryStats {
    return { ...this.storage.snapshot(), liveTensors: this.liveTensors };
  }

  resetPeakMemory(): void {
    this.storage.resetPeak();
  }

  /** Frees pooled buffers nobody uses (after a big one-off job). */
  trim(): void {
    this.flush();
    this.storage.trim();
  }

  // ---- uploads ------------------------------------------------------------

  /**
   * Writes host data into a buffer, ordered after everything encoded so far.
   * queue.writeBuffer runs before the pending encoder, so once there is pending
   * work (which may still read a recycled buffer) we copy through a staging
   * buffer inside the encoder instead.
   */
  write(buffer: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.checkAlive();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (!this.encoder) {
      this.device.queue.writeBuffer(buffer, byteOffset, bytes);
      return;
    }
    const padded = Math.ceil(bytes.byteLength / 4) * 4;
    const staging = this.device.createBuffer({ size: Math.max(padded, 4), usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
    new Uint8Array(staging.getMappedRange()).set(bytes);
    staging.unmap();
    this.endPass();
    this.encoder.copyBufferToBuffer(staging, 0, buffer, byteOffset, padded);
    this.afterSubmit.push(() => staging.destroy());
  }

  /** Copies bytes between storage buffers, in encoder order. */
  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number, srcOffset = 0, dstOffset = 0): void {
    const enc = this.getEncoder();
    this.endPass();
    enc.copyBufferToBuffer(src, srcOffset, dst, dstOffset, Math.ceil(bytes / 4) * 4);
  }

  // ---- dispatch -----------------------------------------------------------

  /** The pipeline for `key`, compiling `source` (built only now) on a miss. */
  pipeline(label: string, key: string, source: string | (() => string)): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (p) return p;
    let code: string;
    if (typeof source === 'string') code = source;
    else {
      code = source();
      this.counters.sourceBuilds++;
    }
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label });
    p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label });
    this.device.popErrorScope().then((err) => {
      if (err) this.pendingError ??= new CacnetError(`internal error: kernel '${label}' (${key.slice(0, 80)}) failed to compile: ${err.message}`);
    });
    this.pipelines.set(key, p);
    this.counters.pipelines++;
    return p;
  }

  dispatch(spec: DispatchSpec): void {
    this.checkAlive();
    const key = spec.key ?? (typeof spec.source === 'string' ? spec.source : null);
    if (key === null) throw new CacnetError(`internal error: dispatch '${spec.label}' has a source builder but no key`);
    const pipeline = this.pipeline(spec.label, key, spec.source);
    const entries: GPUBindGroupEntry[] = spec.buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
    if (spec.uniforms) {
      const view = ArrayBuffer.isView(spec.uniforms)
        ? new Uint8Array(spec.uniforms.buffer, spec.uniforms.byteOffset, spec.uniforms.byteLength)
        : new Uint8Array(spec.uniforms);
      const ubuf = this.uniformPool.acquire(Math.max(16, Math.ceil(view.byteLength / 16) * 16));
      this.device.queue.writeBuffer(ubuf, 0, view);
      entries.push({ binding: spec.buffers.length, resource: { buffer: ubuf, size: Math.max(16, Math.ceil(view.byteLength / 16) * 16) } });
      // writeBuffer lands before this encoder runs, so a uniform buffer is only
      // reused after the submit that reads it.
      this.afterSubmit.push(() => this.uniformPool.release(ubuf));
    }
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label: spec.label });
    const [x, y, z] = this.grid(spec.workgroups, spec.label);
    if (x === 0 || y === 0 || z === 0) return;
    const pass = this.getPass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.counters.dispatches++;
  }

  /** Splits a flat workgroup count into a grid that respects the per-dimension limit. */
  grid(workgroups: number | [number, number, number], label = 'dispatch'): [number, number, number] {
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (typeof workgroups !== 'number') {
      if (workgroups.some((w) => w > max)) throw new GpuLimitError(`${label}: grid ${workgroups.join('x')} exceeds ${max} per dimension`);
      return workgroups;
    }
    if (workgroups <= max) return [workgroups, 1, 1];
    const y = Math.ceil(workgroups / max);
    if (y > max) throw new GpuLimitError(`${label}: ${workgroups} workgroups exceed ${max}x${max}`);
    return [max, y, 1];
  }

  /** Submits everything encoded so far. */
  flush(): void {
    this.checkAlive();
    if (!this.encoder) return;
    this.endPass();
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.counters.submits++;
    const pending = this.afterSubmit;
    this.afterSubmit = [];
    for (const f of pending) f();
  }

  /** Copies `bytes` of a buffer back to the host. Submits pending work first. */
  async read(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const padded = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.readPool.acquire(padded);
    const enc = this.getEncoder();
    this.endPass();
    enc.copyBufferToBuffer(buffer, 0, staging, 0, padded);
    this.flush();
    this.counters.readbacks++;
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, padded);
    } catch (e) {
      this.checkAlive();
      throw e;
    }
    const out = staging.getMappedRange(0, padded).slice(0, bytes);
    staging.unmap();
    this.readPool.release(staging);
    this.throwPendingError();
    return out;
  }

  /** Waits until the GPU has finished everything submitted. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.checkAlive();
    this.throwPendingError();
  }

  destroy(): void {
    this.encoder = null;
    this.pass = null;
    this.device.destroy();
  }

  get isLost(): boolean {
    return this.lost !== null;
  }

  // ---- internals ----------------------------------------------------------

  private getEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private getPass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.getEncoder().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private checkAlive(): void {
    if (this.lost) {
      throw new DeviceLostError(
        `the GPU device was lost (${this.lost.reason}${this.lost.message ? `: ${this.lost.message}` : ''}); ` +
          'results in flight are gone, start a new runtime (checkpoints on disk are intact)',
      );
    }
  }

  private throwPendingError(): void {
    if (this.pendingError) {
      const e = this.pendingError;
      this.pendingError = null;
      throw e;
    }
  }
}
