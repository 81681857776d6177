/**
 * The command-line parser of the `cacnet` commands: `--name value`,
 * `--name=value`, boolean `--flag`, `-h`, positionals and `--`. Our own
 * rather than node:util's parseArgs so that every mistake is one line in our
 * words, and so that an option's value may start with a dash: `--seed -5`
 * reads '-5' as the seed, which the option's own check then refuses.
 */
import { CacnetError } from '../base/errors.js';

/** A usage mistake: printed with a pointer to --help, exit code 2. */
export class UsageError extends CacnetError {}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parses `argv` against `options`; `command` names the command in messages. */
export function parseArgv(argv: readonly string[], options: OptionSpecs, command: string): ParsedArgs {
  const values: ParsedArgs['values'] = {};
  const positionals: string[] = [];
  const help = ` (see 'cacnet ${command} --help')`;
  const byShort = new Map(Object.entries(options).filter(([, o]) => o.short).map(([name, o]) => [o.short!, name]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const written = eq > 0 ? arg.slice(0, eq) : arg;
    const name = written.startsWith('--') ? written.slice(2) : byShort.get(written.slice(1));
    const spec = name !== undefined && Object.hasOwn(options, name) ? options[name] : undefined;
    if (name === undefined || !spec) throw new UsageError(`unknown option '${written}'${help}`);
    if (values[name] !== undefined) throw new UsageError(`${written} is given twice${help}`);
    if (spec.type === 'boolean') {
      if (eq > 0) throw new UsageError(`${written} takes no value${help}`);
      values[name] = true;
    } else if (eq > 0) {
      values[name] = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      // '--out --resume' is a forgotten value, not a folder named '--resume'.
      if (next === undefined || (next.startsWith('--') && Object.hasOwn(options, next.slice(2).split('=')[0]!))) throw new UsageError(`${written} needs a value${help}`);
      values[name] = next;
      i++;
    }
  }
  return { values, positionals };
}
