#!/usr/bin/env node
/** The `cacnet` command. */
import { batch } from './batch.js';
import { bench } from './bench.js';
import { calibrate } from './calibrate.js';
import { demo } from './demo.js';
import { doctor } from './doctor.js';
import { evalCommand } from './eval.js';
import { infer } from './infer.js';
import { phantoms } from './phantoms.js';
import { qrm } from './qrm.js';
import { score } from './score.js';
import { trainCommand } from './train.js';
import { helpText, runCommand, type Command } from './run-command.js';

const COMMANDS: Command[] = [demo, trainCommand, calibrate, infer, batch, score, evalCommand, phantoms, qrm, bench, doctor];

function usage(): string {
  return [
    'cacnet: artery-specific coronary calcium scoring (CAC-Net) on a WebGPU engine',
    '',
    'usage: cacnet <command> [options]   (cacnet <command> --help for details)',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const sub = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    console.log(sub ? helpText(sub) : usage());
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(`cacnet: error: unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')}; see 'cacnet --help')`);
    return 2;
  }
  return runCommand(cmd, rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code || process.exitCode;
  },
  (e) => {
    console.error(e);
    process.exitCode = 70;
  },
);
