/**
 * Shared plumbing for `cacnet` subcommands: argument parsing with --help,
 * option checks, and the rule that every failure is one line on stderr and a
 * non-zero exit: a user's mistake (CacnetError) exits 1, or 2 for usage; a
 * file-system error (a folder that cannot be written, a disk that fills up)
 * names its path and exits 1. Anything else is a bug and keeps its stack trace.
 */
import { CacnetError } from '../base/errors.js';
import { errorCode, fileProblem } from '../io/file-errors.js';
import { parseArgv, UsageError, type OptionSpecs } from './args.js';

export { UsageError } from './args.js';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpecs;
  /** Lines of help below the usage, one per option. */
  help: string[];
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<void>;
}

/** Phantoms a command may hold in memory at once (training, calibration): about 330 KB each at the small preset. */
export const MAX_PHANTOMS_IN_MEMORY = 2000;
/** Phantoms a command may generate one after another (phantoms, demo, eval): a bound on the run's time, not its memory. */
export const MAX_PHANTOMS_STREAMED = 10000;

/** An integer option in [min, max], or `fallback` when absent; a UsageError naming the option otherwise. */
export function intOption(v: unknown, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got '${v}'`);
  }
  return n;
}

/** A seed option: an integer from 0 to 2^32 - 1. */
export const seedOption = (v: unknown, fallback: number): number => intOption(v, 'seed', fallback, 0, 2 ** 32 - 1);

export function helpText(cmd: Command): string {
  return [`cacnet ${cmd.name}: ${cmd.summary}`, '', `usage: ${cmd.usage}`, '', ...cmd.help, '  -h, --help  this help'].join('\n');
}

/** A Node file-system error (an errno code and a syscall): its path and problem, or undefined. */
function fileSystemProblem(e: unknown): string | undefined {
  const err = e as NodeJS.ErrnoException;
  if (!errorCode(e) || !err.syscall) return undefined;
  return `${err.path ? `${err.path}: ` : ''}${fileProblem(e)}`;
}

/** Runs a command; every failure but a bug becomes one line on stderr and a non-zero exit code. */
export async function runCommand(cmd: Command, argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgv(argv, { ...cmd.options, help: { type: 'boolean', short: 'h' } }, cmd.name);
    if (values.help) {
      console.log(helpText(cmd));
      return 0;
    }
    await cmd.run(values, positionals);
    return 0;
  } catch (e) {
    if (e instanceof CacnetError) {
      console.error(`cacnet ${cmd.name}: error: ${e.message.split('\n')[0]}`);
      return e instanceof UsageError ? 2 : 1;
    }
    const fs = fileSystemProblem(e);
    if (fs) {
      console.error(`cacnet ${cmd.name}: error: ${fs}`);
      return 1;
    }
    throw e;
  }
}
