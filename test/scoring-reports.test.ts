import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/base/errors.js';
import { scalingAffine, type LabelMap, type Volume } from '../src/io/volume.js';
import { evaluateScan } from '../src/scoring/evaluate.js';
import { renderMontage } from '../src/scoring/montage.js';
import { cohortCsv } from '../src/scoring/report-csv.js';
import { scanReport } from '../src/scoring/report-json.js';
import { writeCohortCsv, writeMontagePng, writeScanReportJson } from '../src/scoring/report-files.js';
import { scoreScan } from '../src/scoring/score.js';

const dir = mkdtempSync(join(tmpdir(), 'cacnet-scoring-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 12 x 10 x 4 scan, 1 mm voxels: an LAD lesion in slice 1, an RCA lesion in slice 2, bone in slice 3. */
function makeScan() {
  const dims: [number, number, number] = [12, 10, 4];
  const spacing: [number, number, number] = [1, 1, 1];
  const n = 480;
  const data = new Float32Array(n).map((_, i) => -20 + (i % 9) * 10); // -20..60 HU
  const ct: Volume = { data, dims, spacing, affine: scalingAffine(spacing), source: 'reports' };
  const labels: LabelMap = { data: new Uint8Array(n), dims, spacing, affine: scalingAffine(spacing) };
  const at = (i: number, j: number, k: number) => i + 12 * (j + 10 * k);
  for (const [i, j] of [[3, 2], [4, 2], [3, 3], [4, 3]] as const) {
    ct.data[at(i, j, 1)] = 450;
    labels.data[at(i, j, 1)] = 1;
  }
  for (const [i, j] of [[8, 6], [9, 6], [8, 7]] as const) {
    ct.data[at(i, j, 2)] = 220;
    labels.data[at(i, j, 2)] = 3;
  }
  ct.data[at(6, 6, 3)] = 900; // bone: bright, unlabelled
  return { ct, labels, at };
}

describe('JSON report', () => {
  it('holds scores, lesions without voxel lists, conventions and metadata', async () => {
    const { ct, labels } = makeScan();
    const s = scoreScan(ct, labels);
    const path = join(dir, 'scan.json');
    await writeScanReportJson(path, s, { id: 'scan-1', source: ct.source, dims: ct.dims, spacing: ct.spacing });
    const parsed = JSON.parse(readFileSync(path, 'utf8'));
    expect(parsed.format).toBe('cacnet-scan-report/1');
    expect(parsed.meta.id).toBe('scan-1');
    expect(parsed.conventions.sliceThicknessNormalisation).toBe('area x weight x (dz / 3 mm), dz = 1 mm');
    expect(parsed.perArtery.LAD.agatston).toBeCloseTo((4 * 4) / 3, 10); // 4 mm^2 x weight 4 x 1/3
    expect(parsed.lesions).toHaveLength(2);
    expect(parsed.lesions[0].voxelIndices).toBeUndefined();
    expect(parsed.lesions[0].centroidMm).toEqual([3.5, 2.5, 1]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('adds the evaluation, with undefined ratios as null', () => {
    const { ct, labels } = makeScan();
    const e = evaluateScan(ct, labels, labels);
    const r = JSON.parse(JSON.stringify(scanReport(e.predicted, { id: 'x' }, e)));
    expect(r.evaluation.metrics.sensitivity).toBe(1);
    expect(r.evaluation.perArtery.LCX.metrics.sensitivity).toBeNull();
    expect(r.evaluation.matchingRule).toMatch(/same artery/);
  });
});

describe('CSV report', () => {
  it('has one row per scan with per-artery and reference columns', async () => {
    const { ct, labels } = makeScan();
    const s = scoreScan(ct, labels);
    const empty = { ...labels, data: new Uint8Array(labels.data.length) };
    const none = scoreScan(ct, empty);
    const path = join(dir, 'cohort.csv');
    await writeCohortCsv(path, [
      { id: 'a', score: s, reference: none },
      { id: 'b,"quoted"', score: none },
    ]);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const header = lines[0]!.split(',');
    expect(header.slice(0, 5)).toEqual(['id', 'LAD_agatston', 'LAD_volume_mm3', 'LAD_mass_mg', 'LAD_lesions']);
    expect(header).toContain('ref_total_agatston');
    expect(header).toHaveLength(1 + 2 * 18);
    const row = lines[1]!.split(',');
    const col = (name: string) => row[header.indexOf(name)];
    expect(col('LAD_agatston')).toBe('5.3333');
    expect(col('LAD_volume_mm3')).toBe('4');
    expect(col('LAD_mass_mg')).toBe('1.8'); // 4 mm^3 x 450 HU x 0.001
    expect(col('RCA_agatston')).toBe('2'); // 3 mm^2 x 2 x 1/3
    expect(col('total_lesions')).toBe('2');
    expect(col('risk_category')).toBe('1');
    expect(col('ref_total_agatston')).toBe('0');
    expect(col('ref_risk_label')).toBe('0 (none)');
    expect(lines[2]!.startsWith('"b,""quoted""",0,')).toBe(true);
    expect(lines[2]!.endsWith(',,')).toBe(true); // no reference for b
    expect(cohortCsv([{ id: 'c', score: s }]).split('\n')[0]).not.toContain('ref_');
  });
});

describe('PNG montage', () => {
  const pixel = (png: PNG, x: number, y: number) => {
    const o = 4 * (y * png.width + x);
    return [png.data[o], png.data[o + 1], png.data[o + 2]];
  };

  it('shows the calcium slices with LAD red and RCA green', async () => {
    const { ct, labels } = makeScan();
    const path = join(dir, 'montage.png');
    const m = await writeMontagePng(path, ct, labels);
    expect(m.slices).toEqual([1, 2]);
    const png = PNG.sync.read(readFileSync(path));
    expect([png.width, png.height]).toEqual([m.width, m.height]);
    const lad = m.tiles.find((t) => t.z === 1)!;
    const rca = m.tiles.find((t) => t.z === 2)!;
    for (const [i, j] of [[3, 2], [4, 3]]) expect(pixel(png, lad.x + i, lad.y + j)).toEqual([255, 0, 0]);
    expect(pixel(png, rca.x + 8, rca.y + 6)).toEqual([0, 255, 0]);
    // Below the legend band, red appears only where the LAD lesion is: its 4 voxels.
    let red = 0;
    for (let y = 10; y < png.height; y++) for (let x = 0; x < png.width; x++) {
      const [r, g, b] = pixel(png, x, y);
      if (r === 255 && g === 0 && b === 0) red++;
    }
    expect(red).toBe(4);
    // Window W 800 / L 200: soft tissue is dark grey, not black or white.
    const [g0] = pixel(png, lad.x + 0, lad.y + 0);
    expect(g0).toBeGreaterThan(40);
    expect(g0).toBeLessThan(90);
  });

  it('adds a reference row and downsamples without losing calcium', () => {
    const { ct, labels } = makeScan();
    const m = renderMontage(ct, labels, { reference: labels, maxTileSize: 6 });
    expect(m.blockSize).toBe(2);
    expect(m.tiles.map((t) => [t.z, t.row])).toEqual([[1, 0], [1, 1], [2, 0], [2, 1]]);
    const png = PNG.sync.read(m.png);
    for (const t of m.tiles.filter((t) => t.z === 1)) {
      expect(pixel(png, t.x + Math.floor(3 / 2), t.y + Math.floor(2 / 2))).toEqual([255, 0, 0]);
    }
    expect(() => renderMontage(ct, labels, { window: { width: 0, level: 40 } })).toThrow(InputError);
  });
});
