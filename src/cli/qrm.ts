/**
 * `cacnet qrm`: a QRM thorax phantom scan with the cardiac calcification
 * insert: the mass calibration measured on its rods, and its nine inserts
 * scored against their known hydroxyapatite masses (and, if given, an FQM
 * reference CSV of the same scan).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../base/errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { writeLabelMap } from '../io/nifti-file.js';
import { measureRodCalibration, scoreQrmInserts } from '../scoring/qrm-calibration.js';
import { insertsLabelMap, locateQrmPhantom } from '../scoring/qrm-phantom.js';
import { readScanFor } from './scan-options.js';
import { type Command } from './run-command.js';

interface Reference {
  agatston: number;
  volume: number;
  mass: number;
}

/** The FQM results CSV (Calcification, Volume score, Agatston score, Mass score, ...), by insert name. */
async function readReference(path: string): Promise<Map<string, Reference>> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new InputError(`${path}: cannot read the reference CSV`);
  });
  const [head, ...rows] = text.trim().split(/\r?\n/);
  const cols = head!.split(',');
  const at = (name: string) => {
    const i = cols.indexOf(name);
    if (i < 0) throw new InputError(`${path}: no '${name}' column (an FQM results CSV has Calcification, Volume score, Agatston score, Mass score)`);
    return i;
  };
  const [name, vol, ag, mass] = [at('Calcification'), at('Volume score'), at('Agatston score'), at('Mass score')];
  return new Map(rows.map((r) => r.split(',')).map((c) => [c[name]!, { volume: Number(c[vol]), agatston: Number(c[ag]), mass: Number(c[mass]) }]));
}

const f = (x: number, d = 1) => x.toFixed(d);
const pct = (x: number, ref: number) => (ref > 0 ? `${x >= ref ? '+' : ''}${(((x - ref) / ref) * 100).toFixed(1)}%` : '-');

export const qrm: Command = {
  name: 'qrm',
  summary: 'QRM calcium phantom: mass calibration from its rods, the nine inserts against their known masses',
  usage: 'cacnet qrm <qrm-scan (DICOM folder or NIfTI)> [--reference FQM.csv] [--out DIR]',
  options: { reference: { type: 'string' }, out: { type: 'string' }, series: { type: 'string' } },
  help: [
    '  --reference CSV   an FQM results CSV of the same scan: its Agatston, volume and mass per insert are shown beside ours',
    '  --out DIR         write qrm_inserts.csv and qrm_labels.nii.gz (insert regions: 1 = 800, 2 = 400, 3 = 200 mg HA/cm^3)',
    '  --series UID|N    the series of a DICOM study to read',
  ],
  async run(v, positionals) {
    if (positionals.length !== 1) throw new InputError('give one QRM phantom scan (a DICOM folder or a NIfTI file)');
    const ct = await readScanFor(positionals[0]!, v);
    const ref = v.reference ? await readReference(v.reference as string) : undefined;
    const g = locateQrmPhantom(ct);
    const cal = measureRodCalibration(ct, g);
    const scores = scoreQrmInserts(ct, g, { massCalibration: cal.massCalibration, massZeroHU: cal.massZeroHU });
    console.log(`rods (slices ${cal.slices.join(', ')}): 200 mg HA/cm^3 ${f(cal.hu200)} HU, water ${f(cal.huWater)} HU`);
    console.log(`mass calibration ${cal.massCalibration.toPrecision(4)} mg/(mm^3 HU), zero ${f(cal.massZeroHU)} HU  (use: --mass-calibration ${cal.massCalibration.toPrecision(4)} --mass-zero-hu ${f(cal.massZeroHU)})`);
    console.log(`insert       Agatston${ref ? '      ref' : ''}   volume mm3${ref ? '      ref' : ''}   mass mg   known mg   error${ref ? '   ref mass' : ''}`);
    const csv = ['insert,diameter_mm,density_mg_cm3,known_mass_mg,agatston,volume_mm3,mass_mg,mass_error_pct' + (ref ? ',ref_agatston,ref_volume_mm3,ref_mass_mg' : '')];
    for (const s of scores) {
      const r = ref?.get(s.insert.name);
      const refCol = (x: number | undefined, w: number) => (ref ? (x === undefined ? '-' : f(x)).padStart(w) : '');
      console.log(
        `${s.insert.name.padEnd(10)} ${f(s.agatston).padStart(10)}${refCol(r?.agatston, 9)} ${f(s.volumeMm3).padStart(12)}${refCol(r?.volume, 9)} ${f(s.massMg, 2).padStart(9)} ${f(s.insert.knownMassMg, 2).padStart(10)} ${pct(s.massMg, s.insert.knownMassMg).padStart(7)}${refCol(r?.mass, 11)}`,
      );
      csv.push([s.insert.name, s.insert.diameterMm, s.insert.densityMgCm3, f(s.insert.knownMassMg, 4), f(s.agatston, 4), f(s.volumeMm3, 4), f(s.massMg, 4), f(((s.massMg - s.insert.knownMassMg) / s.insert.knownMassMg) * 100, 2), ...(ref ? [r?.agatston ?? '', r?.volume ?? '', r?.mass ?? ''] : [])].join(','));
    }
    if (v.out) {
      const out = v.out as string;
      await mkdir(out, { recursive: true });
      await writeFileAtomic(join(out, 'qrm_inserts.csv'), new TextEncoder().encode(`${csv.join('\n')}\n`));
      await writeLabelMap(join(out, 'qrm_labels.nii.gz'), insertsLabelMap(ct, g), ct.nifti);
      console.log(`wrote ${join(out, 'qrm_inserts.csv')}, ${join(out, 'qrm_labels.nii.gz')}`);
    }
  },
};
