/** Running the `cacnet` command from tests. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');

/** Node arguments for the CLI: as built (dist/) when it is up to date, else the same source through tsx. */
export function cliCommand(): string[] {
  const built = join(REPO, 'dist', 'cli', 'main.js');
  const src = join(REPO, 'src');
  const newest = Math.max(...(readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => statSync(join(src, f)).mtimeMs));
  if (existsSync(built) && statSync(built).mtimeMs >= newest) return [built];
  return ['--import', 'tsx', join(src, 'cli', 'main.ts')];
}
