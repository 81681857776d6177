/** What `cacnet infer` and `cacnet score` print and name their files by. */
import { basename } from 'node:path';
import { ARTERIES } from '../io/volume.js';
import type { ScanScore } from '../scoring/score.js';
import type { ScanResult } from '../net/pipeline.js';

/** A scan's id for output file names: the file or folder name without .nii/.nii.gz. */
export function scanId(path: string): string {
  return basename(path.replace(/\/+$/, '')).replace(/\.nii(\.gz)?$/i, '') || 'scan';
}

/** The per-artery score table and the risk category. */
export function printScore(score: ScanScore): void {
  console.log('artery   Agatston   volume mm3   mass mg   lesions');
  for (const a of [...ARTERIES, 'total'] as const) {
    const s = a === 'total' ? score.total : score.perArtery[a];
    console.log(`${a.padEnd(6)} ${s.agatston.toFixed(1).padStart(10)} ${s.volumeMm3.toFixed(1).padStart(12)} ${s.massMg.toFixed(1).padStart(9)} ${String(s.lesionCount).padStart(9)}`);
  }
  console.log(`risk category ${score.riskCategory}: ${score.riskLabel}   (${score.conventions.sliceThicknessNormalisation})`);
}

/** What a report records of how the network got its labels: where the heart was, the noise, the floor and what the checks set aside. */
export function networkFindings(r: ScanResult): Record<string, unknown> {
  return { ...(r.heart ? { heart: r.heart } : {}), noiseHU: Math.round(r.noiseHU * 10) / 10, lesionPeakFloorHU: Math.round(r.floorHU * 10) / 10, setAside: r.setAside };
}

/** Where the network looked and where the time went, in one line. */
export function printWhere(r: ScanResult): void {
  const where = r.heart
    ? `heart found ${r.heart.method === 'lungs' ? 'between the lungs' : r.heart.method === 'body' ? 'at the body\'s centre (no lungs found)' : 'nowhere: field-of-view centre used'} at (${r.heart.centreMm.map((v) => v.toFixed(0)).join(', ')}) mm; `
    : '';
  const phases = Object.entries(r.seconds).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
  if (Number.isFinite(r.noiseHU)) console.log(`image noise ${r.noiseHU.toFixed(0)} HU (SD); a lesion counts from a peak of ${r.floorHU.toFixed(0)} HU`);
  const { belowFloor, partOfBone, farFromArteries } = r.setAside;
  if (belowFloor + partOfBone + farFromArteries) {
    console.log(`set aside: ${belowFloor} labelled lesion(s) below that peak, ${partOfBone} part of a bone, ${farFromArteries} too far from every artery to be coronary`);
  }
  console.log(`${where}${(r.inferenceSeconds + (r.seconds.scoring ?? 0)).toFixed(1)} s (${phases})`);
}
