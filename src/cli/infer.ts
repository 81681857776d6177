/** `cacnet infer`: one scan (NIfTI file or DICOM folder) in, label map + report + montage out. */
import { join } from 'node:path';
import { Runtime } from '../gpu/runtime.js';
import { readScan } from '../io/read-scan.js';
import { writeFilesAtomic } from '../io/atomic-write.js';
import { labelMapFile } from '../io/nifti-file.js';
import { prepareOutputFolder } from '../io/output-folder.js';
import { scoreCt } from '../net/pipeline.js';
import { buildModel } from '../net/model-bundle.js';
import { montageFile, scanReportFile } from '../scoring/report-files.js';
import { readModelFile, SHIPPED_WEIGHTS } from './model-io.js';
import { UsageError, type Command } from './run-command.js';
import { ProgressLine } from './progress.js';
import { printScore, scanId } from './scan-output.js';

export const infer: Command = {
  name: 'infer',
  summary: 'find and score coronary calcium in a scan (NIfTI file or DICOM folder)',
  usage: 'cacnet infer <scan.nii[.gz] | dicom-folder> [--out DIR] [--weights FILE]',
  options: { out: { type: 'string' }, weights: { type: 'string' } },
  help: ['  --out DIR       where to write <id>_labels.nii.gz, <id>.json, <id>_montage.png (default .)', '  --weights FILE  safetensors weights (default: the shipped ones)'],
  async run(v, positionals) {
    if (positionals.length !== 1) throw new UsageError('give exactly one scan: a .nii/.nii.gz file or a DICOM folder');
    const path = positionals[0]!;
    const out = (v.out as string | undefined) ?? '.';
    const weights = (v.weights as string | undefined) ?? SHIPPED_WEIGHTS;
    // Everything that can be refused is checked before the network runs.
    await prepareOutputFolder(out, `--out ${out}`);
    const scan = await readScan(path);
    const bundle = await readModelFile(weights);
    const rt = await Runtime.create();
    const model = buildModel(rt, bundle);
    const bar = new ProgressLine(5);
    const r = await scoreCt(rt, model, scan, { inference: { onProgress: (d, t) => bar.update(d, t, 'windows') } });
    const id = scanId(path);
    const files = [
      await labelMapFile(join(out, `${id}_labels.nii.gz`), r.labels, scan.nifti),
      scanReportFile(join(out, `${id}.json`), r.score, { id, source: path, dims: scan.dims, spacing: scan.spacing, software: 'cacnet infer', extra: { weights } }),
      ...(r.score.lesions.length ? [montageFile(join(out, `${id}_montage.png`), scan, r.labels)] : []),
    ];
    await writeFilesAtomic(files);
    printScore(r.score);
    console.log(`wrote ${files.map((f) => f.path).join(', ')}`);
    model.dispose();
    rt.destroy();
  },
};
