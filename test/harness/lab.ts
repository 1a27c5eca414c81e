/**
 * The network-namespace lab every integration test runs in (docs/architecture.md §8, §9.1).
 *
 * Topology: a router namespace holds bridge `br0` (10.77.0.1/24, fd00:77::1/64); each node
 * namespace has `eth0`, a veth whose peer `n<i>` is a port of br0; an optional client namespace
 * (10.77.0.2, fd00:77::2) sits on the same bridge. Node i (1-based) is 10.77.0.(10+i) and
 * fd00:77::(10+i); 10.77.0.100-250 and fd00:77::100-250 stay free for VIPs. The root namespace is
 * never attached, so no test frame can leave the lab.
 *
 * Usage (as root):
 *   const lab = await createLab({ nodes: 2, client: true });
 *   t.teardown(() => lab.destroy());           // plus exit/signal hooks and sweepStaleLabs()
 *   const frr = await startFrr(lab, { asn: 64501, routerId: lab.router.ipv4,
 *     listenRanges: [{ range: '10.77.0.0/24', remoteAs: 64500 }] });
 *   lab.spawn(lab.nodes[0], ['node', 'speaker.js']);   // killed by destroy()
 *   await frr.waitKernelRoute('10.77.0.200/32');
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { MetalLbError, ErrorCode } from '../../src/util/errors';
import { startCapture, type Capture } from './lab-capture';
import {
  deleteBatch,
  LAB_DIR_PREFIX,
  nextLabPrefix,
  pidsInNamespaces,
  registerForExit,
  sweepStaleLabs,
} from './lab-cleanup';
import { execCommand, inNs, stopPids, type ExecOptions, type ExecResult } from './lab-exec';

export { sweepStaleLabs } from './lab-cleanup';
export { waitFor, delay, type ExecResult, type ExecOptions } from './lab-exec';
export type { Capture } from './lab-capture';
export type { Frame } from './lab-frames';

/** The lab's IPv4 subnet; everything a test sends stays inside it. */
export const LAB_IPV4_SUBNET = '10.77.0.0/24';
/** The lab's IPv6 subnet. */
export const LAB_IPV6_SUBNET = 'fd00:77::/64';
/** Node host numbers start after this (node 1 is .11) and must stay below the VIP range. */
const NODE_BASE = 10;
const MAX_NODES = 89;

/** One endpoint on the lab bridge. */
export interface LabHost {
  readonly ns: string;
  readonly ipv4: string;
  readonly ipv6: string;
  /** The interface that carries `ipv4`/`ipv6` inside `ns` (br0 for the router, eth0 otherwise). */
  readonly iface: string;
  readonly mac: string;
}

/** A node: a host plus its position and its port on the router's bridge. */
export interface LabNode extends LabHost {
  /** 0-based index into `lab.nodes`. */
  readonly index: number;
  /** Kubernetes-style node name, `node1`… */
  readonly name: string;
  /** Name of the bridge port in the router namespace (for linkDown/linkUp and captures). */
  readonly port: string;
}

/** One entry of `ip -j neigh`. */
export interface NeighEntry {
  readonly dst: string;
  readonly dev: string;
  readonly lladdr?: string;
  readonly state?: readonly string[];
  readonly router?: null;
}

/** One entry of `ip -j route` (single path: gateway/dev; ECMP: nexthops). */
export interface RouteEntry {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly protocol?: string;
  readonly metric?: number;
  readonly nexthops?: readonly { readonly gateway?: string; readonly dev?: string; readonly weight?: number }[];
}

/** Address family selector accepted by the lab helpers. */
export type Family = 'ipv4' | 'ipv6';

/** Result of `lab.ping`. */
export interface PingResult extends ExecResult {
  readonly ok: boolean;
}

/** Options for `lab.spawn`. */
export interface SpawnOptions {
  /** true: stdout/stderr are pipes the caller must consume. Otherwise they go to `<lab.dir>/<log>`. */
  readonly pipe?: boolean;
  /** Log file name inside lab.dir (default `<program>-<n>.log`). */
  readonly log?: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** A namespace reference: a name or anything with `ns` (a LabHost). */
export type NsRef = string | { readonly ns: string };

/** Options for {@link createLab}. */
export interface LabOptions {
  /** Number of node namespaces (1..89). */
  readonly nodes: number;
  /** Also create the client namespace (10.77.0.2, fd00:77::2). */
  readonly client?: boolean;
  /** Short label used in the temp dir name (for humans reading /tmp). */
  readonly name?: string;
  /** Remove namespaces left by dead runs first (default true). */
  readonly sweep?: boolean;
}

/** A running lab. Every method is scoped to this lab's namespaces and temp dir. */
export interface Lab {
  /** Namespace-name prefix, e.g. `mlb4242x1`. */
  readonly prefix: string;
  /** Private temp dir (0755 so daemons that drop privileges can traverse it). */
  readonly dir: string;
  readonly router: LabHost;
  readonly nodes: readonly LabNode[];
  readonly client: LabHost | undefined;
  /** Every namespace of the lab, router first. */
  readonly namespaces: readonly string[];
  exec(ns: NsRef, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Like exec with check: resolves with stdout, throws MetalLbError(Lab) on a non-zero exit. */
  run(ns: NsRef, argv: readonly string[], opts?: ExecOptions): Promise<string>;
  /** Start a process in `ns`, tracked so destroy() kills it. */
  spawn(ns: NsRef, argv: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Track a PID the lab did not spawn directly (e.g. a daemon that forked). */
  trackPid(pid: number): void;
  /** Create (mkdir -p) a subdirectory of lab.dir and return its path. */
  subdir(name: string): string;
  /** Put a VIP on node `nodeIndex`'s `lo` (/32 or /128). */
  addVip(nodeIndex: number, ip: string): Promise<void>;
  delVip(nodeIndex: number, ip: string): Promise<void>;
  /** One ICMP echo (`ping -c count -W 1`); ok when at least one reply came back. */
  ping(from: NsRef, ip: string, opts?: { readonly count?: number; readonly waitSec?: number }): Promise<PingResult>;
  neighbors(ns: NsRef, family: Family): Promise<NeighEntry[]>;
  routes(ns: NsRef, family: Family): Promise<RouteEntry[]>;
  /** Add a static route in `ns` (e.g. the client reaching BGP VIPs via the router). */
  addRoute(ns: NsRef, prefix: string, via: string): Promise<void>;
  /** Set node `nodeIndex`'s bridge port down / up (the node sees carrier loss). */
  linkDown(nodeIndex: number): Promise<void>;
  linkUp(nodeIndex: number): Promise<void>;
  /** Start tcpdump on `iface` in `ns`; resolves once it is really capturing. */
  capture(ns: NsRef, iface: string, bpfFilter: string): Promise<Capture>;
  /** Kill every process, delete every namespace and the temp dir. Idempotent; never throws. */
  destroy(): Promise<void>;
}

/** Locally administered MAC for host number `host` (02:77:00:00:00:hh), so assertions can use it. */
export function labMac(host: number): string {
  return `02:77:00:00:00:${host.toString(16).padStart(2, '0')}`;
}

/** IPv4 and IPv6 address of host number `host` on the lab subnet (fd00:77::11 for host 11). */
export function labAddress(host: number): { ipv4: string; ipv6: string } {
  // The IPv6 host part reuses the decimal digits (fd00:77::11 for .11), as in
  // docs/architecture.md §9.1.
  return { ipv4: `10.77.0.${host}`, ipv6: `fd00:77::${host}` };
}

const nsName = (ref: NsRef): string => (typeof ref === 'string' ? ref : ref.ns);

/** Build a lab. Rejects (after cleaning up what it built) if any step fails. */
export async function createLab(opts: LabOptions): Promise<Lab> {
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > MAX_NODES) {
    throw new MetalLbError(ErrorCode.Lab, `createLab: nodes must be 1..${MAX_NODES}, got ${opts.nodes}`);
  }
  if (opts.sweep ?? true) await sweepStaleLabs();
  const prefix = nextLabPrefix();
  const dir = mkdtempSync(join(tmpdir(), `${LAB_DIR_PREFIX}${process.pid}-${prefix}-${opts.name ?? 'lab'}-`));
  chmodSync(dir, 0o755);

  const router: LabHost = { ns: `${prefix}r`, iface: 'br0', mac: labMac(1), ...labAddress(1) };
  const nodes: LabNode[] = Array.from({ length: opts.nodes }, (_, index) => {
    const host = NODE_BASE + index + 1;
    return {
      ns: `${prefix}n${index + 1}`,
      iface: 'eth0',
      mac: labMac(host),
      ...labAddress(host),
      index,
      name: `node${index + 1}`,
      port: `n${index + 1}`,
    };
  });
  const client: LabHost | undefined =
    opts.client === true ? { ns: `${prefix}c`, iface: 'eth0', mac: labMac(2), ...labAddress(2) } : undefined;
  const namespaces = [router.ns, ...nodes.map((n) => n.ns), ...(client ? [client.ns] : [])];

  const children = new Set<ChildProcess>();
  const extraPids = new Set<number>();
  const trackedPids = (): number[] => [
    ...[...children].map((c) => c.pid).filter((p): p is number => p !== undefined),
    ...extraPids,
  ];
  const unregister = registerForExit({ namespaces, dir, pids: trackedPids });
  let logCounter = 0;

  const exec = (ns: NsRef, argv: readonly string[], o?: ExecOptions): Promise<ExecResult> =>
    execCommand(inNs(nsName(ns), argv), o);
  const run = async (ns: NsRef, argv: readonly string[], o?: ExecOptions): Promise<string> =>
    (await exec(ns, argv, { ...o, check: true })).stdout;
  const ip = (argv: readonly string[]): Promise<ExecResult> => execCommand(['ip', ...argv], { check: true });
  const nodeAt = (i: number): LabNode => {
    const n = nodes[i];
    if (n === undefined) throw new MetalLbError(ErrorCode.Lab, `no node with index ${i} (lab has ${nodes.length})`);
    return n;
  };

  const spawn = (ns: NsRef, argv: readonly string[], o: SpawnOptions = {}): ChildProcess => {
    logCounter += 1;
    let stdio: ('ignore' | 'pipe' | number)[];
    let logFd: number | undefined;
    if (o.pipe === true) {
      stdio = ['ignore', 'pipe', 'pipe'];
    } else {
      logFd = openSync(join(dir, o.log ?? `${basename(argv[0] ?? 'proc')}-${logCounter}.log`), 'a');
      stdio = ['ignore', logFd, logFd];
    }
    const child = spawnChild('ip', inNs(nsName(ns), argv).slice(1), {
      stdio,
      env: o.env ? { ...process.env, ...o.env } : process.env,
    });
    if (logFd !== undefined) closeSync(logFd);
    children.add(child);
    child.once('exit', () => children.delete(child));
    child.once('error', () => children.delete(child));
    return child;
  };

  let destroyed: Promise<void> | undefined;
  const destroy = (): Promise<void> => {
    destroyed ??= (async () => {
      await stopPids(trackedPids());
      // Anything else still inside a namespace (forked daemons, helpers): same treatment.
      await stopPids(pidsInNamespaces(namespaces), 500);
      await execCommand(['ip', '-force', '-batch', '-'], { input: deleteBatch(namespaces) });
      rmSync(dir, { recursive: true, force: true });
      unregister();
    })();
    return destroyed;
  };

  const lab: Lab = {
    prefix,
    dir,
    router,
    nodes,
    client,
    namespaces,
    exec,
    run,
    spawn,
    trackPid: (pid) => {
      extraPids.add(pid);
    },
    subdir: (name) => {
      const path = join(dir, name);
      mkdirSync(path, { recursive: true, mode: 0o755 });
      return path;
    },
    addVip: async (i, addr) => {
      const v6 = addr.includes(':');
      await ip(['-n', nodeAt(i).ns, 'addr', 'add', `${addr}/${v6 ? 128 : 32}`, 'dev', 'lo', ...(v6 ? ['nodad'] : [])]);
    },
    delVip: async (i, addr) => {
      await ip(['-n', nodeAt(i).ns, 'addr', 'del', `${addr}/${addr.includes(':') ? 128 : 32}`, 'dev', 'lo']);
    },
    ping: async (from, addr, o = {}) => {
      const r = await exec(from, ['ping', '-n', '-c', String(o.count ?? 1), '-W', String(o.waitSec ?? 1), addr]);
      return { ...r, ok: r.code === 0 };
    },
    neighbors: async (ns, family) =>
      JSON.parse((await ip(['-n', nsName(ns), '-j', family === 'ipv4' ? '-4' : '-6', 'neigh', 'show'])).stdout || '[]') as NeighEntry[],
    routes: async (ns, family) =>
      JSON.parse((await ip(['-n', nsName(ns), '-j', family === 'ipv4' ? '-4' : '-6', 'route', 'show'])).stdout || '[]') as RouteEntry[],
    addRoute: async (ns, prefixText, via) => {
      await ip(['-n', nsName(ns), 'route', 'replace', prefixText, 'via', via]);
    },
    linkDown: async (i) => {
      await ip(['-n', router.ns, 'link', 'set', nodeAt(i).port, 'down']);
    },
    linkUp: async (i) => {
      await ip(['-n', router.ns, 'link', 'set', nodeAt(i).port, 'up']);
    },
    capture: (ns, iface, filter) => {
      logCounter += 1;
      return startCapture((argv, o) => spawn(ns, argv, o), dir, `capture-${logCounter}-${iface}`, iface, filter);
    },
    destroy,
  };

  try {
    await build(lab);
  } catch (err) {
    await destroy();
    throw err;
  }
  return lab;
}

/** Create the namespaces, bridge, veths and addresses (docs/architecture.md §9.1), in as few processes as we can. */
async function build(lab: Lab): Promise<void> {
  const { router, nodes, client } = lab;
  await batch(undefined, lab.namespaces.map((ns) => `netns add ${ns}`));
  // DAD off before any interface exists, so link-local and global addresses are usable at once
  // (no ~1-2 s tentative phase). Forwarding on the router lets a client reach BGP routes via it.
  const sysctls = (ns: string, extra: readonly string[]): Promise<string> =>
    lab.run(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', ...extra]);
  // Node namespaces: only the speaker under test may answer ARP for a VIP on lo
  // (docs/architecture.md §9.8), and arping -U -s VIP / freebind sockets need nonlocal bind.
  const nodeSysctls = [
    'net.ipv4.conf.all.arp_ignore=1',
    'net.ipv4.conf.default.arp_ignore=1',
    'net.ipv4.ip_nonlocal_bind=1',
    'net.ipv6.ip_nonlocal_bind=1',
  ];
  await Promise.all([
    // Multicast snooping off: the bridge then floods ND multicast (solicited-node groups) to
    // every port, whether or not a responder's MLD report was seen.
    sysctls(router.ns, ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']).then(() =>
      batch(router.ns, [
        'link set lo up',
        `link add br0 address ${router.mac} type bridge mcast_snooping 0`,
        'link set br0 up',
        `addr add ${router.ipv4}/24 dev br0`,
        `addr add ${router.ipv6}/64 dev br0 nodad`,
      ]),
    ),
    ...nodes.map((n) => sysctls(n.ns, nodeSysctls)),
    ...(client ? [sysctls(client.ns, [])] : []),
  ]);
  const hosts: { host: LabHost; port: string }[] = [
    ...nodes.map((n) => ({ host: n as LabHost, port: n.port })),
    ...(client ? [{ host: client, port: 'cl' }] : []),
  ];
  // Both veth ends are created directly in their namespaces, so names never clash in the root ns.
  await batch(
    undefined,
    hosts.map(({ host, port }) => `link add eth0 netns ${host.ns} address ${host.mac} type veth peer name ${port} netns ${router.ns}`),
  );
  await Promise.all([
    batch(router.ns, hosts.flatMap(({ port }) => [`link set ${port} master br0`, `link set ${port} up`])),
    ...hosts.map(({ host }) =>
      batch(host.ns, [
        'link set lo up',
        `addr add ${host.ipv4}/24 dev eth0`,
        `addr add ${host.ipv6}/64 dev eth0 nodad`,
        'link set eth0 up',
      ]),
    ),
  ]);
}

/** Run several `ip` commands with one process (`ip [-n NS] -batch -`); undefined = root namespace. */
async function batch(ns: string | undefined, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  const argv = ns === undefined ? ['ip', '-batch', '-'] : ['ip', '-n', ns, '-batch', '-'];
  await execCommand(argv, { check: true, input: `${lines.join('\n')}\n` });
}
