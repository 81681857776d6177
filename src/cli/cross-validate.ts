/**
 * k-fold cross-validation as in the paper (section 3.1): the cohort is split
 * into k folds stratified by risk category, a fresh network is trained on k-1
 * folds and evaluated on the held-out one, and the metrics are computed over
 * all held-out scans together.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { Runtime } from '../gpu/runtime.js';
import { CacNet } from '../net/cacnet.js';
import type { NetConfig } from '../net/config.js';
import { train, type Scan, type TrainOptions } from '../net/train.js';
import { summariseCohort } from '../scoring/cohort.js';
import { riskStratifiedFolds } from '../scoring/folds.js';
import { scoreScan } from '../scoring/score.js';
import { printScanTable, printSummary, runCohort, type CohortResult } from './cohort-run.js';

/** Risk-stratified folds of a cohort, each a list of scans. */
export function splitFolds(scans: Scan[], k: number, seed: number): Scan[][] {
  const byId = new Map(scans.map((s) => [s.id, s]));
  const folds = riskStratifiedFolds(scans.map((s) => ({ id: s.id, score: scoreScan(s.ct, s.labels) })), k, seed);
  return folds.map((ids) => ids.map((id) => byId.get(id)!));
}

export async function crossValidate(rt: Runtime, config: NetConfig, scans: Scan[], k: number, o: TrainOptions, out: string): Promise<void> {
  const folds = splitFolds(scans, k, o.seed);
  const all: CohortResult[] = [];
  for (let f = 0; f < k; f++) {
    const held = folds[f]!;
    const trainSet = folds.filter((_, i) => i !== f).flat();
    console.error(`fold ${f + 1}/${k}: training on ${trainSet.length} scans, testing on ${held.length}`);
    const model = new CacNet(rt, config);
    await train(rt, model, trainSet, [], { ...o, checkpointDir: join(out, `fold-${f + 1}`) });
    const scansOut = held.map((s) => ({ id: s.id, ct: s.ct, reference: s.labels }));
    const { results } = await runCohort(rt, model, scansOut, held.length, { outDir: join(out, `fold-${f + 1}`, 'eval'), images: false, software: 'cacnet train --folds', weights: join(out, `fold-${f + 1}`, 'model.safetensors') });
    all.push(...results);
    model.dispose();
  }
  const summary = summariseCohort(
    all.map((r) => ({ id: r.id, predicted: r.predicted, reference: r.reference })),
    all.map((r) => r.evaluation),
  );
  printScanTable(all);
  printSummary(summary);
  await writeFileAtomic(join(out, 'cv-summary.json'), new TextEncoder().encode(`${JSON.stringify({ folds: folds.map((fl) => fl.map((s) => s.id)), summary }, null, 2)}\n`));
  console.log(`\n${k}-fold cross-validation over ${all.length} scans; summary in ${join(out, 'cv-summary.json')}`);
}
