import { describe, expect, it } from 'vitest';
import { InputError } from '../src/base/errors.js';
import { fCdf, fQuantile, logGamma } from '../src/scoring/distributions.js';
import { blandAltman, icc, iccAgreement, weightedKappa, weightedKappaFromTable } from '../src/scoring/stats.js';

// Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
const SHROUT_FLEISS = [
  [9, 2, 5, 8],
  [6, 1, 3, 2],
  [8, 4, 6, 8],
  [7, 1, 2, 6],
  [10, 5, 6, 9],
  [6, 2, 4, 7],
];

describe('F distribution', () => {
  it('matches printed table values', () => {
    expect(Math.exp(logGamma(5))).toBeCloseTo(24, 10);
    expect(Math.exp(logGamma(0.5))).toBeCloseTo(Math.sqrt(Math.PI), 10);
    // F(0.975; 5, 15) = 3.576 and F(0.95; 1, 1) = 161.4 in standard F tables.
    expect(fQuantile(0.975, 5, 15)).toBeCloseTo(3.576, 3);
    expect(fQuantile(0.95, 1, 1)).toBeCloseTo(161.45, 2);
    expect(fCdf(fQuantile(0.3, 2.5, 7.3), 2.5, 7.3)).toBeCloseTo(0.3, 10);
  });
});

describe('ICC on Shrout & Fleiss Table 2', () => {
  it('gives ICC(1,1) = 0.17, ICC(2,1) = ICC(A,1) = 0.29, ICC(3,1) = ICC(C,1) = 0.71', () => {
    expect(icc(SHROUT_FLEISS, 'ICC1').value).toBeCloseTo(0.17, 2);
    expect(icc(SHROUT_FLEISS, 'A1').value).toBeCloseTo(0.29, 2);
    expect(icc(SHROUT_FLEISS, 'C1').value).toBeCloseTo(0.71, 2);
  });

  it('has the 95 % intervals printed by R psych::ICC for the same data', () => {
    // psych::ICC(sf): ICC1 [-0.133, 0.72], ICC2 [0.019, 0.76], ICC3 [0.342, 0.95]; F = 11.0 on (5, 15).
    const i1 = icc(SHROUT_FLEISS, 'ICC1');
    const a1 = icc(SHROUT_FLEISS, 'A1');
    const c1 = icc(SHROUT_FLEISS, 'C1');
    expect(i1.lower).toBeCloseTo(-0.133, 3);
    expect(i1.upper).toBeCloseTo(0.72, 2);
    expect(a1.lower).toBeCloseTo(0.019, 3);
    expect(a1.upper).toBeCloseTo(0.76, 2);
    expect(c1.lower).toBeCloseTo(0.342, 3);
    expect(c1.upper).toBeCloseTo(0.95, 2);
    expect(a1.f).toBeCloseTo(11.03, 2);
    expect([a1.df1, a1.df2]).toEqual([5, 15]);
  });

  it('is 1 for perfect agreement, lower for a constant offset, and checks its input', () => {
    const ref = [0, 12.5, 80, 310, 950];
    expect(iccAgreement(ref, ref).value).toBeCloseTo(1, 12);
    const shifted = ref.map((x) => x + 50);
    // A constant offset is perfect consistency but not absolute agreement.
    expect(icc(shifted.map((m, i) => [m, ref[i]!]), 'C1').value).toBeCloseTo(1, 12);
    expect(iccAgreement(shifted, ref).value).toBeLessThan(1);
    expect(() => iccAgreement([1, 2], [1])).toThrow(InputError);
    expect(() => icc([[1, 2]])).toThrow(/at least 2 targets/);
  });
});

describe('linearly weighted kappa', () => {
  it('matches a 3x3 example computed by hand', () => {
    const table = [
      [10, 2, 0],
      [3, 8, 2],
      [0, 1, 4],
    ];
    // n = 30; rows (12, 13, 5), columns (13, 11, 6); disagreement weights |i - j|.
    // Observed: cells one apart hold 2 + 3 + 2 + 1 = 8, two apart 0 -> 8 / 30.
    // Expected: 12*11 + 2*12*6 + 13*13 + 13*6 + 2*5*13 + 5*11 = 708 -> 708 / 900.
    const byHand = 1 - 8 / 30 / (708 / 900);
    expect(weightedKappaFromTable(table, 'linear')).toBeCloseTo(byHand, 12);
    // The same from raw ratings.
    const a: number[] = [];
    const b: number[] = [];
    table.forEach((row, i) => row.forEach((c, j) => {
      for (let t = 0; t < c; t++) { a.push(i); b.push(j); }
    }));
    expect(weightedKappa(a, b, 3)).toBeCloseTo(byHand, 12);
  });

  it('matches published examples (SAS PROC FREQ via statsmodels; R irr::kappa2)', () => {
    // SAS weighted kappa (Cicchetti-Allison = linear weights) on this table: 0.4701; simple kappa 0.4842.
    const sas = [
      [0, 4, 1],
      [0, 8, 0],
      [0, 1, 5],
    ];
    expect(weightedKappaFromTable(sas, 'linear')).toBeCloseTo(0.4701, 4);
    expect(weightedKappaFromTable(sas, 'unweighted')).toBeCloseTo(0.4842, 4);
    // irr::kappa2(..., weight = "equal") on a 6-category table of 100 subjects: 0.316.
    const irr = [
      [5, 8, 1, 2, 4, 2],
      [3, 5, 3, 5, 5, 0],
      [1, 2, 6, 11, 2, 1],
      [0, 1, 5, 4, 3, 3],
      [0, 0, 1, 2, 5, 2],
      [0, 0, 1, 2, 1, 4],
    ];
    expect(weightedKappaFromTable(irr, 'linear')).toBeCloseTo(0.316, 3);
  });

  it('is 1 for identical risk categories and rejects codes off the scale', () => {
    expect(weightedKappa([0, 1, 2, 3, 4, 2], [0, 1, 2, 3, 4, 2], 5)).toBe(1);
    expect(() => weightedKappa([0, 5], [0, 1], 5)).toThrow(/not a category in 0\.\.4/);
  });
});

describe('Bland-Altman', () => {
  it('matches a hand example', () => {
    // Differences 2, 0, -1, 3: bias 1; squared deviations 1 + 1 + 4 + 4 = 10, sd = sqrt(10 / 3).
    const r = blandAltman([10, 12, 9, 15], [8, 12, 10, 12]);
    const sd = Math.sqrt(10 / 3);
    expect(r.bias).toBeCloseTo(1, 12);
    expect(r.sd).toBeCloseTo(sd, 12);
    expect(r.lower).toBeCloseTo(1 - 1.96 * sd, 12);
    expect(r.upper).toBeCloseTo(1 + 1.96 * sd, 12);
    expect(r.means).toEqual([9, 12, 9.5, 13.5]);
    expect(() => blandAltman([1], [1])).toThrow(InputError);
  });
});
