/** Running the `cacnet` command from tests. */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const REPO = join(import.meta.dirname, '..', '..');

/** Node arguments for the CLI: as built (dist/) when it is up to date, else the same source through tsx. */
export function cliCommand(): string[] {
  const built = join(REPO, 'dist', 'cli', 'main.js');
  const src = join(REPO, 'src');
  const newest = Math.max(...(readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => statSync(join(src, f)).mtimeMs));
  if (existsSync(built) && statSync(built).mtimeMs >= newest) return [built];
  return ['--import', 'tsx', join(src, 'cli', 'main.ts')];
}

/** Runs `cacnet args...` in a child process; its exit code and output, whether it succeeds or not. */
export async function runCli(args: string[], timeoutMs = 300_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [...cliCommand(), ...args], { cwd: REPO, timeout: timeoutMs });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
