/** The files a scored scan leaves (infer and batch): label map, montage and the JSON report, as one set. */
import { join } from 'node:path';
import { writeFilesAtomic } from '../io/atomic-write.js';
import type { Scan } from '../io/read-scan.js';
import { labelMapFile } from '../io/nifti-file.js';
import type { ScanResult } from '../net/pipeline.js';
import { montageFile, scanReportFile } from '../scoring/report-files.js';
import type { ScanReportMeta } from '../scoring/report-json.js';

/**
 * Writes <id>_labels.nii.gz, <id>_montage.png (when there are lesions) and
 * <id>.json into `dir` as one set (see writeFilesAtomic): a failure leaves none
 * of them. The report is renamed into place last, so its presence means the
 * scan's outputs are complete (batch runs resume on it). Returns the paths.
 */
export async function writeScanOutputs(dir: string, id: string, scan: Scan, r: ScanResult, meta: ScanReportMeta): Promise<string[]> {
  const files = [
    await labelMapFile(join(dir, `${id}_labels.nii.gz`), r.labels, scan.nifti),
    ...(r.score.lesions.length ? [montageFile(join(dir, `${id}_montage.png`), scan, r.labels)] : []),
    scanReportFile(join(dir, `${id}.json`), r.score, meta),
  ];
  await writeFilesAtomic(files);
  return files.map((f) => f.path);
}
