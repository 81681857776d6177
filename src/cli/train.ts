/** `cacnet train`: trains CAC-Net (or an ablation variant) on synthetic phantoms. */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { Runtime } from '../gpu/runtime.js';
import { CacNet } from '../net/cacnet.js';
import { CONFIGS, VARIANTS, sizeMultiple, type NetConfig, type Variant } from '../net/config.js';
import { readCheckpoint, type Checkpoint } from '../net/checkpoint.js';
import { buildModel, readModelBundle, type ModelBundle } from '../net/model-bundle.js';
import { DEFAULT_WARMUP, train, type PreparedScan, type Scan, type TrainOptions } from '../net/train.js';
import { readWeightsFile } from './model-io.js';
import type { Command } from './run-command.js';
import { UsageError, intOption as int } from './run-command.js';
import { ProgressLine, formatSeconds } from './progress.js';
import { crossValidate } from './cross-validate.js';
import { phantomScans, SHIPPED_RECIPE, workingGridScans } from './training-recipe.js';
import { phantomKind } from '../phantom/for-network.js';
import { cachedPreparedScans } from './prepared-cache.js';

/** Where training scans on the working grid are kept between runs (prepared-cache.ts). */
const PREPARED_CACHE = '.cache/working-grid';


function num(v: unknown, name: string, fallback: number, allowZero = false): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) throw new UsageError(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got '${v}'`);
  return n;
}

function candidateHU(v: unknown): number | null {
  if (v === undefined) return SHIPPED_RECIPE.candidateHU;
  if (v === 'none') return null;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--candidate-hu must be a number of HU or 'none', got '${v}'`);
  return n;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train CAC-Net (or an ablation variant) on synthetic phantoms',
  usage: 'cacnet train [--config demo|paper|tiny] [--variant V] [--steps N] [--out DIR] [--resume] ...',
  options: {
    config: { type: 'string' },
    variant: { type: 'string' },
    steps: { type: 'string' },
    lr: { type: 'string' },
    seed: { type: 'string' },
    'train-count': { type: 'string' },
    'val-count': { type: 'string' },
    batch: { type: 'string' },
    patch: { type: 'string' },
    out: { type: 'string' },
    resume: { type: 'boolean' },
    'checkpoint-every': { type: 'string' },
    'stop-after': { type: 'string' },
    folds: { type: 'string' },
    'dice-weight': { type: 'string' },
    'ce-weight': { type: 'string' },
    'candidate-hu': { type: 'string' },
    'foreground-prob': { type: 'string' },
    'balance-arteries': { type: 'boolean' },
    'sample-arteries': { type: 'boolean' },
    'bg-by-component': { type: 'string' },
    warmup: { type: 'string' },
    init: { type: 'string' },
  },
  help: [
    `  --config NAME       network widths: ${Object.keys(CONFIGS).join(', ')} (default ${SHIPPED_RECIPE.config})`,
    `  --variant V         ${Object.entries(VARIANTS).map(([k, v]) => `${k} (${v})`).join('; ')}`,
    `  --steps N           training steps (default ${SHIPPED_RECIPE.steps})`,
    `  --lr X              peak Adam learning rate, cosine-decayed to 10% (default ${SHIPPED_RECIPE.lr})`,
    `  --seed S            seed of the training phantoms, patches, init and dropout (default ${SHIPPED_RECIPE.seed})`,
    `  --train-count N     training phantoms (default ${SHIPPED_RECIPE.trainCount}); validation phantoms use another seed`,
    `  --val-count N       validation phantoms (default ${SHIPPED_RECIPE.valCount})`,
    `  --batch N           patches per step (default ${SHIPPED_RECIPE.batch})`,
    `  --patch D,H,W       patch size in voxels (default ${SHIPPED_RECIPE.patch})`,
    '  --out DIR           checkpoint folder (default runs/<config>-<variant>)',
    '  --resume            continue from the checkpoint in --out',
    '  --checkpoint-every N  steps between checkpoints (default 25)',
    '  --stop-after N      stop after step N (resume later with --resume)',
    `  --dice-weight X     weight of the paper's multi-class Dice loss (default ${SHIPPED_RECIPE.diceWeight})`,
    `  --ce-weight X       weight of the class-balanced cross-entropy (default ${SHIPPED_RECIPE.ceWeight}; 0 with --dice-weight 1 is the paper's loss)`,
    `  --candidate-hu N    judge the network only on voxels >= N HU, or 'none' (default ${SHIPPED_RECIPE.candidateHU})`,
    '  --balance-arteries  split the cross-entropy\'s calcium weight equally between the arteries present',
    '  --sample-arteries   centre calcium patches on an artery drawn uniformly among those present',
    '                      (default: on a uniform calcium voxel, which sees the LCX least); matters only',
    '                      when the patch is smaller than the scan',
    `  --foreground-prob P probability a patch is centred on calcium (default ${SHIPPED_RECIPE.foregroundProbability})`,
    '  --bg-by-component X share of the cross-entropy\'s background weight divided per connected component',
    '                      of background candidates rather than per voxel, 0 to 1 (default 0)',
    `  --warmup N          steps of linear learning-rate warm-up (default ${DEFAULT_WARMUP})`,
    '  --init FILE         start from these weights (fine-tuning: the network is the file\'s, so no --config',
    '                      or --variant; --seed defaults to the file\'s). Ignored with --resume',
    '  --folds K           K-fold cross-validation over the --train-count phantoms (stratified by risk), as in the paper',
  ],
  async run(v) {
    const out = (v.out as string | undefined) ?? `runs/${(v.config as string) ?? SHIPPED_RECIPE.config}-${(v.variant as string) ?? 'cacnet'}`;
    let config: NetConfig;
    let checkpoint: Checkpoint | undefined;
    let initial: ModelBundle | undefined;
    if (v.resume) {
      checkpoint = await readCheckpoint(out);
      config = checkpoint.model.config;
    } else if (v.init !== undefined) {
      if (v.config !== undefined || v.variant !== undefined) throw new UsageError('--init takes the network from the weights file; drop --config and --variant');
      initial = readModelBundle(await readWeightsFile(v.init as string), v.init as string);
      config = { ...initial.config, seed: int(v.seed, 'seed', initial.config.seed) };
    } else {
      const base = CONFIGS[(v.config as string) ?? SHIPPED_RECIPE.config];
      if (!base) throw new UsageError(`unknown --config '${v.config}'; choose ${Object.keys(CONFIGS).join(', ')}`);
      const variant = ((v.variant as string) ?? 'cacnet') as Variant;
      if (!(variant in VARIANTS)) throw new UsageError(`unknown --variant '${variant}'; choose ${Object.keys(VARIANTS).join(', ')}`);
      config = { ...base, variant, seed: int(v.seed, 'seed', SHIPPED_RECIPE.seed) };
    }
    const patch = String(v.patch ?? SHIPPED_RECIPE.patch).split(',').map(Number) as [number, number, number];
    const m = sizeMultiple(config);
    if (patch.length !== 3 || patch.some((p) => !Number.isInteger(p) || p <= 0) || patch[0] % m.depth || patch[1] % m.plane || patch[2] % m.plane) {
      throw new UsageError(`--patch must be D,H,W with D divisible by ${m.depth} and H, W by ${m.plane}, got '${v.patch}'`);
    }
    const seed = config.seed;
    const o: TrainOptions = {
      steps: int(v.steps, 'steps', SHIPPED_RECIPE.steps, 1),
      lr: num(v.lr, 'lr', SHIPPED_RECIPE.lr),
      patch,
      batch: int(v.batch, 'batch', SHIPPED_RECIPE.batch, 1),
      foregroundProbability: num(v['foreground-prob'], 'foreground-prob', SHIPPED_RECIPE.foregroundProbability, true),
      loss: { dice: num(v['dice-weight'], 'dice-weight', SHIPPED_RECIPE.diceWeight, true), crossEntropy: num(v['ce-weight'], 'ce-weight', SHIPPED_RECIPE.ceWeight, true) },
      candidateHU: candidateHU(v['candidate-hu']),
      balanceArteries: !!v['balance-arteries'],
      sampleArteries: !!v['sample-arteries'],
      backgroundByComponent: num(v['bg-by-component'], 'bg-by-component', 0, true),
      warmupSteps: int(v.warmup, 'warmup', DEFAULT_WARMUP, 0),
      seed,
      checkpointDir: out,
      checkpointEvery: int(v['checkpoint-every'], 'checkpoint-every', 25, 1),
      validateEvery: 100,
      stopAfter: v['stop-after'] === undefined ? undefined : int(v['stop-after'], 'stop-after', 0, 1),
    };
    if (o.loss!.dice === 0 && o.loss!.crossEntropy === 0) throw new UsageError('--dice-weight and --ce-weight cannot both be 0');
    if (o.backgroundByComponent! > 1) throw new UsageError(`--bg-by-component must be between 0 and 1, got '${v['bg-by-component']}'`);
    if (o.foregroundProbability > 1) throw new UsageError(`--foreground-prob must be between 0 and 1, got '${v['foreground-prob']}'`);
    const trainCount = int(v['train-count'], 'train-count', SHIPPED_RECIPE.trainCount, 1);
    const valCount = int(v['val-count'], 'val-count', SHIPPED_RECIPE.valCount, 0);
    console.error(`generating ${trainCount} training and ${valCount} validation phantoms...`);
    let trainScans: Array<Scan | PreparedScan>;
    let valScans: Array<Scan | PreparedScan>;
    if (config.workingGrid) {
      const bar = new ProgressLine();
      const kind = phantomKind(config, 'train');
      const prepare = async (cohortSeed: number, count: number, prefix: string, offset: number) => {
        if (count === 0) return [];
        const key = { grid: config.workingGrid, huWindow: config.huWindow, classes: config.classes, ...kind, seed: cohortSeed, count, prefix };
        const got = await cachedPreparedScans(
          PREPARED_CACHE,
          key,
          () => workingGridScans(config, kind, cohortSeed, 1, prefix)[0]!,
          () => workingGridScans(config, kind, cohortSeed, count, prefix, (n) => bar.update(offset + n, trainCount + valCount, 'phantoms on the working grid')),
        );
        if (got.fromCache) console.error(`${count} ${prefix}phantoms from ${PREPARED_CACHE}/`);
        return got.scans;
      };
      trainScans = await prepare(seed, trainCount, 'train-', 0);
      valScans = await prepare(seed + 1, valCount, 'val-', trainCount);
    } else {
      trainScans = phantomScans(seed, trainCount, 'train-');
      valScans = phantomScans(seed + 1, valCount, 'val-');
    }
    const [d, h, w] = patch;
    const wholeScan = trainScans.every((s) => d >= s.labels.dims[2] && h >= s.labels.dims[1] && w >= s.labels.dims[0]);
    if (wholeScan && (v['sample-arteries'] || v['foreground-prob'] !== undefined)) {
      console.error(`note: the ${patch} patch covers the whole scan, so where a patch is centred (--foreground-prob, --sample-arteries) changes nothing`);
    }
    const bar = new ProgressLine();
    o.onProgress = (p) => {
      const fg = p.dice.slice(1).map((d) => d.toFixed(2)).join('/');
      const val = p.validationDice ? ` val ${p.validationDice.slice(1).map((d) => d.toFixed(2)).join('/')}` : '';
      bar.update(p.step, p.steps, `loss ${p.loss.toFixed(3)} dice LAD/LCX/RCA ${fg}${val} ${p.stepsPerSecond.toFixed(2)} steps/s ETA ${formatSeconds(p.etaSeconds)}`);
    };
    const rt = await Runtime.create();
    if (v.folds !== undefined) {
      const k = int(v.folds, 'folds', 5, 2);
      if (config.workingGrid) throw new UsageError('--folds runs on the small phantoms only; drop --config scanner');
      await crossValidate(rt, config, [...trainScans, ...valScans] as Scan[], k, o, out);
      rt.destroy();
      return;
    }
    const model = checkpoint ? buildModel(rt, checkpoint.model) : initial ? buildModel(rt, initial, { seed: config.seed }) : new CacNet(rt, config);
    console.error(`${VARIANTS[config.variant]}: ${model.parameterCount().toLocaleString('en-US')} parameters, on ${rt.description.description || rt.description.vendor}`);
    await mkdir(out, { recursive: true });
    const result = await train(rt, model, trainScans, valScans, o, checkpoint);
    console.log(`trained to step ${result.step}; checkpoint in ${out}/ (weights: ${join(out, 'model.safetensors')})`);
    model.dispose();
    rt.destroy();
  },
};
