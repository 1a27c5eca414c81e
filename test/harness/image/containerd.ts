/**
 * A containerd of its own for a lab node: its own root, state, sockets and CRI settings in one
 * scratch directory, so several can run beside each other and beside any system containerd. The
 * CRI plugin's containers start from a base runtime spec without `process.rlimits` (root on the
 * lab machines lacks CAP_SYS_RESOURCE; containerd's default RLIMIT_NOFILE is then refused once it
 * exceeds the machine's hard limit), and `restrict_oom_score_adj` keeps the pause container's
 * oom_score_adj at or above containerd's own (lowering it needs CAP_SYS_RESOURCE too).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessExit } from '../cleanup';
import { pidAlive, stopPids, waitFor } from '../lab-exec';
import { readProcs, shimTree } from './shim-tree';

/** Room for the imported archives and their unpacked snapshots (the product image is the largest). */
const ROOT_TMPFS_SIZE = '4g';

/** The OCI spec the CRI plugin starts every container from: containerd's default minus rlimits. Pure. */
export function baseRuntimeSpec(defaultSpec: Record<string, unknown>): Record<string, unknown> {
  const proc = { ...(defaultSpec['process'] as Record<string, unknown>) };
  delete proc['rlimits'];
  return { ...defaultSpec, process: proc };
}

/** containerd's config.toml (version 2) for one node whose files all live under `dir`. Pure. */
export function containerdConfig(dir: string, sandboxImage: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return [
    'version = 2',
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    '[grpc]',
    `  address = "${dir}/containerd.sock"`,
    '[ttrpc]',
    `  address = "${dir}/containerd.sock.ttrpc"`,
    '[debug]',
    `  address = "${dir}/debug.sock"`,
    `[${cri}]`,
    `  sandbox_image = "${sandboxImage}"`,
    '  restrict_oom_score_adj = true',
    `[${cri}.containerd]`,
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    `[${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `  base_runtime_spec = "${dir}/base-spec.json"`,
    `[${cri}.cni]`,
    '  bin_dir = "/usr/lib/cni"',
    `  conf_dir = "${dir}/cni"`,
    '',
  ].join('\n');
}

/** Exit code and output of one ctr command. */
export interface CtrResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running containerd. */
export interface Containerd {
  dir: string;
  socket: string;
  pid: number;
  ctr(args: readonly string[], namespace?: string): Promise<CtrResult>;
  stop(): Promise<void>;
  /** Milliseconds each phase of `stop()` took (tasks, shims, exit, unmounts, files). */
  readonly stopMs: Record<string, number>;
}

function exec(cmd: string, args: readonly string[]): Promise<CtrResult> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Options of {@link startContainerd}. */
export interface ContainerdOptions {
  /**
   * Run containerd inside this named network namespace (`nsenter --net`, not `ip netns exec`,
   * which would mount a fresh /sys and hide /sys/fs/cgroup): pod sandboxes then get their
   * network from the node's namespace, as on a real node.
   */
  readonly netns?: string;
}

/**
 * Start containerd on a fresh directory (its root on a tmpfs); `stop()` kills its tasks, then it,
 * then unmounts and removes the directory.
 */
export async function startContainerd(sandboxImage: string, opts: ContainerdOptions = {}): Promise<Containerd> {
  const dir = mkdtempSync(join(tmpdir(), 'mlb-containerd-'));
  // Content store and unpacked snapshots on a tmpfs: removing tens of thousands of unpacked image
  // files from disk took 37 s per node on a loaded CI machine; unmounting a tmpfs takes none.
  const spec = await exec('ctr', ['oci', 'spec']);
  if (spec.code !== 0) throw new Error(`ctr oci spec: ${spec.stderr}`);
  mkdirSync(join(dir, 'root'));
  const mounted = await exec('mount', ['-t', 'tmpfs', '-o', `size=${ROOT_TMPFS_SIZE},mode=0700`, 'tmpfs', join(dir, 'root')]);
  if (mounted.code !== 0) throw new Error(`mount tmpfs on ${dir}/root: ${mounted.stderr}`);
  // A test process that dies without stop() must not leave the tmpfs (and the snapshots on it) behind.
  const unregisterUnmount = onProcessExit(() => {
    try {
      execFileSync('umount', ['-l', join(dir, 'root')], { stdio: 'ignore' });
    } catch {
      // not mounted any more
    }
  });
  writeFileSync(join(dir, 'base-spec.json'), JSON.stringify(baseRuntimeSpec(JSON.parse(spec.stdout) as Record<string, unknown>), null, 1));
  writeFileSync(join(dir, 'config.toml'), containerdConfig(dir, sandboxImage));
  const log = openSync(join(dir, 'containerd.log'), 'a');
  const argv = ['containerd', '--config', join(dir, 'config.toml')];
  const [cmd, ...args] = opts.netns === undefined ? argv : ['nsenter', `--net=/run/netns/${opts.netns}`, ...argv];
  const child = spawn(cmd ?? 'containerd', args, { stdio: ['ignore', log, log] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const socket = join(dir, 'containerd.sock');
  const ctr = (args: readonly string[], namespace = 'k8s.io'): Promise<CtrResult> => exec('ctr', ['--address', socket, '--namespace', namespace, ...args]);
  const stopMs: Record<string, number> = {};
  let phaseStart = Date.now();
  const phase = (name: string): void => {
    stopMs[name] = Date.now() - phaseStart;
    phaseStart = Date.now();
  };
  const stop = async (): Promise<void> => {
    phaseStart = Date.now();
    if (child.exitCode === null) {
      // Kill every process of every task, then delete the tasks so containerd has nothing to wait
      // for. A shim that does not report its task's exit in time is dealt with below.
      const ids = (await ctr(['tasks', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
      await Promise.all(ids.map((id) => ctr(['tasks', 'kill', '--all', '-s', 'KILL', id])));
      await waitFor('tasks deleted', async () => {
        const left = (await ctr(['tasks', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
        await Promise.all(left.map((id) => ctr(['tasks', 'delete', id])));
        return left.length === 0;
      }, { timeoutMs: 5_000 }).catch(() => undefined);
    }
    phase('tasks');
    // Whatever the shims still run dies now, then the shims: they outlive containerd by design.
    await stopPids(shimTree(readProcs(), socket).descendants, 0);
    phase('orphans');
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    phase('exit');
    const { shims, descendants } = shimTree(readProcs(), socket);
    await stopPids([...descendants, ...shims], 0);
    phase('shims');
    // Snapshot mounts of a killed task could outlive it; nothing under dir may stay mounted.
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(`${dir}/`));
    for (const m of mounts.reverse()) if ((await exec('umount', [m])).code !== 0) await exec('umount', ['-l', m]);
    phase('umount');
    unregisterUnmount();
    const survivors = [...shimTree(readProcs(), socket).shims, ...descendants].filter(pidAlive);
    rmSync(dir, { recursive: true, force: true });
    phase('files');
    if (survivors.length > 0) throw new Error(`containerd ${dir}: processes left: ${survivors.join(' ')}`);
  };
  try {
    await waitFor('containerd serving', async () => {
      if (child.exitCode !== null) throw new Error(`containerd exited: ${readFileSync(join(dir, 'containerd.log'), 'utf8').slice(-2000)}`);
      return existsSync(socket) && (await ctr(['version'])).code === 0;
    }, { timeoutMs: 30_000 });
  } catch (err) {
    await stop();
    throw err;
  }
  return { dir, socket, pid: child.pid ?? -1, ctr, stop, stopMs };
}
