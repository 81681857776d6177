/**
 * `cacnet demo`: the main job. Generates held-out phantoms (a seed never used
 * in training), scores them with the shipped weights, prints per-artery scores
 * against ground truth and the cohort metrics, and writes the reports.
 */
import { Runtime } from '../gpu/runtime.js';
import { generateCohort } from '../phantom/cohort.js';
import { runCohort, printScanTable, printSummary } from './cohort-run.js';
import { readModelFile, SHIPPED_WEIGHTS } from './model-io.js';
import { prepareOutputFolder } from '../io/output-folder.js';
import { buildModel } from '../net/model-bundle.js';
import { operatingPointText } from '../net/inference-metadata.js';
import { intOption, MAX_PHANTOMS_STREAMED, seedOption, type Command } from './run-command.js';
import { formatSeconds } from './progress.js';
import { phantomKind } from '../phantom/for-network.js';
import { phantomAttributes, printBins } from './cohort-bins.js';

/** Held-out seed: training uses SHIPPED_RECIPE.seed and seed + 1 (validation). */
export const DEMO_SEED = 4242;

export const demo: Command = {
  name: 'demo',
  summary: 'score freshly generated held-out phantoms with the shipped weights, against ground truth',
  usage: 'cacnet demo [--count N] [--seed S] [--out DIR] [--weights FILE]',
  options: { count: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, weights: { type: 'string' } },
  help: [
    '  --count N       phantoms to score (default 4 at scanner resolution, 10 small ones for small-grid weights)',
    `  --seed S        cohort seed (default ${DEMO_SEED}, never used in training)`,
    '  --out DIR       reports: per-scan JSON, label maps, CT, montages, cohort CSV (default cacnet-demo/)',
    '  --weights FILE  safetensors weights (default: the shipped ones)',
  ],
  async run(v) {
    const given = v.count === undefined ? undefined : intOption(v.count, 'count', 0, 2, MAX_PHANTOMS_STREAMED);
    const seed = seedOption(v.seed, DEMO_SEED);
    const out = (v.out as string | undefined) ?? 'cacnet-demo';
    const weights = (v.weights as string | undefined) ?? SHIPPED_WEIGHTS;
    const t0 = performance.now();
    await prepareOutputFolder(out, `--out ${out}`);
    const bundle = await readModelFile(weights);
    const rt = await Runtime.create();
    const model = buildModel(rt, bundle);
    // A network on the working grid scores scans as a scanner writes them (512 x 512, 0.3-0.9 mm); older ones the small phantoms they were trained on.
    const scanner = !!model.config.workingGrid;
    const count = given ?? (scanner ? 4 : 10);
    const kind = scanner ? 'scanner-resolution (512 x 512) ' : '';
    console.log(`CAC-Net demo: ${count} held-out ${kind}synthetic cardiac CT phantoms (seed ${seed}) on ${rt.description.description || rt.description.vendor}`);
    const naming = model.arteryPrior ? `arteries named with a spatial prior fitted to ${model.arteryPrior.voxels.reduce((a, b) => a + b, 0)} training calcium voxels` : 'arteries named by the network alone';
    const floor = model.noiseMargin > 0 ? `, lesions peaking >= 130 HU + ${model.noiseMargin} noise SDs` : '';
    const gate = Number.isFinite(model.positionGate) ? `, within ${model.positionGate} prior SDs of an artery` : '';
    const operating = `calcium where P(calcium) >= ${operatingPointText(model.calciumProbability)}${floor}${gate}`;
    console.log(`network: ${model.config.variant}, ${model.parameterCount().toLocaleString('en-US')} parameters, weights ${weights}\n${operating}; ${naming}\n`);
    const scans = (function* () {
      for (const c of generateCohort({ seed, count, idPrefix: 'demo-', ...phantomKind(model.config, 'evaluate') })) yield { id: c.id, ct: c.phantom.ct, reference: c.phantom.labels, attributes: phantomAttributes(c.phantom.meta), nonCoronary: c.phantom.nonCoronary };
    })();
    const { results, summary } = await runCohort(rt, model, scans, count, { outDir: out, images: true, software: 'cacnet demo', weights });
    console.log('');
    printScanTable(results);
    printSummary(summary);
    printBins(results);
    console.log(`\nreports in ${out}/ (per-scan JSON, *_pred.nii.gz label maps, *_ct.nii.gz, *_montage.png, cohort.csv, summary.json)`);
    console.log(`done in ${formatSeconds((performance.now() - t0) / 1000)}`);
    model.dispose();
    rt.destroy();
  },
};
