/** `cacnet infer`: one scan (NIfTI file or DICOM folder) in, label map + report + montage out. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Runtime } from '../gpu/runtime.js';
import { readScan } from '../io/read-scan.js';
import { writeLabelMap } from '../io/nifti-file.js';
import { scoreCt } from '../net/pipeline.js';
import { writeMontagePng, writeScanReportJson } from '../scoring/report-files.js';
import { loadModelFile, SHIPPED_WEIGHTS } from './model-io.js';
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
    const scan = await readScan(path);
    const rt = await Runtime.create();
    const model = await loadModelFile(rt, weights);
    const bar = new ProgressLine(5);
    const r = await scoreCt(rt, model, scan, { inference: { onProgress: (d, t) => bar.update(d, t, 'windows') } });
    const id = scanId(path);
    await mkdir(out, { recursive: true });
    await writeLabelMap(join(out, `${id}_labels.nii.gz`), r.labels, scan.nifti);
    await writeScanReportJson(join(out, `${id}.json`), r.score, { id, source: path, dims: scan.dims, spacing: scan.spacing, software: 'cacnet infer', extra: { weights } });
    if (r.score.lesions.length) await writeMontagePng(join(out, `${id}_montage.png`), scan, r.labels);
    printScore(r.score);
    console.log(`wrote ${join(out, `${id}_labels.nii.gz`)}, ${join(out, `${id}.json`)}${r.score.lesions.length ? `, ${join(out, `${id}_montage.png`)}` : ''}`);
    model.dispose();
    rt.destroy();
  },
};
