/**
 * `cacnet batch`: the study list and its shards (exact partition), and a real
 * run in a child process: a corrupt study is reported and the others scored,
 * a run killed midway resumes without scoring a finished study again, and
 * shard CSVs concatenate into the cohort's.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listStudies, parseShard, shardStudies, type Study } from '../src/cli/batch-studies.js';
import { InputError } from '../src/base/errors.js';
import { readNifti } from '../src/io/nifti-file.js';
import { cliCommand, REPO, runCli } from './helpers/cli.js';
import { writeTinyStudy } from './helpers/tiny-study.js';

/** The small-grid network: this file tests the cohort plumbing, which does not need the scanner network's minutes. */
const SMALL_WEIGHTS = join(REPO, 'weights', 'cacnet-small.safetensors');

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(name: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `cacnet-${name}-`));
  dirs.push(d);
  return d;
}

/** CSV rows as objects (the batch CSV quotes fields with commas; ours here have none but the error). */
function parseCsv(text: string): Array<Record<string, string>> {
  const [head, ...rows] = text.trim().split('\n');
  const split = (line: string) => [...line.matchAll(/("([^"]|"")*"|[^,]*)(,|$)/g)].map((m) => m[1]!.replace(/^"|"$/g, '').replaceAll('""', '"')).slice(0, -1);
  const cols = split(head!);
  return rows.map((r) => Object.fromEntries(split(r).map((v, i) => [cols[i]!, v])));
}

describe('batch study list and shards', () => {
  it('every study is in exactly one shard, shards differ in size by at most one, whatever the input order', () => {
    const studies: Study[] = Array.from({ length: 23 }, (_, k) => ({ id: `p${String((k * 7) % 23).padStart(2, '0')}`, path: `/x/${k}` }));
    for (const n of [1, 2, 3, 7, 23, 30]) {
      const shards = Array.from({ length: n }, (_, i) => shardStudies(studies, parseShard(`${i}/${n}`)));
      const ids = shards.flat().map((s) => s.id);
      expect(ids.length).toBe(23);
      expect(new Set(ids).size).toBe(23);
      const sizes = shards.map((s) => s.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      // The same split from a reversed list: each machine of a job array may list the folder in its own order.
      const again = Array.from({ length: n }, (_, i) => shardStudies([...studies].reverse(), parseShard(`${i}/${n}`)).map((s) => s.id));
      expect(again).toEqual(shards.map((s) => s.map((x) => x.id)));
    }
    // Sorted ids, round robin: shard 1 of 3 holds the 2nd, 5th, 8th... ids.
    expect(shardStudies(studies, { index: 1, count: 3 }).map((s) => s.id).slice(0, 3)).toEqual(['p01', 'p04', 'p07']);
    for (const bad of ['3/3', '-1/2', '1', 'a/b', '0/0']) expect(() => parseShard(bad)).toThrow(/--shard must be i\/n with 0 <= i < n/);
  });

  it('lists a folder of studies and a list file; refuses ids that would collide', async () => {
    const root = await tempDir('list');
    await mkdir(join(root, 'cohort', 'b-study', 'deep'), { recursive: true });
    await mkdir(join(root, 'cohort', 'a-study'));
    await writeFile(join(root, 'cohort', 'c.nii.gz'), 'x');
    await writeFile(join(root, 'cohort', 'readme.txt'), 'not a study');
    const folder = await listStudies(join(root, 'cohort'));
    expect(folder).toEqual([
      { id: 'a-study', path: join(root, 'cohort', 'a-study') },
      { id: 'b-study', path: join(root, 'cohort', 'b-study') },
      { id: 'c', path: join(root, 'cohort', 'c.nii.gz') },
    ]);
    await writeFile(join(root, 'list.txt'), '# cohort A\ncohort/b-study\n\n  /abs/zeta.nii  \ncohort/a-study/\n');
    expect(await listStudies(join(root, 'list.txt'))).toEqual([
      { id: 'a-study', path: join(root, 'cohort', 'a-study') },
      { id: 'b-study', path: join(root, 'cohort', 'b-study') },
      { id: 'zeta', path: '/abs/zeta.nii' },
    ]);
    await writeFile(join(root, 'dup.txt'), 'x/scan.nii.gz\ny/scan\n');
    await expect(listStudies(join(root, 'dup.txt'))).rejects.toThrow(/two studies would share the id 'scan'/);
    await expect(listStudies(join(root, 'nope'))).rejects.toThrow(InputError);
  });
});

describe('cacnet batch (child process)', () => {
  it('a corrupt study fails alone; a run killed midway resumes; shard CSVs make the cohort CSV', { timeout: 900_000 }, async () => {
    const root = await tempDir('batch');
    const cohort = join(root, 'cohort');
    await writeTinyStudy(join(cohort, 'study-1'), 1);
    await writeTinyStudy(join(cohort, 'study-2'), 2);
    await mkdir(join(cohort, 'broken'));
    await writeFile(join(cohort, 'broken', 'IM1'), new Uint8Array(300).fill(7).map((v, i) => (i >= 128 && i < 132 ? 'DICM'.charCodeAt(i - 128) : v)));
    const out = join(root, 'out');

    // First run: killed as soon as the first study's report exists (the others not done yet).
    const child = spawn(process.execPath, [...cliCommand(), 'batch', cohort, '--out', out, '--weights', SMALL_WEIGHTS], { cwd: REPO, stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const firstReport = join(out, 'study-1', 'study-1.json');
    while (!existsSync(firstReport) && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(firstReport)).toBe(true);
    expect(existsSync(join(out, 'study-2', 'study-2.json'))).toBe(false);
    const firstWritten = await readFile(firstReport, 'utf8');

    // Second run: study-1 is read back, study-2 scored, broken reported; exit 1 for the failure.
    const second = await runCli(['batch', cohort, '--out', out, '--weights', SMALL_WEIGHTS], 600_000);
    expect(second.code, second.stderr).toBe(1);
    expect(second.stdout).toMatch(/^done {3}study-1: finished in an earlier run$/m);
    expect(second.stdout).toMatch(/^ok {5}study-2: Agatston /m);
    expect(second.stdout).toMatch(/^FAILED broken: .*broken[/\\]IM1: DICOM meta header has no transfer syntax \(0002,0010\); truncated file\?$/m);
    expect(second.stdout).toMatch(/1 scored, 1 already done, 1 failed; wrote .*cohort\.csv$/m);
    expect(await readFile(firstReport, 'utf8')).toBe(firstWritten);

    const rows = parseCsv(await readFile(join(out, 'cohort.csv'), 'utf8'));
    expect(rows.map((r) => [r.id, r.status])).toEqual([
      ['broken', 'error'],
      ['study-1', 'ok'],
      ['study-2', 'ok'],
    ]);
    expect(rows[0]!.error).toMatch(/IM1: DICOM meta header has no transfer syntax/);
    for (const r of rows.slice(1)) {
      expect(r.series_number).toBe('2');
      expect(r.kvp).toBe('120');
      expect(r.slice_thickness_mm).toBe('3');
      const report = JSON.parse(await readFile(join(out, r.id!, `${r.id}.json`), 'utf8'));
      expect(Number(r.total_agatston)).toBeCloseTo(report.total.agatston, 3);
      expect(Number(r.RCA_volume_mm3)).toBeCloseTo(report.perArtery.RCA.volumeMm3, 3);
      expect(report.meta.acquisition.seriesUid).toBe(r.series_uid);
      // How the labels were kept: the small-grid weights have no noise margin and no gate, so nothing was set aside.
      expect(report.meta.extra.setAside).toEqual({ belowFloor: 0, partOfBone: 0, farFromArteries: 0 });
      expect(report.meta.extra.lesionPeakFloorHU).toBe(130);
      expect(report.meta.extra.noiseHU).toBeGreaterThan(5);
      const labels = await readNifti(join(out, r.id!, `${r.id}_labels.nii.gz`));
      expect(labels.dims).toEqual([64, 64, 16]);
    }
    // No temporary file survives the resumed run.
    const leftovers = (await readdir(out, { recursive: true })).filter((f) => String(f).endsWith('.tmp'));
    expect(leftovers).toEqual([]);

    // Shards over the same output: everything is done, so they only read reports back.
    const shardRows: Array<Record<string, string>> = [];
    for (const i of [0, 1]) {
      const r = await runCli(['batch', cohort, '--out', out, '--shard', `${i}/2`, '--weights', SMALL_WEIGHTS], 600_000);
      expect(r.stdout).toMatch(new RegExp(`3 studies; shard ${i}/2 takes ${i === 0 ? 2 : 1}`));
      shardRows.push(...parseCsv(await readFile(join(out, `cohort-shard-${i}-of-2.csv`), 'utf8')));
    }
    // Concatenated (header once), the shard CSVs hold the cohort CSV's rows.
    const byId = (a: Record<string, string>, b: Record<string, string>) => (a.id! < b.id! ? -1 : 1);
    expect(shardRows.sort(byId).map((r) => ({ ...r, seconds: '' }))).toEqual(rows.map((r) => ({ ...r, seconds: '' })));
  });
});
