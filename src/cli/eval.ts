/**
 * `cacnet eval`: a cohort against ground truth — the paper's evaluation
 * (lesion sensitivity/PPV/F1 by number and volume, ICC(A,1) per artery and per
 * patient, risk-category kappa). The cohort is a folder written by
 * `cacnet phantoms` (or any folder with such a manifest.json), or phantoms
 * generated on the fly.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../base/errors.js';
import { Runtime } from '../gpu/runtime.js';
import { readNifti } from '../io/nifti-file.js';
import { readScan } from '../io/read-scan.js';
import { generateCohort } from '../phantom/cohort.js';
import type { LabelMap } from '../io/volume.js';
import { printBins, phantomAttributes } from './cohort-bins.js';
import { phantomKind } from '../phantom/for-network.js';
import { runCohort, printScanTable, printSummary, type CohortScan } from './cohort-run.js';
import { readModelFile, SHIPPED_WEIGHTS } from './model-io.js';
import { intOption, MAX_PHANTOMS_STREAMED, UsageError, seedOption, type Command } from './run-command.js';
import { prepareOutputFolder } from '../io/output-folder.js';
import { buildModel } from '../net/model-bundle.js';
import { formatSeconds } from './progress.js';

interface ManifestCase {
  id: string;
  ct: string;
  labels: string;
}

async function readManifest(dir: string): Promise<ManifestCase[]> {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) throw new InputError(`${dir}: no manifest.json (write a cohort with 'cacnet phantoms --out ${dir}')`);
  let m: { cases?: Array<Record<string, unknown>> };
  try {
    m = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw new InputError(`${path}: not valid JSON`);
  }
  if (!Array.isArray(m.cases) || m.cases.length < 2) throw new InputError(`${path}: needs a 'cases' list of at least 2 scans`);
  return m.cases.map((c, i) => {
    const files = (c.files ?? c) as Record<string, unknown>;
    const ct = files.ct, labels = files.labels ?? files.label;
    if (typeof c.id !== 'string' || typeof ct !== 'string' || typeof labels !== 'string') throw new InputError(`${path}: case ${i} needs id, ct and labels file names`);
    return { id: c.id, ct, labels };
  });
}

async function* manifestScans(dir: string, cases: ManifestCase[]): AsyncGenerator<CohortScan> {
  for (const c of cases) {
    const ct = await readScan(join(dir, c.ct));
    const lab = await readNifti(join(dir, c.labels));
    const reference: LabelMap = { data: Uint8Array.from(lab.data), dims: lab.dims, spacing: lab.spacing, affine: lab.affine };
    yield { id: c.id, ct, reference };
  }
}

export const evalCommand: Command = {
  name: 'eval',
  summary: "evaluate the network on a cohort against ground truth (the paper's metrics)",
  usage: 'cacnet eval [<cohort-dir>] [--phantoms N --seed S] [--out DIR] [--weights FILE] [--no-prior]',
  options: { phantoms: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, weights: { type: 'string' }, 'no-prior': { type: 'boolean' } },
  help: [
    '  <cohort-dir>    a folder with manifest.json (cases: id, ct, labels), e.g. from cacnet phantoms',
    '  --phantoms N    instead, generate N held-out phantoms (default: the reference evaluation, 100 scanner-size',
    '                  phantoms from the full ranges for a working-grid network; 25 small ones for older weights)',
    '  --seed S        seed of generated phantoms (default 9103, or 9001 for older weights; never used in training)',
    '  --out DIR       write per-scan JSON, cohort.csv and summary.json there',
    '  --weights FILE  safetensors weights (default: the shipped ones)',
    "  --no-prior      name arteries by the network alone, ignoring the weights' spatial artery prior",
  ],
  async run(v, positionals) {
    if (positionals.length > 1) throw new UsageError('give at most one cohort folder');
    const weights = (v.weights as string | undefined) ?? SHIPPED_WEIGHTS;
    const t0 = performance.now();
    const out = v.out as string | undefined;
    if (out !== undefined) await prepareOutputFolder(out, `--out ${out}`);
    const bundle = await readModelFile(weights);
    const rt = await Runtime.create();
    const model = buildModel(rt, bundle);
    let scans: AsyncIterable<CohortScan> | Iterable<CohortScan>;
    let count: number;
    if (positionals[0]) {
      const cases = await readManifest(positionals[0]);
      scans = manifestScans(positionals[0], cases);
      count = cases.length;
    } else {
      const reference = model.config.workingGrid ? { count: 100, seed: 9103 } : { count: 25, seed: 9001 };
      count = intOption(v.phantoms, 'phantoms', reference.count, 2, MAX_PHANTOMS_STREAMED);
      const seed = seedOption(v.seed, reference.seed);
      const kind = phantomKind(model.config, 'evaluate');
      scans = (function* () {
        for (const c of generateCohort({ seed, count, idPrefix: 'eval-', ...kind })) {
          yield { id: c.id, ct: c.phantom.ct, reference: c.phantom.labels, attributes: phantomAttributes(c.phantom.meta), nonCoronary: c.phantom.nonCoronary };
        }
      })();
    }
    const { results, summary } = await runCohort(rt, model, scans, count, { outDir: out, images: false, software: 'cacnet eval', weights, inference: { arteryPrior: !v['no-prior'] } });
    printScanTable(results);
    printSummary(summary);
    printBins(results);
    console.log(`\n${count} scans in ${formatSeconds((performance.now() - t0) / 1000)}`);
    model.dispose();
    rt.destroy();
  },
};
