/**
 * Plumbing for the hostile-input tests (hardening and fuzz): a small phantom
 * written as NIfTI (plain and gzipped), as a DICOM series and as a label map;
 * commands run in this process with their output captured; and the rule every
 * failure must follow (one line, non-zero, no stack trace).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, vi } from 'vitest';
import { runCommand, type Command } from '../../src/cli/run-command.js';
import { decodeDicomSeries } from '../../src/io/dicom.js';
import { encodeCtNifti, encodeLabelMapNifti, gzip } from '../../src/io/nifti.js';
import { generatePhantom } from '../../src/phantom/phantom.js';
import type { LabelMap, Volume } from '../../src/io/volume.js';
import { scoreScan, type ScanScore } from '../../src/scoring/score.js';
import { encodeCtSlice } from './dicom-writer.js';

export interface CliResult {
  code: number;
  stdout: string[];
  stderr: string[];
  /** What escaped runCommand: a bug, which the real CLI would print with its stack trace. */
  crash?: unknown;
}

const lines = (parts: unknown[]) => parts.map(String).join(' ').split('\n');

/** Runs a command as `cacnet` would, in this process, capturing what it prints (progress bars dropped). */
export async function runInProcess(cmd: Command, argv: string[]): Promise<CliResult> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void stdout.push(...lines(a)));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void stderr.push(...lines(a)));
  const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: await runCommand(cmd, argv), stdout, stderr };
  } catch (crash) {
    return { code: 70, stdout, stderr, crash };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

/**
 * The failure rule: non-zero, no crash, and the error is one line naming the
 * command, the last on stderr, matching `pattern` (progress notes before it,
 * such as 'generating 2 training phantoms', are not errors).
 */
export function expectOneLineFailure(r: CliResult, pattern: RegExp, code = 1): void {
  expect(r.crash, String((r.crash as Error | undefined)?.stack)).toBeUndefined();
  expect(r.code).toBe(code);
  const errors = r.stderr.filter((l) => /error/i.test(l) || /^\s+at /.test(l));
  expect(errors).toHaveLength(1);
  expect(r.stderr[r.stderr.length - 1]).toBe(errors[0]);
  expect(errors[0]).toMatch(/^cacnet \w+: error: /);
  expect(errors[0]).toMatch(pattern);
}

export interface Fixture {
  dir: string;
  ct: Volume;
  labels: LabelMap;
  /** The score of ct with labels: what an accepted, unchanged input must give. */
  score: ScanScore;
  /** Uncompressed int16 NIfTI of the CT (header at its standard offsets) and its path. */
  niiBytes: Uint8Array;
  nii: string;
  niiGz: string;
  labelsPath: string;
  /** A DICOM series folder of the same CT, its files' bytes, and a label map on its grid. */
  dicom: string;
  dicomFiles: Array<[string, Uint8Array]>;
  dicomLabelsPath: string;
}

/** A 32 × 32 × 8 phantom with calcium, written every way the readers take it. */
export async function writeFixture(dir: string): Promise<Fixture> {
  await mkdir(dir, { recursive: true });
  const p = generatePhantom({ seed: 11, preset: 'small', riskTarget: 3, dims: [32, 32, 8] });
  const ct = p.ct;
  const labels = p.labels;
  const niiBytes = encodeCtNifti(ct);
  const nii = join(dir, 'ct.nii');
  const niiGz = join(dir, 'ct.nii.gz');
  const labelsPath = join(dir, 'labels.nii.gz');
  await writeFile(nii, niiBytes);
  await writeFile(niiGz, await gzip(niiBytes));
  await writeFile(labelsPath, await gzip(encodeLabelMapNifti(labels)));

  const [nx, ny, nz] = ct.dims;
  const [dx, dy, dz] = ct.spacing;
  const dicomFiles: Array<[string, Uint8Array]> = [];
  for (let k = 0; k < nz; k++) {
    const pixels = Array.from(ct.data.subarray(k * nx * ny, (k + 1) * nx * ny), (v) => Math.round(v));
    const slice = encodeCtSlice({ seriesUid: '1.2.826.0.1.3680043.2.1143.7', instanceNumber: k + 1, rows: ny, columns: nx, pixelSpacing: [dy, dx], orientation: [1, 0, 0, 0, 1, 0], position: [-20, -30, 40 + dz * k], pixels, signed: true });
    dicomFiles.push([`IM${String(k).padStart(3, '0')}.dcm`, slice]);
  }
  const dicom = join(dir, 'dicom');
  await mkdir(dicom, { recursive: true });
  for (const [name, bytes] of dicomFiles) await writeFile(join(dicom, name), bytes);
  const fromDicom = decodeDicomSeries(dicomFiles.map(([name, bytes]) => ({ name, bytes })), dicom);
  const dicomLabelsPath = join(dir, 'dicom-labels.nii.gz');
  await writeFile(dicomLabelsPath, await gzip(encodeLabelMapNifti({ ...labels, spacing: fromDicom.spacing, affine: fromDicom.affine })));
  return { dir, ct, labels, score: scoreScan(ct, labels), niiBytes, nii, niiGz, labelsPath, dicom, dicomFiles, dicomLabelsPath };
}

/** A copy of `bytes` with `edit` applied through a DataView. */
export function edited(bytes: Uint8Array, edit: (v: DataView, b: Uint8Array) => void): Uint8Array {
  const copy = bytes.slice();
  edit(new DataView(copy.buffer), copy);
  return copy;
}

/** NIfTI-1 header offsets of the fields the tests change (little-endian files). */
export const NIFTI = { dim: 40, datatype: 70, bitpix: 72, pixdim: 76, voxOffset: 108, sclSlope: 112, sclInter: 116, xyztUnits: 123, qformCode: 252, sformCode: 254, srow: 280, magic: 344 } as const;
