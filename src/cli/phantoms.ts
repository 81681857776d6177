/** `cacnet phantoms`: writes a cohort of synthetic cardiac CT phantoms with ground truth. */
import { writeGeneratedCohort } from '../phantom/cohort-files.js';
import { PHANTOM_PRESET_NAMES, type PhantomPreset } from '../phantom/presets.js';
import { PHANTOM_SPLITS, type PhantomSplit } from '../phantom/scanner-ranges.js';
import { prepareOutputFolder } from '../io/output-folder.js';
import { intOption, MAX_PHANTOMS_STREAMED, UsageError, seedOption, type Command } from './run-command.js';
import { ProgressLine } from './progress.js';

export const phantoms: Command = {
  name: 'phantoms',
  summary: 'write synthetic cardiac CT phantoms (CT + label NIfTI pairs and a manifest)',
  usage: 'cacnet phantoms --out DIR [--count N] [--seed S] [--preset small|realistic|scanner] [--split train|heldout]',
  options: { out: { type: 'string' }, count: { type: 'string' }, seed: { type: 'string' }, preset: { type: 'string' }, split: { type: 'string' } },
  help: [
    '  --out DIR        folder to write <id>_ct.nii.gz, <id>_label.nii.gz and manifest.json',
    '  --count N        phantoms (default 10); risk categories cycle 0, 1-10, 11-100, 101-400, >400',
    '  --seed S         cohort seed (default 1)',
    '  --preset P       small (64x64x16, ~2 mm, the training grid; default), realistic (512x512x40, 0.3-0.7 mm x 2.5-3 mm)',
    '                   or scanner (512x512 or 256x256 x 40-80 slices, 0.3-0.9 mm x 2.5-3 mm, heart-centred or whole-chest',
    '                   framing, varied patients, non-coronary calcium: also writes <id>_noncoronary.nii.gz)',
    '  --split S        scanner preset: train (inside the training ranges; default) or heldout (the full ranges)',
  ],
  async run(v) {
    if (!v.out) throw new UsageError('--out DIR is required');
    const count = intOption(v.count, 'count', 10, 1, MAX_PHANTOMS_STREAMED);
    const seed = seedOption(v.seed, 1);
    const preset = ((v.preset as string | undefined) ?? 'small') as PhantomPreset;
    if (!PHANTOM_PRESET_NAMES.includes(preset)) throw new UsageError(`--preset must be ${PHANTOM_PRESET_NAMES.join(', ')}, got '${preset}'`);
    const split = v.split as PhantomSplit | undefined;
    if (split !== undefined && preset !== 'scanner') throw new UsageError('--split applies to --preset scanner only');
    if (split !== undefined && !PHANTOM_SPLITS.includes(split)) throw new UsageError(`--split must be train or heldout, got '${split}'`);
    await prepareOutputFolder(v.out as string, `--out ${v.out}`);
    const bar = new ProgressLine(5);
    const opts = { seed, count, preset, ...(split ? { split } : {}) };
    await writeGeneratedCohort(v.out as string, opts, (c, i) => bar.update(i + 1, count, `${c.id} risk ${c.riskTarget}`));
    console.log(`wrote ${count} phantoms and manifest.json to ${v.out}`);
  },
};
