/** `cacnet phantoms`: writes a cohort of synthetic cardiac CT phantoms with ground truth. */
import { writeGeneratedCohort } from '../io/phantom-cohort.js';
import type { PhantomPreset } from '../io/phantom.js';
import { prepareOutputFolder } from '../io/output-folder.js';
import { intOption, MAX_PHANTOMS_STREAMED, UsageError, seedOption, type Command } from './run-command.js';
import { ProgressLine } from './progress.js';

export const phantoms: Command = {
  name: 'phantoms',
  summary: 'write synthetic cardiac CT phantoms (CT + label NIfTI pairs and a manifest)',
  usage: 'cacnet phantoms --out DIR [--count N] [--seed S] [--preset small|realistic]',
  options: { out: { type: 'string' }, count: { type: 'string' }, seed: { type: 'string' }, preset: { type: 'string' } },
  help: [
    '  --out DIR        folder to write <id>_ct.nii.gz, <id>_label.nii.gz and manifest.json',
    '  --count N        phantoms (default 10); risk categories cycle 0, 1-10, 11-100, 101-400, >400',
    '  --seed S         cohort seed (default 1)',
    '  --preset P       small (64x64x16, ~2 mm, the training grid; default) or realistic (512x512x40, 0.3-0.7 mm x 2.5-3 mm)',
  ],
  async run(v) {
    if (!v.out) throw new UsageError('--out DIR is required');
    const count = intOption(v.count, 'count', 10, 1, MAX_PHANTOMS_STREAMED);
    const seed = seedOption(v.seed, 1);
    const preset = ((v.preset as string | undefined) ?? 'small') as PhantomPreset;
    if (preset !== 'small' && preset !== 'realistic') throw new UsageError(`--preset must be small or realistic, got '${preset}'`);
    await prepareOutputFolder(v.out as string, `--out ${v.out}`);
    const bar = new ProgressLine(5);
    await writeGeneratedCohort(v.out as string, { seed, count, preset }, (c, i) => bar.update(i + 1, count, `${c.id} risk ${c.riskTarget}`));
    console.log(`wrote ${count} phantoms and manifest.json to ${v.out}`);
  },
};
