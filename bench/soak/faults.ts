/**
 * Process supervision and fault injection for the soak. The supervisor plays kubelet: it starts
 * the speakers and two controller replicas (leader election on), restarts what the injector
 * killed, and tells an exit it caused from a crash. The injector applies one fault at a time:
 * speaker SIGKILL/SIGTERM, controller-leader SIGKILL/SIGTERM, apiserver restart, node link flap,
 * `clear bgp *` on the router.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from '../../test/harness/cluster';
import { RELEASE_NAMESPACE } from '../../test/harness/cluster';
import { entryArgv } from '../../test/harness/entry';
import { delay } from '../../test/harness/lab';
import type { FrrHandle } from '../../test/harness/routers/frr';

/** The fault kinds, in the order the injector cycles through them (then at random). */
export const FaultKind = {
  SpeakerKill: 'speakerSigkill',
  SpeakerTerm: 'speakerSigterm',
  ControllerKill: 'controllerLeaderSigkill',
  ControllerTerm: 'controllerLeaderSigterm',
  ApiserverRestart: 'apiserverRestart',
  LinkFlap: 'linkFlap',
  BgpClear: 'bgpClear',
} as const;
/** One of {@link FaultKind}. */
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

/** A fault as it happened. */
export interface FaultRecord {
  readonly kind: FaultKind;
  readonly target: string;
  readonly startMs: number;
  readonly endMs: number;
}

/** An exit the supervisor did not ask for. */
export interface UnexpectedExit {
  readonly atMs: number;
  readonly role: string;
  readonly code: number | null;
  readonly signal: string | null;
  /** A controller that lost its Lease exits 1 on purpose (a Deployment restarts it). */
  readonly lostLeadership: boolean;
}

/** Starts, stops and restarts the product's processes; records unexpected exits. */
export interface Supervisor {
  /** role -> live process (`speaker-node1`, `controller-c1`). */
  readonly procs: ReadonlyMap<string, ChildProcess>;
  readonly unexpected: UnexpectedExit[];
  /** Processes that outlived their grace period after SIGTERM and had to be killed. */
  readonly hung: Array<{ readonly atMs: number; readonly role: string; readonly waitedMs: number }>;
  /** Start (or restart) everything that is not running. */
  ensureAll(): Promise<void>;
  /**
   * Signal a role's process as a fault and wait for it to exit; like kubelet, SIGKILL after
   * {@link GRACE_MS} when it ignores a SIGTERM (and record that).
   */
  stop(role: string, signal: NodeJS.Signals): Promise<void>;
  /** Nodes whose speaker is running. */
  liveSpeakerNodes(): string[];
  /** Stop everything (end of the run); not counted as unexpected. */
  stopAll(): Promise<void>;
}

/** Grace period after SIGTERM (shorter than the chart's 30 s termination grace period; handover takes ~1-2 s). */
export const GRACE_MS = 20_000;

/** Controller replicas the soak runs (leader election on). */
export const CONTROLLER_IDS = ['c1', 'c2'] as const;

/** Options of {@link startSupervisor}. */
export interface SupervisorOptions {
  readonly controllerArgs?: readonly string[];
  readonly logLevel?: string;
}

/** Build the supervisor; nothing runs until `ensureAll`. */
export function startSupervisor(c: Cluster, now: () => number, opts: SupervisorOptions = {}): Supervisor {
  const procs = new Map<string, ChildProcess>();
  const expecting = new Set<ChildProcess>();
  const unexpected: UnexpectedExit[] = [];
  const hung: Supervisor['hung'] = [];
  const watch = (role: string, p: ChildProcess, logPath?: string): void => {
    procs.set(role, p);
    p.once('exit', (code, signal) => {
      if (procs.get(role) === p) procs.delete(role);
      if (expecting.delete(p)) return;
      let lost = false;
      if (logPath && code === 1) {
        try {
          lost = readFileSync(logPath, 'utf8').includes('lostLeadership');
        } catch {
          lost = false;
        }
      }
      unexpected.push({ atMs: now(), role, code, signal, lostLeadership: lost });
    });
  };
  const startController = (id: string): void => {
    const log = join(c.lab.dir, `controller-${id}-${Date.now()}.log`);
    const [node, ...args] = entryArgv('src/cli/main.ts', [
      'controller',
      '--kubeconfig', c.cp.kubeconfigPath, '--namespace', RELEASE_NAMESPACE, '--port', '0',
      '--log-level', opts.logLevel ?? 'info', '--leader-elect', '--pod-name', id,
      '--leader-elect-lease-duration', '6s', '--leader-elect-renew-deadline', '4s', '--leader-elect-retry-period', '1s',
      ...(opts.controllerArgs ?? []),
    ]);
    const fd = openSync(log, 'a');
    const p = spawn(node as string, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    watch(`controller-${id}`, p, log);
  };
  const sup: Supervisor = {
    procs,
    unexpected,
    hung,
    async ensureAll() {
      for (const n of c.lab.nodes) {
        const role = `speaker-${n.name}`;
        if (!procs.has(role)) watch(role, await c.startSpeaker(n.index));
      }
      for (const id of CONTROLLER_IDS) if (!procs.has(`controller-${id}`)) startController(id);
    },
    async stop(role, signal) {
      const p = procs.get(role);
      if (!p) return;
      expecting.add(p);
      const gone = new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));
      const sentAt = now();
      p.kill(signal);
      const timer = setTimeout(() => {
        hung.push({ atMs: sentAt, role, waitedMs: now() - sentAt });
        p.kill('SIGKILL');
      }, GRACE_MS);
      await gone;
      clearTimeout(timer);
    },
    liveSpeakerNodes: () => c.lab.nodes.filter((n) => procs.has(`speaker-${n.name}`)).map((n) => n.name),
    async stopAll() {
      for (const role of [...procs.keys()]) await sup.stop(role, 'SIGTERM');
    },
  };
  return sup;
}

/** The controller replica holding the leader Lease, if any. */
export async function controllerLeader(c: Cluster): Promise<string | undefined> {
  try {
    const r = await c.cp.kubectl(['get', 'lease', '-n', RELEASE_NAMESPACE, 'metallb-controller', '-o', 'jsonpath={.spec.holderIdentity}']);
    return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

/** What the injector needs from the run. */
export interface FaultContext {
  readonly c: Cluster;
  readonly frr: FrrHandle;
  readonly sup: Supervisor;
  readonly rand: () => number;
  readonly now: () => number;
  /** Nodes currently cut off by a link flap (the invariants exclude them while set). */
  readonly linkDown: Set<string>;
  /** Set while the apiserver is down. */
  apiserverDown: boolean;
}

/**
 * Apply one fault, hold it for a few seconds, undo it (restart, link up) and return the record.
 * `kind` is chosen by the caller; the target node is random.
 */
export async function injectFault(ctx: FaultContext, kind: FaultKind): Promise<FaultRecord> {
  const { c, sup, rand, now } = ctx;
  const node = c.lab.nodes[Math.floor(rand() * c.lab.nodes.length)]!;
  const hold = (): Promise<void> => delay(2000 + Math.floor(rand() * 4000));
  const startMs = now();
  let target = node.name;
  switch (kind) {
    case FaultKind.SpeakerKill:
    case FaultKind.SpeakerTerm:
      await sup.stop(`speaker-${node.name}`, kind === FaultKind.SpeakerKill ? 'SIGKILL' : 'SIGTERM');
      await hold();
      await sup.ensureAll();
      break;
    case FaultKind.ControllerKill:
    case FaultKind.ControllerTerm: {
      target = (await controllerLeader(c)) ?? CONTROLLER_IDS[0];
      await sup.stop(`controller-${target}`, kind === FaultKind.ControllerKill ? 'SIGKILL' : 'SIGTERM');
      await hold();
      await sup.ensureAll();
      break;
    }
    case FaultKind.ApiserverRestart:
      target = 'apiserver';
      ctx.apiserverDown = true;
      try {
        await c.cp.stopApiserver();
        await hold();
      } finally {
        await c.cp.startApiserver();
        ctx.apiserverDown = false;
      }
      break;
    case FaultKind.LinkFlap:
      ctx.linkDown.add(node.name);
      try {
        await c.lab.linkDown(node.index);
        await hold();
      } finally {
        await c.lab.linkUp(node.index);
        ctx.linkDown.delete(node.name);
      }
      break;
    case FaultKind.BgpClear:
      target = 'router';
      await ctx.frr.vtysh('clear bgp *');
      break;
  }
  return { kind, target, startMs, endMs: now() };
}
