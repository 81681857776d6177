/**
 * The issue's targets, judged from one run's results. Every miss says by how
 * much, with the profile numbers that explain it (achieved rate against the
 * roofline, dispatches and submits per call); the hand-written analysis of why
 * lives in bench/analysis.md and is copied into RESULTS.md.
 */
import type { Engine, RowResult } from './lib/harness.js';
import { mib, roofFraction, timingOf, type BenchResults, type Target } from './lib/report.js';

const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '—');
const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '—');

interface ConvTotal {
  layer: string;
  dims: 2 | 3;
  ours: number;
  theirs: number;
  parts: Record<string, { ours: number; theirs: number; roof: number; dispatches?: number }>;
}

/** fwd + dX + dW per layer: the sum of the three rows' medians, per engine. */
function convTotals(res: BenchResults, engine: Engine): ConvTotal[] {
  const byLayer = new Map<string, RowResult[]>();
  for (const r of res.rows) if (r.row.conv) byLayer.set(r.row.conv.layer, [...(byLayer.get(r.row.conv.layer) ?? []), r]);
  const out: ConvTotal[] = [];
  for (const [layer, rows] of byLayer) {
    if (rows.length !== 3) continue;
    const t: ConvTotal = { layer, dims: rows[0]!.row.conv!.dims, ours: 0, theirs: 0, parts: {} };
    for (const r of rows) {
      const o = timingOf(r, 'cacnet')?.median ?? NaN;
      const th = timingOf(r, engine)?.median ?? NaN;
      t.ours += o;
      t.theirs += th;
      t.parts[r.row.conv!.pass] = { ours: o, theirs: th, roof: roofFraction(r, 'cacnet', res.roofline), dispatches: r.counters?.dispatches };
    }
    out.push(t);
  }
  return out;
}

function convTarget(res: BenchResults, dims: 2 | 3, goal: number): Target[] {
  const totals = convTotals(res, 'tfjs-webgpu').filter((t) => t.dims === dims);
  if (totals.length === 0) {
    return [{ name: `conv${dims}d forward+dX+dW vs tfjs webgpu`, goal: `>= ${goal}x`, measured: 'not run', met: null, why: 'no conv rows in this run (--only, or the conv kernels are missing)' }];
  }
  return totals.map((t) => {
    const ratio = t.theirs / t.ours;
    const met = Number.isFinite(ratio) ? ratio >= goal : null;
    const parts = Object.entries(t.parts).map(([p, v]) => `${p} ${x(v.theirs / v.ours)} (cacnet at ${pct(v.roof)} of FMA${v.dispatches !== undefined ? `, ${v.dispatches} dispatches` : ''})`).join('; ');
    const why = met === false
      ? `missed by ${x(goal / ratio)} (needs ${(goal / ratio).toFixed(2)}x more speed-up). Per pass: ${parts}. See Analysis.`
      : `per pass: ${parts}`;
    return { name: `conv${dims}d ${t.layer}: forward+dX+dW vs tfjs webgpu`, goal: `>= ${goal}x`, measured: x(ratio), met, why };
  });
}

function fmaTarget(res: BenchResults): Target[] {
  const rows = res.rows.filter((r) => r.row.conv?.dims === 3 && r.row.conv.cin === 16 && r.row.conv.cout === 16);
  if (rows.length === 0) return [{ name: 'conv3d 16->16 3x3x3 at >= 40% of the FMA rate', goal: '>= 40%', measured: 'not run', met: null, why: 'no 16->16 conv3d rows in this run' }];
  const layers = [...new Set(rows.map((r) => r.row.conv!.layer))];
  return layers.map((layer) => {
    const mine = rows.filter((r) => r.row.conv!.layer === layer);
    const fwd = mine.find((r) => r.row.conv!.pass === 'forward');
    const f = fwd ? roofFraction(fwd, 'cacnet', res.roofline) : NaN;
    const others = mine.filter((r) => r !== fwd).map((r) => `${r.row.conv!.pass} ${pct(roofFraction(r, 'cacnet', res.roofline))}`).join(', ');
    const met = Number.isFinite(f) ? f >= 0.4 : null;
    const gflops = fwd && res.roofline ? f * res.roofline.fmaGflops : NaN;
    const why = `forward ${Number.isFinite(gflops) ? gflops.toFixed(1) : '—'} GFLOP/s of ${res.roofline?.fmaGflops.toFixed(1) ?? '—'}` +
      `${fwd?.counters ? `, ${fwd.counters.dispatches} dispatches` : ''}; ${others}` +
      (met === false ? `; missed by ${(0.4 / f).toFixed(2)}x (${pct(0.4 - f)} points). See Analysis.` : '');
    return { name: `conv3d 16->16 3x3x3 (${layer}) forward at >= 40% of the FMA rate`, goal: '>= 40%', measured: pct(f), met, why };
  });
}

function networkTargets(res: BenchResults): Target[] {
  const n = res.network;
  if (!n) return [{ name: 'training step vs tfjs webgpu', goal: '>= 3x, 1 submit, flat live bytes', measured: 'not run', met: null, why: 'no network suite in this run' }];
  const ours = n.step.find((t) => t.engine === 'cacnet')?.median ?? NaN;
  const theirs = n.step.find((t) => t.engine === 'tfjs-webgpu')?.median ?? NaN;
  const ratio = theirs / ours;
  const speedMet = Number.isFinite(ratio) ? ratio >= 3 : null;
  const per = n.oursPerStep;
  const m = n.memory;
  return [
    {
      name: `CAC-Net training step (${n.config}, patch ${n.patch.join('x')}) vs tfjs webgpu`,
      goal: '>= 3x',
      measured: x(ratio),
      met: speedMet,
      why: speedMet === false
        ? `missed by ${x(3 / ratio)}: cacnet ${per.dispatches} dispatches a step; see the op rows and Analysis`
        : `cacnet ${per.dispatches} dispatches, ${per.submits} submit(s) a step`,
    },
    {
      name: 'one submit per training step',
      goal: '1',
      measured: `${per.submits} submit(s), ${per.readbacks} readback(s)`,
      met: per.submits === 1,
      why: per.submits === 1 ? 'the loss readback is the only submit' : `${per.submits - 1} extra submit(s) a step: something reads back or flushes mid-step`,
    },
    {
      name: 'live GPU bytes flat across steps',
      goal: `after step ${m.steps} = after step 1`,
      measured: `${mib(m.oursLiveAfterFirst)} -> ${mib(m.oursLiveAfterLast)}`,
      met: m.oursLiveAfterFirst === m.oursLiveAfterLast,
      why: m.oursLiveAfterFirst === m.oursLiveAfterLast ? `peak ${mib(m.oursPeakBytes)} during a step` : `grew by ${mib(m.oursLiveAfterLast - m.oursLiveAfterFirst)} over ${m.steps - 1} steps: a leak`,
    },
  ];
}

export function evaluateTargets(res: BenchResults): { targets: Target[]; notes: string[] } {
  const targets = [...convTarget(res, 3, 5), ...convTarget(res, 2, 2), ...fmaTarget(res), ...networkTargets(res)];
  const notes: string[] = [];
  if (res.env.software) {
    notes.push('This run had no GPU. Real-GPU numbers (NVIDIA H200, PyTorch/cuDNN ratio) from `bench/gpu-run.sh` are in `bench/gpu-results/` and summarised in the Analysis below.');
  }
  return { targets, notes };
}
