/**
 * `cacnet calibrate`: picks the inference operating point (the threshold on
 * P(calcium) per artery, the noise margin and the position gate) on validation phantoms and, with --write, stores it in the
 * weights file's metadata, where every later run (demo, infer, eval, the
 * browser) reads it. See src/net/calibrate.ts for the rule.
 */
import { Runtime } from '../gpu/runtime.js';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';
import { prepareOutputFolder } from '../io/output-folder.js';
import { calibrateOperatingPoint, CALIBRATION_SPACE, type CalibrationRow } from '../net/calibrate.js';
import { ARTERIES } from '../io/volume.js';
import { operatingPointText } from '../net/inference-metadata.js';
import { buildModel, encodeWithInferenceSettings } from '../net/model-bundle.js';
import { readModelFile, SHIPPED_WEIGHTS } from './model-io.js';
import { ProgressLine } from './progress.js';
import { intOption, MAX_PHANTOMS_STREAMED, UsageError, seedOption, type Command } from './run-command.js';
import { phantomStream, SHIPPED_RECIPE } from './training-recipe.js';
import { phantomKind } from '../phantom/for-network.js';

/** Validation phantoms: the training run's validation seed, never used for training, eval (9001) or the demo (4242). */
const DEFAULT_SEED = SHIPPED_RECIPE.seed + 1;

export const calibrate: Command = {
  name: 'calibrate',
  summary: 'choose the calcium probability thresholds, noise margin and position gate on validation phantoms (and store them in the weights)',
  usage: 'cacnet calibrate [--weights FILE] [--phantoms N] [--seed S] [--position-gate SD|none] [--write]',
  options: { weights: { type: 'string' }, phantoms: { type: 'string' }, seed: { type: 'string' }, 'position-gate': { type: 'string' }, write: { type: 'boolean' } },
  help: [
    '  --weights FILE  safetensors weights (default: the shipped ones)',
    '  --phantoms N    validation phantoms (default 60: enough LCX calcium to judge its ICC)',
    `  --seed S        their seed (default ${DEFAULT_SEED}, the training run's validation seed)`,
    '  --position-gate SD  fix the position gate (prior SDs, 1-20, or none) instead of searching it:',
    '                  validation scans without far false positives cannot tell gates apart',
    '  --write         store the chosen operating point in the weights file (rewritten atomically)',
  ],
  async run(v, positionals) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const weights = (v.weights as string | undefined) ?? SHIPPED_WEIGHTS;
    const count = intOption(v.phantoms, 'phantoms', 60, 5, MAX_PHANTOMS_STREAMED);
    const seed = seedOption(v.seed, DEFAULT_SEED);
    const fixedGate = positionGateOption(v['position-gate']);
    const space = fixedGate === undefined ? CALIBRATION_SPACE : { ...CALIBRATION_SPACE, gates: [fixedGate] };
    const bundle = await readModelFile(weights);
    if (v.write) await prepareOutputFolder(dirname(weights), `--write ${weights}`);
    const rt = await Runtime.create();
    const model = buildModel(rt, bundle);
    const bar = new ProgressLine(5);
    let done = 0;
    const { shared, best } = await calibrateOperatingPoint(rt, model, phantomStream(seed, count, 'cal-', phantomKind(model.config, 'train')), space, (id) => bar.update(++done, count, id));
    model.dispose();
    rt.destroy();
    const names = Object.keys(best.metrics);
    const line = (label: string, r: CalibrationRow, mark = '') => console.log(label + [...names.map((n) => r.metrics[n]!.toFixed(3)), r.weakest.toFixed(3)].map((c) => c.padStart(13)).join('') + mark);
    console.log(`\n${count} validation phantoms (seed ${seed}); a candidate is calcium when P(calcium) >= threshold,`);
    console.log('a lesion is kept when its peak reaches 130 HU + margin x the scan\'s noise SD');
    console.log('and its centre lies within the gate (prior SDs) of the nearest artery\'s calcium');
    const lead = (r: CalibrationRow, point: string) => [point, r.noiseMargin, r.positionGate].map((c) => String(c).padStart(13)).join('');
    console.log(['threshold', 'margin', 'gate', ...names, 'weakest'].map((h) => h.padStart(13)).join(''));
    for (const r of shared) line(lead(r, String(r.point[0])), r);
    console.log('\nthen the gate, the margin and each artery\'s own threshold, the rest held:');
    line(lead(best, best.point.join('/')), best, `  <- chosen (${ARTERIES.join('/')})`);
    const gate = Number.isFinite(best.positionGate) ? `position gate ${best.positionGate} SD` : 'no position gate';
    const chosen = `${operatingPointText(best.point)}, noise margin ${best.noiseMargin} SD, ${gate}`;
    if (!v.write) {
      console.log(`\nchosen ${chosen}; run again with --write to store it in ${weights}`);
      return;
    }
    await writeFileAtomic(weights, encodeWithInferenceSettings(bundle, { ...bundle.inference, calciumProbability: best.point, noiseMargin: best.noiseMargin, positionGate: best.positionGate }));
    console.log(`\nstored the operating point ${chosen} in ${weights}`);
  },
};

/** --position-gate: a number of prior SDs from 1 to 20, or 'none'; undefined when absent (searched). */
function positionGateOption(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (v === 'none') return Infinity;
  const g = Number(v);
  if (!(g >= 1 && g <= 20)) throw new UsageError(`--position-gate must be a number of prior SDs from 1 to 20, or none, got '${String(v)}'`);
  return g;
}
