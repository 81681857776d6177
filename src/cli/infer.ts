/** `cacnet infer`: one scan (NIfTI file or DICOM folder) in, label map + report + montage out. */
import { Runtime } from '../gpu/runtime.js';
import { prepareOutputFolder } from '../io/output-folder.js';
import { buildModel } from '../net/model-bundle.js';
import { scoreCt } from '../net/pipeline.js';
import { readModelFile, SHIPPED_WEIGHTS } from './model-io.js';
import { UsageError, type Command } from './run-command.js';
import { ProgressLine } from './progress.js';
import { networkFindings, printScore, printWhere, scanId } from './scan-output.js';
import { writeScanOutputs } from './scan-outputs.js';
import { massScoring, printNotes, readScanFor, scanMeta, SCAN_HELP, SCAN_OPTIONS } from './scan-options.js';

export const infer: Command = {
  name: 'infer',
  summary: 'find and score coronary calcium in a scan (NIfTI file or DICOM study folder)',
  usage: 'cacnet infer <scan.nii[.gz] | dicom-folder> [--out DIR] [--weights FILE] [--series UID|N] [--mass-calibration F | --calibration-phantom P]',
  options: { out: { type: 'string' }, weights: { type: 'string' }, ...SCAN_OPTIONS },
  help: ['  --out DIR                 where to write <id>_labels.nii.gz, <id>.json, <id>_montage.png (default .)', '  --weights FILE            safetensors weights (default: the shipped ones)', ...SCAN_HELP],
  async run(v, positionals) {
    if (positionals.length !== 1) throw new UsageError('give exactly one scan: a .nii/.nii.gz file or a DICOM folder');
    const path = positionals[0]!;
    const out = (v.out as string | undefined) ?? '.';
    const weights = (v.weights as string | undefined) ?? SHIPPED_WEIGHTS;
    // Everything that can be refused is checked before the network runs.
    const scoring = await massScoring(v);
    await prepareOutputFolder(out, `--out ${out}`);
    const scan = await readScanFor(path, v);
    const bundle = await readModelFile(weights);
    const rt = await Runtime.create();
    const model = buildModel(rt, bundle);
    const bar = new ProgressLine(5);
    const r = await scoreCt(rt, model, scan, { inference: { onProgress: (d, t) => bar.update(d, t, 'windows') }, scoring });
    const id = scanId(path);
    const written = await writeScanOutputs(out, id, scan, r, { id, source: path, dims: scan.dims, spacing: scan.spacing, software: 'cacnet infer', ...scanMeta(scan), extra: { weights, ...networkFindings(r), seconds: r.seconds } });
    printScore(r.score);
    printNotes(scan);
    printWhere(r);
    console.log(`wrote ${written.join(', ')}`);
    model.dispose();
    rt.destroy();
  },
};
