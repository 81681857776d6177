/** What every convolution family takes: the problem's geometry, and the knobs tests and probes may turn. */
import type { KernelFamily } from '../gpu/profile.js';

export interface ConvGeometry {
  n: number;
  d: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  kd: number;
  kh: number;
  kw: number;
}

/** Knobs for tests and probes; production code passes nothing. */
export interface ConvOptions {
  /** Kernel family (default: the runtime profile's). */
  family?: KernelFamily;
  /** swiftshader family: use quadBroadcast (default: when the device has 'subgroups'). */
  subgroups?: boolean;
  /** swiftshader family: code-size budget per chunk; lower it to exercise chunking on small shapes. */
  maxUnrolledFmas?: number;
  /** swiftshader family: workgroups striding over rows; gpu family: K splits of dW (default: planned). */
  workgroups?: number;
}
