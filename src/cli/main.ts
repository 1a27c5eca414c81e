#!/usr/bin/env node
/**
 * The `metallb-ts` command: `controller`, `speaker`, `validate`, `status`, `demo`. Only this file sets the
 * process exit code; every bad flag or file is reported with the flag or path named.
 */
import { Command, Option } from 'commander';
import { addControllerFlags, controllerOptionsFrom } from '../controller/controller-options';
import { addSpeakerFlags, speakerOptionsFrom } from '../speaker/speaker-options';
import { createRootLogger } from '../util/log';
import { StatusOutput } from './status';

// Each command's modules are loaded when it runs: a controller pod never holds the speaker's,
// the validator's (ajv, CEL) or the status command's code (docs/controller.md, "Memory").

function line(stream: NodeJS.WriteStream): (s: string) => void {
  return (s) => stream.write(`${s}\n`);
}

/** Build the command tree (exported for tests of the argument parsing). */
export function buildProgram(): Command {
  const program = new Command();
  program.name('metallb-ts').description('A TypeScript drop-in replacement for MetalLB').showHelpAfterError();

  addControllerFlags(program.command('controller').description('run the controller: config validation, IP allocation, Service status')).action(
    async (flags: Record<string, unknown>) => {
      const opts = controllerOptionsFrom(flags);
      const { runController } = await import('../controller/main.js');
      const exit = await runController(opts, createRootLogger(opts.logLevel));
      // Losing leadership ends the process so the Deployment restarts it as a clean standby.
      process.exitCode = exit.reason === 'lostLeadership' ? 1 : 0;
    },
  );

  addSpeakerFlags(program.command('speaker').description('run the speaker on this node: L2 (ARP/NDP) and BGP announcements')).action(
    async (flags: Record<string, unknown>) => {
      const opts = speakerOptionsFrom(flags);
      const { runSpeaker } = await import('../speaker/main.js');
      await runSpeaker(opts, createRootLogger(opts.logLevel));
      process.exitCode = 0;
    },
  );

  program
    .command('validate')
    .description('check metallb.io manifests offline against the CRDs and with the controller\'s own parser (exit 1 on config errors, 2 on unreadable input)')
    .argument('<paths...>', 'YAML/JSON files or directories')
    .option('--namespace <ns>', 'release namespace: objects elsewhere are ignored with a warning')
    .option('--crds <dir>', 'directory of the metallb.io CRD manifests (default: the chart\'s)')
    .action(async (paths: string[], flags: { namespace?: string; crds?: string }) => {
      const options = { ...(flags.namespace ? { namespace: flags.namespace } : {}), ...(flags.crds ? { crdDir: flags.crds } : {}) };
      const { runValidate } = await import('./validate.js');
      process.exitCode = await runValidate(paths, { stdout: line(process.stdout), stderr: line(process.stderr) }, options);
    });

  program
    .command('status')
    .description('show, read-only from the apiserver, who holds each L2 VIP and the state of every BGP session')
    .option('--namespace <ns>', 'release namespace', 'metallb-system')
    .option('--kubeconfig <path>', 'kubeconfig file (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(Object.values(StatusOutput)).default(StatusOutput.Table))
    .action(async (flags: { namespace: string; kubeconfig?: string; output: StatusOutput }) => {
      const opts = { namespace: flags.namespace, output: flags.output, ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}) };
      const { runStatus } = await import('./status.js');
      process.exitCode = await runStatus(opts, { stdout: line(process.stdout), stderr: line(process.stderr) });
    });

  program
    .command('demo')
    .description('start a local control plane, the network lab, controller and speakers, and show a LoadBalancer Service at work')
    .option('--once', 'print the walkthrough and tear down instead of waiting for Ctrl-C', false)
    .option('--cluster', 'a real two-node cluster instead (containerd, kubelet, kube-proxy per node; helm install of the chart), for kubectl', false)
    .action(async (opts: { once: boolean; cluster: boolean }) => {
      // Loaded on demand: the demo uses the test harness, which the container image does not ship.
      if (opts.cluster) {
        const { runClusterDemo } = await import('./demo-cluster.js');
        process.exitCode = await runClusterDemo({ once: opts.once, out: line(process.stdout) });
        return;
      }
      const { runDemo } = await import('./demo.js');
      process.exitCode = await runDemo({ once: opts.once, out: line(process.stdout) });
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
