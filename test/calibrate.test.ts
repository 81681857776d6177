import { describe, expect, it } from 'vitest';
import { CALIBRATION_GRID, searchOperatingPoint, type OperatingPoint } from '../src/net/calibrate.js';

const space = (margins: number[] = [0], gates: number[] = [Infinity]) => ({ thresholds: CALIBRATION_GRID, margins, gates });

describe('choosing the operating point', () => {
  it('finds each artery\'s best threshold from the best shared one', () => {
    // A separable score peaking at LAD 0.8, LCX 0.7, RCA 0.9.
    const target = [0.8, 0.7, 0.9];
    let calls = 0;
    const judge = (op: OperatingPoint) => {
      calls++;
      return { ...op, weakest: -op.point.reduce((s, t, a) => s + (t - target[a]!) ** 2, 0) };
    };
    const { shared, best } = searchOperatingPoint(judge, space());
    expect(shared.map((r) => r.point[0])).toEqual(CALIBRATION_GRID);
    expect(shared.every((r) => r.point.every((t) => t === r.point[0]))).toBe(true);
    // The best shared threshold is the targets' mean, 0.8; per artery each reaches its own.
    expect(shared.reduce((a, b) => (b.weakest > a.weakest ? b : a)).point).toEqual([0.8, 0.8, 0.8]);
    expect(best.point).toEqual(target);
    expect(best.weakest).toBeCloseTo(0, 12);
    // The grid once shared, then two rounds over three arteries of the other values: nothing judged twice.
    expect(calls).toBe(CALIBRATION_GRID.length + 2 * 3 * (CALIBRATION_GRID.length - 1));
  });

  it('on a tie keeps the lowest shared threshold, no gate, and moves nothing', () => {
    const { best } = searchOperatingPoint((op) => ({ ...op, weakest: 0.5 }), space([0, 1, 2], [Infinity, 5, 4]));
    expect(best).toEqual({ point: [0.5, 0.5, 0.5], noiseMargin: 0, positionGate: Infinity, weakest: 0.5 });
  });

  it('tries every noise margin on the shared thresholds, then moves margin and arteries together', () => {
    // Best at margin 1.5 (LAD 0.8, LCX 0.7, RCA 0.9); margin 0 and 3 are worse everywhere.
    const target = [0.8, 0.7, 0.9];
    const judge = (op: OperatingPoint) => ({ ...op, weakest: -Math.abs(op.noiseMargin - 1.5) - op.point.reduce((s, t, a) => s + (t - target[a]!) ** 2, 0) });
    const { shared, best } = searchOperatingPoint(judge, space([0, 1.5, 3]));
    // Thresholds outer, margins inner (a scan relabels once per threshold).
    expect(shared.map((r) => r.noiseMargin)).toEqual(CALIBRATION_GRID.flatMap(() => [0, 1.5, 3]));
    expect(shared.every((r) => r.positionGate === Infinity)).toBe(true);
    expect([best.noiseMargin, ...best.point]).toEqual([1.5, ...target]);
  });

  it('moves the margin after the shared sweep when the arteries\' thresholds change which margin is best', () => {
    // Shared thresholds favour margin 0; once the LCX alone is at 0.6 (round 1), margin 2 is better: round 2's margin move finds it.
    const judge = (op: OperatingPoint) => {
      const lcxLow = op.point[1] === 0.6 && op.point[0] !== 0.6;
      const marginScore = lcxLow ? -Math.abs(op.noiseMargin - 2) : -op.noiseMargin;
      return { ...op, weakest: (lcxLow ? 3 : 0) + marginScore - Math.abs(op.point[0]! - 0.8) - Math.abs(op.point[2]! - 0.8) };
    };
    const { best } = searchOperatingPoint(judge, space([0, 1, 2]));
    expect([best.noiseMargin, ...best.point]).toEqual([2, 0.8, 0.6, 0.8]);
  });

  it('adopts a position gate only when it strictly improves the weakest metric', () => {
    // A gate of 4 SDs removes the far false positives (+0.1); 3.5 also removes true lesions (-0.2).
    const gain = (g: number) => (g === 4 ? 0.1 : g === 3.5 ? -0.2 : g === 5 ? 0.05 : 0);
    const judge = (op: OperatingPoint) => ({ ...op, weakest: gain(op.positionGate) - Math.abs(op.point[0]! - 0.9) });
    const gates: number[] = [];
    const { shared, best } = searchOperatingPoint((op) => (gates.push(op.positionGate), judge(op)), space([0], [Infinity, 5, 4, 3.5]));
    expect(shared.every((r) => r.positionGate === Infinity)).toBe(true);
    expect([best.positionGate, best.point[0]]).toEqual([4, 0.9]);
    // Every gate is tried after the shared sweep.
    expect(new Set(gates.slice(shared.length))).toEqual(new Set([Infinity, 5, 4, 3.5]));
    // Without a gain, the gate stays off.
    expect(searchOperatingPoint((op) => ({ ...op, weakest: -Math.abs(op.point[0]! - 0.9) }), space([0], [Infinity, 5, 4])).best.positionGate).toBe(Infinity);
  });
});
