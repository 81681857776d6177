/** `cacnet train`: trains CAC-Net (or an ablation variant) on synthetic phantoms. */
import { join } from 'node:path';
import { Runtime } from '../gpu/runtime.js';
import { prepareOutputFolder } from '../io/output-folder.js';
import { CacNet } from '../net/cacnet.js';
import { CONFIGS, VARIANTS, sizeMultiple, type NetConfig, type Variant } from '../net/config.js';
import { CHECKPOINT_FILE, readCheckpoint, WEIGHTS_FILE, type Checkpoint } from '../net/checkpoint.js';
import { activationBytes } from '../net/infer.js';
import { buildModel, type ModelBundle } from '../net/model-bundle.js';
import { DEFAULT_WARMUP, train, type PreparedScan, type Scan, type TrainOptions } from '../net/train.js';
import { readModelFile } from './model-io.js';
import type { Command } from './run-command.js';
import { MAX_PHANTOMS_IN_MEMORY, UsageError, intOption as int, seedOption } from './run-command.js';
import { ProgressLine, formatSeconds } from './progress.js';
import { crossValidate } from './cross-validate.js';
import { phantomScans, SHIPPED_RECIPE, workingGridScans } from './training-recipe.js';
import { phantomKind } from '../phantom/for-network.js';
import { cachedPreparedScans } from './prepared-cache.js';
import { restoreRunOptions, type RunRecord } from './run-options.js';

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

interface RunSettings {
  o: TrainOptions;
  trainCount: number;
  valCount: number;
  k: number | undefined;
  patch: [number, number, number];
  /** What decides the run's result, resolved (stored in its checkpoints; see run-options.ts). */
  record: RunRecord;
}

/** Every option resolved against its default and checked; one UsageError per mistake. */
function resolveRun(v: Record<string, string | boolean | undefined>, config: NetConfig, out: string): RunSettings {
  const patch = String(v.patch ?? SHIPPED_RECIPE.patch).split(',').map(Number) as [number, number, number];
  const m = sizeMultiple(config);
  if (patch.length !== 3 || patch.some((p) => !Number.isInteger(p) || p <= 0) || patch[0] % m.depth || patch[1] % m.plane || patch[2] % m.plane) {
    throw new UsageError(`--patch must be D,H,W with D divisible by ${m.depth} and H, W by ${m.plane}, got '${v.patch}'`);
  }
  const seed = seedOption(v.seed, config.seed);
  const o: TrainOptions = {
    steps: int(v.steps, 'steps', SHIPPED_RECIPE.steps, 1),
    lr: num(v.lr, 'lr', SHIPPED_RECIPE.lr),
    patch,
    batch: int(v.batch, 'batch', SHIPPED_RECIPE.batch, 1, 1024),
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
  const trainCount = int(v['train-count'], 'train-count', SHIPPED_RECIPE.trainCount, 1, MAX_PHANTOMS_IN_MEMORY);
  const valCount = int(v['val-count'], 'val-count', SHIPPED_RECIPE.valCount, 0, MAX_PHANTOMS_IN_MEMORY - trainCount);
  const k = v.folds === undefined ? undefined : int(v.folds, 'folds', 5, 2, trainCount + valCount);
  const record: RunRecord = {
    config: (v.config as string | undefined) ?? (v.init === undefined ? SHIPPED_RECIPE.config : null), variant: (v.variant as string | undefined) ?? config.variant,
    init: (v.init as string | undefined) ?? null, seed,
    steps: o.steps, lr: o.lr, 'train-count': trainCount, 'val-count': valCount, batch: o.batch, patch: patch.join(','),
    'dice-weight': o.loss!.dice, 'ce-weight': o.loss!.crossEntropy, 'candidate-hu': o.candidateHU ?? 'none', 'foreground-prob': o.foregroundProbability,
    'balance-arteries': !!o.balanceArteries, 'sample-arteries': !!o.sampleArteries, 'bg-by-component': o.backgroundByComponent ?? 0, warmup: o.warmupSteps ?? DEFAULT_WARMUP,
  };
  o.command = record as Record<string, string | boolean>;
  return { o, trainCount, valCount, k, patch, record };
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train CAC-Net (or an ablation variant) on synthetic phantoms',
  usage: 'cacnet train [--config scanner|demo|paper|tiny] [--variant V] [--steps N] [--out DIR] [--resume] ...',
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
    '  --resume            continue from the checkpoint in --out, with the run\'s own options (giving another is refused)',
    '  --checkpoint-every N  steps between checkpoints (default 25)',
    '  --stop-after N      stop after step N, with a checkpoint of it (resume later with --resume)',
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
    '                      or --variant; --seed defaults to the file\'s)',
    '  --folds K           K-fold cross-validation over the --train-count phantoms (stratified by risk), as in the paper',
  ],
  async run(given) {
    if (given.resume && given.folds !== undefined) throw new UsageError('--resume continues one run; --folds starts K new ones');
    if (given.resume && given.init !== undefined) throw new UsageError('--init starts a run from weights; --resume continues one from its checkpoint');
    const out = (given.out as string | undefined) ?? `runs/${(given.config as string) ?? SHIPPED_RECIPE.config}-${(given.variant as string) ?? 'cacnet'}`;
    await prepareOutputFolder(out, `--out ${out}`);
    let checkpoint: Checkpoint | undefined;
    let initial: ModelBundle | undefined;
    let config: NetConfig;
    let run: RunSettings;
    if (given.resume) {
      checkpoint = await readCheckpoint(out);
      config = checkpoint.model.config;
      const asGiven = resolveRun(given, config, out);
      run = resolveRun(restoreRunOptions(given, asGiven.record, checkpoint.position.options.command, join(out, CHECKPOINT_FILE)), config, out);
    } else if (given.init !== undefined) {
      if (given.config !== undefined || given.variant !== undefined) throw new UsageError('--init takes the network from the weights file; drop --config and --variant');
      initial = await readModelFile(given.init as string);
      config = { ...initial.config, seed: seedOption(given.seed, initial.config.seed) };
      run = resolveRun(given, config, out);
    } else {
      const base = CONFIGS[(given.config as string) ?? SHIPPED_RECIPE.config];
      if (!base) throw new UsageError(`unknown --config '${given.config}'; choose ${Object.keys(CONFIGS).join(', ')}`);
      const variant = ((given.variant as string) ?? 'cacnet') as Variant;
      if (!(variant in VARIANTS)) throw new UsageError(`unknown --variant '${variant}'; choose ${Object.keys(VARIANTS).join(', ')}`);
      config = { ...base, variant, seed: seedOption(given.seed, SHIPPED_RECIPE.seed) };
      run = resolveRun(given, config, out);
    }
    const { o, trainCount, valCount, k, patch } = run;
    // Refused before any device or data work: preparing working-grid phantoms takes minutes.
    if (k !== undefined && config.workingGrid) throw new UsageError('--folds runs on the small phantoms only; drop --config scanner');
    if (checkpoint && o.steps <= checkpoint.position.step) console.error(`note: the checkpoint already holds step ${checkpoint.position.step} of ${o.steps}`);
    const rt = await Runtime.create();
    const patchBytes = activationBytes(config, patch[0] * patch[1] * patch[2] * o.batch);
    if (patchBytes > rt.maxStorageBinding) {
      rt.destroy();
      const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
      throw new UsageError(`--patch ${patch.join(',')} with --batch ${o.batch} needs about ${mib(patchBytes)} for one activation, more than this device's ${mib(rt.maxStorageBinding)} binding limit`);
    }
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
      trainScans = await prepare(o.seed, trainCount, 'train-', 0);
      valScans = await prepare(o.seed + 1, valCount, 'val-', trainCount);
    } else {
      trainScans = phantomScans(o.seed, trainCount, 'train-');
      valScans = phantomScans(o.seed + 1, valCount, 'val-');
    }
    const [d, h, w] = patch;
    const wholeScan = trainScans.every((s) => d >= s.labels.dims[2] && h >= s.labels.dims[1] && w >= s.labels.dims[0]);
    if (wholeScan && (given['sample-arteries'] || given['foreground-prob'] !== undefined)) {
      console.error(`note: the ${patch} patch covers the whole scan, so where a patch is centred (--foreground-prob, --sample-arteries) changes nothing`);
    }
    const bar = new ProgressLine();
    o.onProgress = (p) => {
      const fg = p.dice.slice(1).map((d) => d.toFixed(2)).join('/');
      const val = p.validationDice ? ` val ${p.validationDice.slice(1).map((d) => d.toFixed(2)).join('/')}` : '';
      bar.update(p.step, p.steps, `loss ${p.loss.toFixed(3)} dice LAD/LCX/RCA ${fg}${val} ${p.stepsPerSecond.toFixed(2)} steps/s ETA ${formatSeconds(p.etaSeconds)}`);
    };
    if (k !== undefined) {
      await crossValidate(rt, config, [...trainScans, ...valScans] as Scan[], k, o, out);
      rt.destroy();
      return;
    }
    const model = checkpoint ? buildModel(rt, checkpoint.model) : initial ? buildModel(rt, initial, { seed: config.seed }) : new CacNet(rt, config);
    console.error(`${VARIANTS[config.variant]}: ${model.parameterCount().toLocaleString('en-US')} parameters, on ${rt.description.description || rt.description.vendor}`);
    const result = await train(rt, model, trainScans, valScans, o, checkpoint);
    const stopped = result.step < o.steps ? `stopped after step ${result.step} of ${o.steps} (--resume continues)` : `trained to step ${result.step}`;
    console.log(`${stopped}; the checkpoint in ${out}/ holds step ${result.step} (weights: ${join(out, WEIGHTS_FILE)})`);
    model.dispose();
    rt.destroy();
  },
};
