/**
 * Recycles GPU buffers by size class. JS garbage collection cannot free GPU
 * memory on time, so every tensor returns its buffer here explicitly; the pool
 * then hands it to the next tensor of the same size class. Live bytes are
 * counted exactly so tests can assert that training does not leak.
 */

/** Size classes: multiples of 256 B up to 64 KiB, then 8 steps per power of two. */
export function sizeClass(bytes: number): number {
  const b = Math.max(bytes, 16);
  if (b <= 65536) return Math.ceil(b / 256) * 256;
  const pow = 2 ** Math.floor(Math.log2(b));
  const step = pow / 8;
  return Math.ceil(b / step) * step;
}

export interface PoolStats {
  /** Bytes in buffers currently handed out (by size class). */
  liveBytes: number;
  /** Buffers currently handed out. */
  liveBuffers: number;
  /** Bytes parked in the pool, ready for reuse. */
  pooledBytes: number;
  /** Highest liveBytes seen. */
  peakLiveBytes: number;
  /** Bytes of every buffer ever created and not destroyed. */
  allocatedBytes: number;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private stats: PoolStats = { liveBytes: 0, liveBuffers: 0, pooledBytes: 0, peakLiveBytes: 0, allocatedBytes: 0 };

  constructor(
    private device: GPUDevice,
    private usage: GPUBufferUsageFlags,
    private label: string,
  ) {}

  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) {
      this.stats.pooledBytes -= size;
    } else {
      buf = this.device.createBuffer({ size, usage: this.usage, label: `${this.label}:${size}` });
      this.stats.allocatedBytes += size;
    }
    this.stats.liveBytes += size;
    this.stats.liveBuffers += 1;
    this.stats.peakLiveBytes = Math.max(this.stats.peakLiveBytes, this.stats.liveBytes);
    return buf;
  }

  release(buf: GPUBuffer): void {
    const size = buf.size;
    this.stats.liveBytes -= size;
    this.stats.liveBuffers -= 1;
    this.stats.pooledBytes += size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf);
  }

  /** Destroys every pooled (not live) buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.stats.allocatedBytes -= this.stats.pooledBytes;
    this.stats.pooledBytes = 0;
    this.free.clear();
  }

  snapshot(): PoolStats {
    return { ...this.stats };
  }

  resetPeak(): void {
    this.stats.peakLiveBytes = this.stats.liveBytes;
  }
}
