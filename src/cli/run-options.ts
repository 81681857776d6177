/**
 * The options of a `cacnet train` run that decide what it computes, kept in
 * its checkpoints: `--resume` continues with them, and refuses an option given
 * again with another value (a resumed run with another schedule or data would
 * match neither the old run nor a new one). Where the checkpoints go, how
 * often, and where to stop may change between invocations.
 */
import { UsageError } from './args.js';

export type RunRecord = Record<string, string | number | boolean | null>;

/** Options of one invocation only. */
const PER_INVOCATION = new Set(['out', 'resume', 'stop-after', 'checkpoint-every', 'help']);

/**
 * The options to resume with: the stored run's, as command-line values, plus
 * this invocation's own. `resolved` is what `given` alone resolves to, to
 * compare with `stored` option by option.
 */
export function restoreRunOptions(
  given: Record<string, string | boolean | undefined>,
  resolved: RunRecord,
  stored: unknown,
  source: string,
): Record<string, string | boolean | undefined> {
  if (typeof stored !== 'object' || stored === null) throw new UsageError(`${source} does not record the options of its run (written by the library, not by cacnet train); it cannot be resumed here`);
  const run = stored as RunRecord;
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined || PER_INVOCATION.has(name) || !(name in resolved)) continue;
    if (resolved[name] !== run[name]) {
      throw new UsageError(`--${name} ${value === true ? '' : `${value} `}conflicts with the resumed run's ${String(run[name] ?? 'default')}; --resume continues with the run's own options (leave --${name} out)`);
    }
  }
  const flags: Record<string, string | boolean | undefined> = {};
  for (const [name, value] of Object.entries(run)) {
    if (value === false || value === null || value === undefined) continue;
    flags[name] = value === true ? true : String(value);
  }
  for (const name of PER_INVOCATION) if (given[name] !== undefined) flags[name] = given[name];
  return flags;
}
