/**
 * Output folders, checked before any work is done: a command that would
 * compute for minutes and then fail to write its results checks first that
 * the folder exists or can be made, is a folder, and takes files.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '../base/errors.js';
import { fileProblem as reason } from './file-errors.js';

/**
 * Makes `dir` (and missing parents) and checks a file can be written in it;
 * `what` names it in messages (e.g. '--out runs/x'). Folders are made one at
 * a time, not with mkdir's recursive mode, which never returns under /proc.
 */
export async function prepareOutputFolder(dir: string, what = dir): Promise<void> {
  const missing: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    const info = await stat(at).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw new InputError(`${what}: ${at} cannot be used (${reason(e)})`);
    });
    if (info) {
      if (!info.isDirectory()) throw new InputError(`${what}: ${at} is not a folder`);
      break;
    }
    missing.push(at);
    if (dirname(at) === at) break;
  }
  for (const folder of missing.reverse()) {
    await mkdir(folder).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw new InputError(`${what}: cannot create ${folder} (${reason(e)})`);
    });
  }
  const probe = join(dir, `.cacnet-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(probe, '');
  } catch (e) {
    throw new InputError(`${what}: cannot write files in ${resolve(dir)} (${reason(e)})`);
  }
  await rm(probe, { force: true });
}
