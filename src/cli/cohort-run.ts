/**
 * Scores a cohort with the network and compares it with ground truth: what
 * `cacnet demo` and `cacnet eval` print and write.
 */
import { join } from 'node:path';
import type { Runtime } from '../gpu/runtime.js';
import { ctFile, labelMapFile } from '../io/nifti-file.js';
import { ARTERIES, type LabelMap, type Volume } from '../io/volume.js';
import type { CacNet } from '../net/cacnet.js';
import { scoreCt } from '../net/pipeline.js';
import { networkFindings } from './scan-output.js';
import type { InferenceOptions } from '../net/infer.js';
import { summariseCohort, type CohortSummary } from '../scoring/cohort.js';
import { matchScores, type ScanEvaluation } from '../scoring/evaluate.js';
import { montageFile, scanReportFile, writeCohortCsv } from '../scoring/report-files.js';
import { scoreScan, type ScanScore } from '../scoring/score.js';
import { writeFileAtomic, writeFilesAtomic } from '../io/atomic-write.js';
import { prepareOutputFolder } from '../io/output-folder.js';
import { ProgressLine } from './progress.js';

export interface CohortScan {
  id: string;
  ct: Volume;
  reference: LabelMap;
  /** What the scan's evaluation is binned by (pixel mm, field of view, noise, ...; see scoring/bins.ts). */
  attributes?: Record<string, number>;
  /** Voxels of calcium that is not coronary (aortic wall, valves, cartilage): none may be labelled. */
  nonCoronary?: Uint8Array;
}

export interface CohortResult {
  id: string;
  predicted: ScanScore;
  reference: ScanScore;
  evaluation: ScanEvaluation;
  seconds: number;
  attributes?: Record<string, number>;
  /** Labelled voxels that are non-coronary calcium (when the scan says where that is). */
  nonCoronaryLabelled?: number;
}

export interface CohortRunOptions {
  outDir?: string;
  /** Write label maps, CT and montages too (not only JSON and CSV). */
  images: boolean;
  software: string;
  weights: string;
  /** Inference options (e.g. arteryPrior: false). */
  inference?: Partial<InferenceOptions>;
}

export async function runCohort(rt: Runtime, model: CacNet, scans: Iterable<CohortScan> | AsyncIterable<CohortScan>, count: number, o: CohortRunOptions): Promise<{ results: CohortResult[]; summary: CohortSummary }> {
  if (o.outDir) await prepareOutputFolder(o.outDir);
  const results: CohortResult[] = [];
  const bar = new ProgressLine(5);
  for await (const scan of scans) {
    const r = await scoreCt(rt, model, scan.ct, { inference: o.inference });
    const reference = scoreScan(scan.ct, scan.reference);
    const evaluation = matchScores(r.score, reference);
    const nonCoronaryLabelled = scan.nonCoronary ? countOverlap(r.labels.data, scan.nonCoronary) : undefined;
    results.push({ id: scan.id, predicted: r.score, reference, evaluation, seconds: r.inferenceSeconds, attributes: scan.attributes, nonCoronaryLabelled });
    if (o.outDir) {
      const meta = { id: scan.id, source: scan.ct.source, dims: scan.ct.dims, spacing: scan.ct.spacing, software: o.software, extra: { weights: o.weights, ...networkFindings(r) } };
      const at = (name: string) => join(o.outDir!, `${scan.id}${name}`);
      const files = [scanReportFile(at('.json'), r.score, meta, evaluation)];
      if (o.images) {
        files.push(await labelMapFile(at('_pred.nii.gz'), r.labels), await ctFile(at('_ct.nii.gz'), scan.ct));
        if (r.score.lesions.length || reference.lesions.length) files.push(montageFile(at('_montage.png'), scan.ct, r.labels, { reference: scan.reference, maxSlices: 12 }));
      }
      await writeFilesAtomic(files);
    }
    bar.update(results.length, count, `${scan.id}: ${r.inferenceSeconds.toFixed(1)}s`);
  }
  const summary = summariseCohort(
    results.map((r) => ({ id: r.id, predicted: r.predicted, reference: r.reference })),
    results.map((r) => r.evaluation),
  );
  if (o.outDir) {
    await writeCohortCsv(join(o.outDir, 'cohort.csv'), results.map((r) => ({ id: r.id, score: r.predicted, reference: r.reference })));
    await writeFileAtomic(join(o.outDir, 'summary.json'), new TextEncoder().encode(`${JSON.stringify(summary, null, 2)}\n`));
  }
  return { results, summary };
}

function countOverlap(labels: Uint8Array, mask: Uint8Array): number {
  let n = 0;
  for (let v = 0; v < labels.length; v++) if (labels[v]! > 0 && mask[v]! > 0) n++;
  return n;
}

const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '-');
const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '  -  ');

/** The per-scan table: Agatston and volume per artery, predicted vs reference, and risk category. */
export function printScanTable(results: CohortResult[]): void {
  const head = ['scan'.padEnd(12), ...ARTERIES.map((a) => `${a} Agatston`.padStart(17)), 'total Agatston'.padStart(19), 'volume mm3'.padStart(17), 'risk'.padStart(9)];
  console.log(head.join(' '));
  console.log(' '.repeat(12) + ' ' + [...ARTERIES.map(() => 'pred / ref'.padStart(17)), 'pred / ref'.padStart(19), 'pred / ref'.padStart(17), 'pred/ref'.padStart(9)].join(' '));
  for (const r of results) {
    const pair = (p: number, q: number, w: number) => `${f1(p)} / ${f1(q)}`.padStart(w);
    console.log(
      [
        r.id.padEnd(12),
        ...ARTERIES.map((a) => pair(r.predicted.perArtery[a].agatston, r.reference.perArtery[a].agatston, 17)),
        pair(r.predicted.total.agatston, r.reference.total.agatston, 19),
        pair(r.predicted.total.volumeMm3, r.reference.total.volumeMm3, 17),
        `${r.predicted.riskCategory} / ${r.reference.riskCategory}`.padStart(9),
      ].join(' '),
    );
  }
}

/** The cohort metrics in the layout of the paper's Tables 1 and 2. */
export function printSummary(s: CohortSummary): void {
  const m = s.detection!.metrics;
  console.log(`\nLesion detection (${s.n} scans; cf. paper Table 1)`);
  console.log('               sensitivity    PPV     F1');
  console.log(`  by number       ${f3(m.sensitivity)}     ${f3(m.ppv)}   ${f3(m.f1)}`);
  console.log(`  by volume       ${f3(m.sensitivityVolume)}     ${f3(m.ppvVolume)}   ${f3(m.f1Volume)}`);
  console.log('\nICC(A,1) with ground truth (cf. paper Table 2)');
  console.log('                 LAD     LCX     RCA   patient');
  console.log(`  Agatston     ${['LAD', 'LCX', 'RCA', 'total'].map((k) => f3(s.agatston[k as 'LAD'].icc.value)).join('   ')}`);
  console.log(`  volume       ${['LAD', 'LCX', 'RCA', 'total'].map((k) => f3(s.volume[k as 'LAD'].icc.value)).join('   ')}`);
  console.log(`\nRisk category: ${(s.risk.agreement * 100).toFixed(0)}% agreement, linearly weighted kappa ${f3(s.risk.kappa)}`);
}
