import { describe, expect, it } from 'vitest';
import { CALIBRATION_GRID, searchOperatingPoint } from '../src/net/calibrate.js';

describe('choosing the operating point', () => {
  it('finds each artery\'s best threshold from the best shared one', () => {
    // A separable score peaking at LAD 0.8, LCX 0.7, RCA 0.9.
    const target = [0.8, 0.7, 0.9];
    let calls = 0;
    const judge = (point: number[]) => {
      calls++;
      return { point, weakest: -point.reduce((s, t, a) => s + (t - target[a]!) ** 2, 0) };
    };
    const { shared, best } = searchOperatingPoint(judge, CALIBRATION_GRID);
    expect(shared.map((r) => r.point[0])).toEqual(CALIBRATION_GRID);
    expect(shared.every((r) => r.point.every((t) => t === r.point[0]))).toBe(true);
    // The best shared threshold is the targets' mean, 0.8; per artery each reaches its own.
    expect(shared.reduce((a, b) => (b.weakest > a.weakest ? b : a)).point).toEqual([0.8, 0.8, 0.8]);
    expect(best.point).toEqual(target);
    expect(best.weakest).toBeCloseTo(0, 12);
    // The grid once shared, then two rounds over three arteries of the other values: nothing judged twice.
    expect(calls).toBe(CALIBRATION_GRID.length + 2 * 3 * (CALIBRATION_GRID.length - 1));
  });

  it('on a tie keeps the lowest shared threshold and moves no artery', () => {
    const { best } = searchOperatingPoint((point) => ({ point, weakest: 0.5 }), CALIBRATION_GRID);
    expect(best.point).toEqual([0.5, 0.5, 0.5]);
  });

  it('tries every noise margin on the shared thresholds, then tunes the arteries at the best one', () => {
    // Best at margin 1.5 (LAD 0.8, LCX 0.7, RCA 0.9); margin 0 and 3 are worse everywhere.
    const target = [0.8, 0.7, 0.9];
    const margins: number[] = [];
    const judge = (point: number[], m: number) => {
      margins.push(m);
      return { point, weakest: -Math.abs(m - 1.5) - point.reduce((s, t, a) => s + (t - target[a]!) ** 2, 0) };
    };
    const { shared, best } = searchOperatingPoint(judge, CALIBRATION_GRID, [0, 1.5, 3]);
    expect(shared.map((r) => r.noiseMargin)).toEqual([0, 1.5, 3].flatMap((m) => CALIBRATION_GRID.map(() => m)));
    expect([best.noiseMargin, ...best.point]).toEqual([1.5, ...target]);
    // After the shared sweep, every trial is at the chosen margin.
    expect(margins.slice(3 * CALIBRATION_GRID.length).every((m) => m === 1.5)).toBe(true);
    // On a tie the smallest margin (keep every lesion) wins.
    expect(searchOperatingPoint((point) => ({ point, weakest: 0 }), CALIBRATION_GRID, [0, 1, 2]).best.noiseMargin).toBe(0);
  });
});
