/**
 * Shared plumbing for `cacnet` subcommands: argument parsing with --help, and
 * the rule that a user's mistake prints one line and exits 1, while a bug keeps
 * its stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CacnetError } from '../base/errors.js';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Lines of help below the usage, one per option. */
  help: string[];
  run(values: Record<string, string | boolean | string[] | boolean[] | undefined>, positionals: string[]): Promise<void>;
}

/** A usage mistake: printed with a pointer to --help. */
export class UsageError extends CacnetError {}

/** An integer option >= min, or `fallback` when absent; a UsageError naming the option otherwise. */
export function intOption(v: unknown, name: string, fallback: number, min = 0): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

export function parseCommand(cmd: Command, argv: string[]) {
  try {
    return parseArgs({ args: argv, options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/^.*?: /, '')} (see 'cacnet ${cmd.name} --help')`);
  }
}

export function helpText(cmd: Command): string {
  return [`cacnet ${cmd.name}: ${cmd.summary}`, '', `usage: ${cmd.usage}`, '', ...cmd.help, '  -h, --help  this help'].join('\n');
}

/** Runs a command; user errors become one line on stderr and exit code 1. */
export async function runCommand(cmd: Command, argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseCommand(cmd, argv);
    if (values.help) {
      console.log(helpText(cmd));
      return 0;
    }
    await cmd.run(values as Record<string, string | boolean | undefined>, positionals);
    return 0;
  } catch (e) {
    if (e instanceof CacnetError) {
      console.error(`cacnet ${cmd.name}: error: ${e.message}`);
      return e instanceof UsageError ? 2 : 1;
    }
    throw e;
  }
}
