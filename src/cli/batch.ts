/**
 * `cacnet batch`: scores a cohort of studies, one after another, so that
 *
 * - one bad study never stops the others: its error becomes its line in the
 *   summary and its row in the CSV;
 * - a run resumes where it was stopped: a study's outputs go to OUT/<id>/,
 *   each file atomically and its JSON report last, so a study whose report
 *   exists is finished and is read back instead of scored again;
 * - `--shard i/n` takes this machine's share of the id-sorted list, for a
 *   Slurm job array or a Kubernetes Indexed Job (README); each shard writes
 *   its own CSV, and the shard CSVs concatenate into the cohort's.
 */
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Runtime } from '../gpu/runtime.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { CacNet } from '../net/cacnet.js';
import { scoreCt } from '../net/pipeline.js';
import { batchCsv, type BatchRow } from '../scoring/batch-csv.js';
import type { ScanReportMeta } from '../scoring/report-json.js';
import type { ScoringOptions } from '../scoring/score.js';
import { listStudies, parseShard, shardStudies, type Shard, type Study } from './batch-studies.js';
import { loadModelFile, SHIPPED_WEIGHTS } from './model-io.js';
import { UsageError, type Command } from './run-command.js';
import { MASS_HELP, MASS_OPTIONS, massScoring, readScanFor, scanMeta } from './scan-options.js';
import { writeScanOutputs } from './scan-outputs.js';
import { networkFindings } from './scan-output.js';

/** The CSV a run writes: cohort.csv, or one per shard. */
export function csvName(shard: Shard): string {
  return shard.count === 1 ? 'cohort.csv' : `cohort-shard-${shard.index}-of-${shard.count}.csv`;
}

/** The row of a study finished in an earlier run, from its JSON report; undefined when there is none. */
async function finishedRow(out: string, study: Study): Promise<BatchRow | undefined> {
  let text: string;
  try {
    text = await readFile(join(out, study.id, `${study.id}.json`), 'utf8');
  } catch {
    return undefined;
  }
  const report = JSON.parse(text) as BatchRow['score'] & { meta: ScanReportMeta };
  const extra = report.meta.extra as { seconds?: number } | undefined;
  return { id: study.id, source: study.path, score: report, acquisition: report.meta.acquisition, notes: report.meta.notes, seconds: extra?.seconds };
}

interface Network {
  rt: Runtime;
  model: CacNet;
}

/** Scores one study and writes its outputs; the row for the CSV. */
async function scoreStudy(net: Network, study: Study, out: string, weights: string, scoring: ScoringOptions): Promise<BatchRow> {
  const lines: string[] = [];
  const scan = await readScanFor(study.path, {}, (line) => lines.push(line));
  const r = await scoreCt(net.rt, net.model, scan, { scoring });
  const dir = join(out, study.id);
  await mkdir(dir, { recursive: true });
  const meta: ScanReportMeta = { id: study.id, source: study.path, dims: scan.dims, spacing: scan.spacing, software: 'cacnet batch', ...scanMeta(scan), extra: { weights, seconds: r.inferenceSeconds, ...networkFindings(r) } };
  await writeScanOutputs(dir, study.id, scan, r, meta);
  return { id: study.id, source: study.path, score: r.score, acquisition: scan.acquisition, notes: scan.notes, seconds: r.inferenceSeconds };
}

/** Temporary files a killed run left in `dir` (atomic writes of files named `prefix`... that never finished). */
async function removeStaleTemporaries(dir: string, prefix = ''): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const n of names) if (n.startsWith(`.${prefix}`) && n.endsWith('.tmp')) await rm(join(dir, n), { force: true });
}

function oneLine(row: BatchRow): string {
  if (row.error !== undefined) return `FAILED ${row.id}: ${row.error}`;
  const s = row.score!;
  const a = row.acquisition;
  const series = a?.seriesNumber !== undefined ? `, series ${a.seriesNumber}` : '';
  return `ok     ${row.id}: Agatston ${s.total.agatston.toFixed(1)} (LAD ${s.perArtery.LAD.agatston.toFixed(1)}, LCX ${s.perArtery.LCX.agatston.toFixed(1)}, RCA ${s.perArtery.RCA.agatston.toFixed(1)}), risk ${s.riskCategory}${series}${row.notes?.length ? `, ${row.notes.length} note(s)` : ''}`;
}

export const batch: Command = {
  name: 'batch',
  summary: 'score a cohort of studies (a folder of studies or a list file); resumable, shardable',
  usage: 'cacnet batch <folder-of-studies | list-file> --out DIR [--shard i/n] [--weights FILE] [--mass-calibration F | --calibration-phantom P]',
  options: { out: { type: 'string' }, shard: { type: 'string' }, weights: { type: 'string' }, ...MASS_OPTIONS },
  help: [
    '  <folder-of-studies>       one subfolder (DICOM study) or .nii/.nii.gz file per study; the id is its name',
    '  <list-file>               one study path per line (relative to the list file; # comments)',
    '  --out DIR                 OUT/<id>/ gets <id>_labels.nii.gz, <id>.json, <id>_montage.png; OUT/cohort.csv',
    '                            one row per study (errors included); a rerun skips studies already done',
    '  --shard i/n               score only studies i, i+n, i+2n, ... of the id-sorted list (0 <= i < n) and',
    '                            write OUT/cohort-shard-i-of-n.csv; see README for Slurm and Kubernetes',
    '  --weights FILE            safetensors weights (default: the shipped ones)',
    ...MASS_HELP,
    '  exit status 1 when any study failed (after all the others were scored)',
  ],
  async run(v, positionals) {
    if (positionals.length !== 1) throw new UsageError('give one folder of studies or one list file');
    if (!v.out) throw new UsageError('--out DIR is required');
    const out = v.out as string;
    const shard = parseShard(v.shard as string | undefined);
    const weights = (v.weights as string | undefined) ?? SHIPPED_WEIGHTS;
    const all = await listStudies(positionals[0]!);
    const mine = shardStudies(all, shard);
    const scoring = await massScoring(v);
    await mkdir(out, { recursive: true });
    // Only this shard's CSV: other shards may be writing theirs into the same folder right now.
    await removeStaleTemporaries(out, `${csvName(shard)}.`);
    console.log(`${all.length} studies${shard.count > 1 ? `; shard ${shard.index}/${shard.count} takes ${mine.length}` : ''}; outputs in ${out}`);

    const rows: BatchRow[] = [];
    let net: Network | undefined;
    const counts = { scored: 0, resumed: 0, failed: 0 };
    for (const study of mine) {
      let row = await finishedRow(out, study);
      if (row) {
        counts.resumed++;
        console.log(`done   ${study.id}: finished in an earlier run`);
      } else {
        // No GPU or no weights is the machine's problem, not the study's: that stops the run.
        if (!net) {
          const rt = await Runtime.create();
          net = { rt, model: await loadModelFile(rt, weights) };
        }
        try {
          await removeStaleTemporaries(join(out, study.id));
          row = await scoreStudy(net, study, out, weights, scoring);
          counts.scored++;
        } catch (error) {
          // Whatever went wrong with this study (bad file, unexpected data), the others still get scored.
          row = { id: study.id, source: study.path, error: (error as Error).message.split('\n')[0] };
          counts.failed++;
        }
        console.log(oneLine(row));
      }
      rows.push(row);
      await writeFileAtomic(join(out, csvName(shard)), new TextEncoder().encode(batchCsv(rows)));
    }
    net?.model.dispose();
    net?.rt.destroy();
    console.log(`${counts.scored} scored, ${counts.resumed} already done, ${counts.failed} failed; wrote ${join(out, csvName(shard))}`);
    if (counts.failed) process.exitCode = 1;
  },
};
