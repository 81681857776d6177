/** `cacnet score`: scores from a CT and a label map (no network). */
import { join } from 'node:path';
import { InputError } from '../base/errors.js';
import { readNifti } from '../io/nifti-file.js';
import { scoreScan } from '../scoring/score.js';
import { checkLabels } from '../scoring/validate.js';
import { PRESETS } from '../scoring/presets.js';
import { montageFile, scanReportFile } from '../scoring/report-files.js';
import { writeFilesAtomic } from '../io/atomic-write.js';
import { prepareOutputFolder } from '../io/output-folder.js';
import { printScore, scanId } from './scan-output.js';
import { UsageError, type Command } from './run-command.js';
import { massScoring, printNotes, readScanFor, scanMeta, SCAN_HELP, SCAN_OPTIONS } from './scan-options.js';

export const score: Command = {
  name: 'score',
  summary: 'Agatston, volume, mass and risk per artery from a CT and a label map',
  usage: 'cacnet score <ct.nii[.gz] | dicom-folder> <labels.nii[.gz]> [--out DIR] [--preset NAME] [--connectivity 6|26] [--mass-calibration F | --calibration-phantom P]',
  options: { out: { type: 'string' }, preset: { type: 'string' }, connectivity: { type: 'string' }, 'min-volume': { type: 'string' }, ...SCAN_OPTIONS },
  help: [
    '  --out DIR           write <id>.json (and a montage) there',
    `  --preset NAME       scoring conventions: ${Object.keys(PRESETS).join(', ')} (default orcascore)`,
    '  --connectivity N    6 (default) or 26',
    '  --min-volume MM3    smallest lesion counted (default 1.5)',
    ...SCAN_HELP,
  ],
  async run(v, positionals) {
    if (positionals.length !== 2) throw new UsageError('give a CT (NIfTI or DICOM folder) and a label map (NIfTI)');
    const [ctPath, labelPath] = positionals as [string, string];
    const connectivity = v.connectivity === undefined ? undefined : Number(v.connectivity);
    if (connectivity !== undefined && connectivity !== 6 && connectivity !== 26) throw new UsageError(`--connectivity must be 6 or 26, got '${v.connectivity}'`);
    const minVol = v['min-volume'] === undefined ? undefined : Number(v['min-volume']);
    if (minVol !== undefined && !(minVol >= 0 && Number.isFinite(minVol))) throw new UsageError(`--min-volume must be a finite number >= 0, got '${v['min-volume']}'`);
    const preset = v.preset as string | undefined;
    if (preset !== undefined && !(preset in PRESETS)) throw new UsageError(`unknown --preset '${preset}'; choose ${Object.keys(PRESETS).join(', ')}`);
    const mass = await massScoring(v);
    const out = v.out as string | undefined;
    if (out !== undefined) await prepareOutputFolder(out, `--out ${out}`);
    const ct = await readScanFor(ctPath, v);
    const lab = await readNifti(labelPath);
    if (lab.dims.some((d, i) => d !== ct.dims[i])) throw new InputError(`${labelPath}: label map is ${lab.dims.join('x')}, the CT is ${ct.dims.join('x')}`);
    const data = new Uint8Array(lab.data.length);
    for (let i = 0; i < data.length; i++) {
      const l = lab.data[i]!;
      if (!(l === 0 || l === 1 || l === 2 || l === 3)) throw new InputError(`${labelPath}: voxel ${i} has label ${l}; expected 0 (background), 1 LAD, 2 LCX or 3 RCA`);
      data[i] = l;
    }
    // The map's own grid, which must be the CT's (spacing, origin, orientation).
    const labels = { data, dims: lab.dims, spacing: lab.spacing, affine: lab.affine };
    checkLabels(ct, labels, labelPath);
    const s = scoreScan(ct, labels, { preset, connectivity: connectivity as 6 | 26 | undefined, minLesionVolumeMm3: minVol, ...mass });
    printScore(s);
    printNotes(ct);
    if (out !== undefined) {
      const id = scanId(ctPath);
      await writeFilesAtomic([
        scanReportFile(join(out, `${id}.json`), s, { id, source: ctPath, dims: ct.dims, spacing: ct.spacing, software: 'cacnet score', ...scanMeta(ct) }),
        ...(s.lesions.length ? [montageFile(join(out, `${id}_montage.png`), ct, labels)] : []),
      ]);
    }
  },
};
