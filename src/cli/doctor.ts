/**
 * `cacnet doctor`: which adapter we run on, its limits and features, and a small
 * self-check of the kernels against float64 CPU results.
 */
import { Runtime } from '../gpu/runtime.js';
import { Tensor } from '../gpu/tensor.js';
import { tidy } from '../gpu/scope.js';
import { mulberry32 } from '../base/random.js';
import { matmul } from '../kernels/matmul.js';
import { sumAxes } from '../kernels/reduce.js';
import { binary } from '../kernels/elementwise.js';
import type { Command } from './run-command.js';

interface Check {
  name: string;
  maxError: number;
  ok: boolean;
}

async function selfCheck(rt: Runtime): Promise<Check[]> {
  const r = mulberry32(7);
  const rand = (n: number) => Float32Array.from({ length: n }, () => r() * 2 - 1);
  const checks: Check[] = [];
  const compare = (name: string, got: Float32Array, want: Float64Array, tol: number) => {
    let maxError = 0;
    for (let i = 0; i < want.length; i++) maxError = Math.max(maxError, Math.abs(got[i]! - want[i]!));
    checks.push({ name, maxError, ok: maxError <= tol && got.length === want.length });
  };

  const [M, K, N] = [67, 45, 33];
  const a = rand(M * K), b = rand(K * N);
  const want = new Float64Array(M * N);
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) want[m * N + n] += a[m * K + k]! * b[k * N + n]!;
  const c = tidy(() => matmul(Tensor.from(rt, a, [M, K]), Tensor.from(rt, b, [K, N])));
  compare(`matmul ${M}x${K}x${N}`, await c.readF32(), want, 1e-4);
  c.dispose();

  const x = rand(100_003);
  const s = tidy(() => sumAxes(Tensor.from(rt, x, [x.length])));
  compare('sum of 100003', await s.readF32(), Float64Array.of(x.reduce((p, v) => p + v, 0)), 1e-2);
  s.dispose();

  const y = tidy(() => binary('mul', Tensor.from(rt, x, [x.length]), Tensor.from(rt, x, [x.length]), 'a * b'));
  compare('elementwise 100003', await y.readF32(), Float64Array.from(x, (v) => v * v), 1e-6);
  y.dispose();
  return checks;
}

export const doctor: Command = {
  name: 'doctor',
  summary: 'show the WebGPU adapter, its limits and features, and self-check the kernels',
  usage: 'cacnet doctor [--swiftshader] [--robust]',
  options: { swiftshader: { type: 'boolean' }, robust: { type: 'boolean' }, json: { type: 'boolean' } },
  help: [
    '  --swiftshader  use the SwiftShader CPU adapter even when a GPU is present',
    '  --robust       keep Dawn robustness (bounds clamping) on',
    '  --json         print the report as JSON',
  ],
  async run(v) {
    const rt = await Runtime.create({ adapter: v.swiftshader ? 'swiftshader' : 'auto', robustness: !!v.robust });
    const d = rt.description;
    const L = rt.limits;
    const checks = await selfCheck(rt);
    const report = {
      adapter: d,
      limits: {
        maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
        maxBufferSize: L.maxBufferSize,
        maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension,
        maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
      },
      features: [...rt.features].sort(),
      checks,
    };
    rt.destroy();
    if (v.json) {
      console.log(JSON.stringify(report, null, 2));
    } else {
      console.log(`adapter     ${d.description || d.vendor} (${d.vendor}${d.architecture ? `, ${d.architecture}` : ''})${d.isSoftware ? ' [software: SwiftShader CPU fallback]' : ''}`);
      for (const line of d.tried) console.log(`tried       ${line}`);
      console.log(`platform    ${d.platform}, robustness ${d.robustness ? 'on' : 'off (kernels bounds-check themselves)'}`);
      for (const [k, val] of Object.entries(report.limits)) console.log(`limit       ${k.padEnd(36)} ${val >= 2 ** 20 ? `${(val / 2 ** 20).toFixed(0)} MiB` : val}`);
      console.log(`features    ${report.features.join(', ') || '(none)'}`);
      for (const c of checks) console.log(`self-check  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(24)} max error ${c.maxError.toExponential(2)}`);
    }
    if (checks.some((c) => !c.ok)) process.exitCode = 1;
  },
};
