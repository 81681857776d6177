/**
 * Calcium scoring, evaluation and reports: plain CPU code, no GPU needed.
 * This barrel includes the Node-only writers (report-files.ts, montage's PNG);
 * browser code imports the pure modules directly.
 */
export * from './score.js';
export * from './lesions.js';
export * from './agatston.js';
export * from './risk.js';
export * from './presets.js';
export * from './evaluate.js';
export * from './stats.js';
export * from './distributions.js';
export * from './cohort.js';
export * from './folds.js';
export * from './report-json.js';
export * from './report-csv.js';
export * from './montage.js';
export * from './report-files.js';
export * from './batch-csv.js';
export * from './qrm-phantom.js';
export * from './qrm-calibration.js';
export { checkCt, checkLabels } from './validate.js';
