#!/usr/bin/env node
/**
 * The `metallb-ts` command. Only this file sets the process exit code.
 */
import { Command } from 'commander';
import { runDemo } from './demo';

function exitWith(code: number): void {
  process.exitCode = code;
}

/** Build the command tree (exported for tests of the argument parsing). */
export function buildProgram(): Command {
  const program = new Command();
  program.name('metallb-ts').description('A TypeScript drop-in replacement for MetalLB').showHelpAfterError();

  program
    .command('demo')
    .description('start a local control plane, the network lab, controller and speakers, and show a LoadBalancer Service at work')
    .option('--once', 'print the walkthrough and tear down instead of waiting for Ctrl-C', false)
    .action(async (opts: { once: boolean }) => {
      exitWith(await runDemo({ once: opts.once, out: (line) => process.stdout.write(`${line}\n`) }));
    });

  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`metallb-ts: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    });
}
