/** The files a scored scan leaves (infer and batch): label map, montage, and the JSON report last. */
import { join } from 'node:path';
import type { Scan } from '../io/read-scan.js';
import { writeLabelMap } from '../io/nifti-file.js';
import type { ScanResult } from '../net/pipeline.js';
import { writeMontagePng, writeScanReportJson } from '../scoring/report-files.js';
import type { ScanReportMeta } from '../scoring/report-json.js';

/**
 * Writes <id>_labels.nii.gz, <id>_montage.png (when there are lesions) and
 * <id>.json into `dir`, each atomically. The report goes last, so its presence
 * means the scan's outputs are complete (batch runs resume on it).
 */
export async function writeScanOutputs(dir: string, id: string, scan: Scan, r: ScanResult, meta: ScanReportMeta): Promise<string[]> {
  const paths = [join(dir, `${id}_labels.nii.gz`)];
  await writeLabelMap(paths[0]!, r.labels, scan.nifti);
  if (r.score.lesions.length) {
    paths.push(join(dir, `${id}_montage.png`));
    await writeMontagePng(paths[1]!, scan, r.labels);
  }
  const report = join(dir, `${id}.json`);
  await writeScanReportJson(report, r.score, meta);
  return [paths[0]!, report, ...paths.slice(1)];
}
