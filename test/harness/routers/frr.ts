/**
 * FRR (zebra + bgpd, 8.4, and bfdd when asked) as the upstream router in a lab namespace.
 *
 * Each instance has its own directory chowned to user `frr` (the daemons drop to it, and
 * `-u root` is refused because root is not in `frrvty`), its own zserv socket (-z), vty socket
 * directory and pid files, and binds its vty TCP ports to the namespace's 127.0.0.1 (-A), so
 * several instances never collide. vtysh talks over the unix sockets, so it needs no netns exec.
 */
import { chownSync, existsSync, writeFileSync } from 'node:fs';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { MetalLbError, ErrorCode } from '../../../src/util/errors';
import type { Lab, RouteEntry } from '../lab';
import { execCommand, GiveUp, stopPids, waitFor } from '../lab-exec';
import {
  DEFAULT_HOLD_TIME_SEC,
  DEFAULT_KEEPALIVE_SEC,
  familyOf,
  peerFamilies,
  withPrefixLen,
  type Family,
  type PeerSpec,
  type RouterHandle,
  uniqueDir,
} from './common';
import { frrBfddConfig, parseBfdPeers, type FrrBfdPeer, type FrrBfdPeerSpec } from './frr-bfd';

export type { FrrBfdPeer, FrrBfdPeerSpec } from './frr-bfd';

/** A dynamic-neighbor range: any address in `range` may connect (FRR stays passive for these). */
export interface ListenRange {
  readonly range: string;
  readonly remoteAs: number;
  readonly password?: string;
  /** Families to activate for the range's peer group; default: the range's own family. */
  readonly families?: readonly Family[];
}

/** Options for {@link startFrr}. */
export interface FrrOptions {
  readonly asn: number;
  readonly routerId: string;
  readonly neighbors?: readonly PeerSpec[];
  readonly listenRanges?: readonly ListenRange[];
  /**
   * Keep FRR's default `bgp ebgp-requires-policy` (RFC 8212). With `routeMaps` (the default when
   * this is true) every neighbor gets `route-map ACCEPT in/out`, which satisfies it; with
   * `routeMaps: false` the sessions come up but all routes are discarded, as real users see.
   */
  readonly ebgpRequiresPolicy?: boolean;
  readonly routeMaps?: boolean;
  /** Prefixes to originate (`network`), without needing them in the RIB (FRR as a speaker). */
  readonly networks?: readonly string[];
  /** `maximum-paths` per address family (ECMP across nodes announcing the same VIP). */
  readonly maximumPaths?: number;
  /** Lines inserted inside `router bgp` before the address families. */
  readonly bgpExtra?: string;
  /** Text appended to bgpd.conf. */
  readonly extraConfig?: string;
  /** Run zebra so routes reach the kernel (default true). */
  readonly zebra?: boolean;
  /** Namespace (default: the lab router's). */
  readonly ns?: string;
  readonly holdTimeSec?: number;
  readonly keepaliveSec?: number;
  /** Directory name under lab.dir (default `frr`, `frr-2`, … when taken). */
  readonly name?: string;
  /** Also run bfdd with these BFD peers. */
  readonly bfdPeers?: readonly FrrBfdPeerSpec[];
}

/** One path of `show bgp <afi> unicast json`. */
export interface FrrPath {
  readonly valid?: boolean;
  readonly bestpath?: boolean;
  readonly multipath?: boolean;
  readonly peerId?: string;
  readonly path?: string;
  readonly origin?: string;
  readonly nexthops?: readonly { readonly ip?: string; readonly afi?: string; readonly scope?: string; readonly used?: boolean }[];
  readonly [key: string]: unknown;
}

/** `show bgp neighbor X json` for one neighbor (the fields tests use, plus everything else). */
export interface FrrNeighbor {
  readonly bgpState?: string;
  readonly remoteAs?: number;
  readonly [key: string]: unknown;
}

/** A running FRR instance. */
export interface FrrHandle extends RouterHandle {
  /** Run vtysh commands in sequence (`-c` each); resolves with stdout, throws on failure. */
  vtysh(...commands: string[]): Promise<string>;
  /** The BGP table of one family: prefix -> paths. */
  bgpTable(family: Family): Promise<Record<string, readonly FrrPath[]>>;
  /** One neighbor's state, or undefined when FRR has no such neighbor (yet). */
  neighbor(address: string): Promise<FrrNeighbor | undefined>;
  /** `ip -j route` of the router namespace for one family or both. */
  kernelRoutes(family?: Family): Promise<RouteEntry[]>;
  waitEstablished(address: string, timeoutMs?: number): Promise<FrrNeighbor>;
  /** Wait until `prefix` is in the BGP table and `predicate` (default: any valid path) holds. */
  waitRoute(prefix: string, predicate?: (paths: readonly FrrPath[]) => boolean, timeoutMs?: number): Promise<readonly FrrPath[]>;
  /** Wait until `prefix` has left the BGP table. */
  waitRouteGone(prefix: string, timeoutMs?: number): Promise<void>;
  /** Wait until `prefix` is in the namespace's kernel table and `predicate` holds. */
  waitKernelRoute(prefix: string, predicate?: (r: RouteEntry) => boolean, timeoutMs?: number): Promise<RouteEntry>;
  /** `show bfd peers json` (bfdPeers option only). */
  bfdPeers(): Promise<FrrBfdPeer[]>;
  /** Wait until bfdd reports `address` with this status ('up', 'down', 'init'). */
  waitBfdPeer(address: string, status: string, timeoutMs?: number): Promise<FrrBfdPeer>;
  /** bfdd's PID (bfdPeers option only), for SIGSTOP/SIGCONT failure tests. */
  readonly bfddPid: number | undefined;
}

const FRR_BIN = '/usr/lib/frr';
const START_TIMEOUT_MS = 10_000;

/** The kernel-route `dst` text for a prefix: host routes print without their /32 or /128. */
export function kernelDst(prefix: string): string {
  const full = withPrefixLen(prefix);
  return full.endsWith('/32') || full.endsWith('/128') ? full.slice(0, full.lastIndexOf('/')) : full;
}

/** Render bgpd.conf for `opts` (pure, so tests and humans can read the exact config). */
export function frrBgpdConfig(opts: FrrOptions, logFile: string): string {
  const hold = opts.holdTimeSec ?? DEFAULT_HOLD_TIME_SEC;
  const keepalive = opts.keepaliveSec ?? DEFAULT_KEEPALIVE_SEC;
  const policy = opts.ebgpRequiresPolicy === true;
  const routeMaps = policy && (opts.routeMaps ?? true);
  const lines: string[] = [`hostname lab-frr-${opts.asn}`, `log file ${logFile}`, '!'];
  if (routeMaps) lines.push('route-map ACCEPT permit 10', 'exit', '!');
  lines.push(`router bgp ${opts.asn}`, ` bgp router-id ${opts.routerId}`);
  // FRR 8.4 defaults to RFC 8212 behaviour: without a policy, eBGP routes are dropped
  // (docs/architecture.md §9.3).
  if (!policy) lines.push(' no bgp ebgp-requires-policy');
  // Each family is activated per neighbor below, so an IPv6 neighbor gets no IPv4 session.
  lines.push(' no bgp default ipv4-unicast');
  const activations: Record<Family, string[]> = { ipv4: [], ipv6: [] };
  const common = (name: string, remoteAs: number, password: string | undefined): void => {
    lines.push(` neighbor ${name} remote-as ${remoteAs}`, ` neighbor ${name} timers ${keepalive} ${hold}`);
    if (password !== undefined) lines.push(` neighbor ${name} password ${password}`);
  };
  for (const peer of opts.neighbors ?? []) {
    common(peer.address, peer.remoteAs, peer.password);
    // Retry the TCP connect every second instead of FRR's default 120 s.
    lines.push(` neighbor ${peer.address} timers connect 1`);
    if (peer.multihop !== undefined) lines.push(` neighbor ${peer.address} ebgp-multihop ${peer.multihop}`);
    if (peer.passive === true) lines.push(` neighbor ${peer.address} passive`);
    if (peer.port !== undefined) lines.push(` neighbor ${peer.address} port ${peer.port}`);
    for (const f of peerFamilies(peer)) activations[f].push(peer.address);
  }
  (opts.listenRanges ?? []).forEach((lr, i) => {
    const group = `RANGE${i}`;
    lines.push(` neighbor ${group} peer-group`);
    common(group, lr.remoteAs, lr.password);
    lines.push(` bgp listen range ${lr.range} peer-group ${group}`);
    for (const f of lr.families ?? [familyOf(lr.range)]) activations[f].push(group);
  });
  // Announce `networks` even though no matching route exists in the namespace.
  if ((opts.networks ?? []).length > 0) lines.push(' no bgp network import-check');
  if (opts.bgpExtra !== undefined) lines.push(opts.bgpExtra);
  for (const f of ['ipv4', 'ipv6'] as const) {
    if (activations[f].length === 0) continue;
    lines.push(` address-family ${f} unicast`);
    if (opts.maximumPaths !== undefined) lines.push(`  maximum-paths ${opts.maximumPaths}`);
    for (const net of opts.networks ?? []) if (familyOf(net) === f) lines.push(`  network ${withPrefixLen(net)}`);
    for (const name of activations[f]) {
      lines.push(`  neighbor ${name} activate`);
      if (routeMaps) lines.push(`  neighbor ${name} route-map ACCEPT in`, `  neighbor ${name} route-map ACCEPT out`);
    }
    lines.push(' exit-address-family');
  }
  lines.push('exit', '!');
  if (opts.extraConfig !== undefined) lines.push(opts.extraConfig);
  return `${lines.join('\n')}\n`;
}

/** Start FRR and resolve once bgpd answers vtysh (sessions come up later; use waitEstablished). */
export async function startFrr(lab: Lab, opts: FrrOptions): Promise<FrrHandle> {
  const ns = opts.ns ?? lab.router.ns;
  const dir = uniqueDir(lab, opts.name ?? 'frr');
  const run = lab.subdir(join(dir.slice(lab.dir.length + 1), 'run'));
  const withZebra = opts.zebra ?? true;
  writeFileSync(join(dir, 'zebra.conf'), `hostname lab-zebra\nlog file ${join(dir, 'zebra.log')}\n`);
  writeFileSync(join(dir, 'bgpd.conf'), frrBgpdConfig(opts, join(dir, 'bgpd.log')));
  // The daemons run as user frr: they must be able to write logs, pid files and sockets here.
  const frrUid = Number(execFileSync('id', ['-u', 'frr']).toString().trim());
  const frrGid = Number(execFileSync('id', ['-g', 'frr']).toString().trim());
  for (const p of [dir, run, join(dir, 'zebra.conf'), join(dir, 'bgpd.conf')]) chownSync(p, frrUid, frrGid);

  const common = ['--vty_socket', run, '-A', '127.0.0.1'];
  const zserv = join(run, 'zserv.api');
  const children: ChildProcess[] = [];
  if (withZebra) {
    children.push(
      lab.spawn(ns, [`${FRR_BIN}/zebra`, '-f', join(dir, 'zebra.conf'), '-i', join(run, 'zebra.pid'), '-z', zserv, ...common], {
        log: `${dir.slice(lab.dir.length + 1)}-zebra.out`,
      }),
    );
    await waitFor(`FRR zebra in ${ns} to create ${zserv}`, () => existsSync(zserv) || exitedEarly(children, dir), {
      timeoutMs: START_TIMEOUT_MS,
    });
  }
  let bfdd: ChildProcess | undefined;
  if (opts.bfdPeers !== undefined) {
    const conf = join(dir, 'bfdd.conf');
    writeFileSync(conf, frrBfddConfig(opts.bfdPeers, join(dir, 'bfdd.log')));
    chownSync(conf, frrUid, frrGid);
    bfdd = lab.spawn(
      ns,
      [`${FRR_BIN}/bfdd`, '-f', conf, '-i', join(run, 'bfdd.pid'), '--bfdctl', join(run, 'bfdd.sock'), ...(withZebra ? ['-z', zserv] : []), ...common],
      { log: `${dir.slice(lab.dir.length + 1)}-bfdd.out` },
    );
    children.push(bfdd);
    await waitFor(`FRR bfdd in ${ns} to create its vty socket`, () => existsSync(join(run, 'bfdd.vty')) || exitedEarly(children, dir), {
      timeoutMs: START_TIMEOUT_MS,
    });
  }
  const bgpdArgs = withZebra ? ['-z', zserv] : ['-Z'];
  children.push(
    lab.spawn(ns, [`${FRR_BIN}/bgpd`, '-f', join(dir, 'bgpd.conf'), '-i', join(run, 'bgpd.pid'), ...bgpdArgs, ...common], {
      log: `${dir.slice(lab.dir.length + 1)}-bgpd.out`,
    }),
  );

  const vtysh = async (...commands: string[]): Promise<string> => {
    const r = await execCommand(['vtysh', '--vty_socket', run, ...commands.flatMap((c) => ['-c', c])], { timeoutMs: 10_000 });
    if (r.code !== 0 || /% (Unknown command|Command incomplete|Ambiguous)/.test(r.stdout)) {
      throw new MetalLbError(ErrorCode.Lab, `vtysh ${commands.join(' ; ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    }
    return r.stdout;
  };
  const vtyJson = async <T>(command: string): Promise<T> => JSON.parse((await vtysh(command)) || '{}') as T;

  await waitFor(
    `FRR bgpd in ${ns} to answer vtysh (log ${join(dir, 'bgpd.log')})`,
    async () => {
      exitedEarly(children, dir);
      return existsSync(join(run, 'bgpd.vty')) && (await vtysh('show bgp summary json')).includes('{');
    },
    { timeoutMs: START_TIMEOUT_MS },
  );

  const bgpTable = async (family: Family): Promise<Record<string, readonly FrrPath[]>> => {
    const data = await vtyJson<{ routes?: Record<string, readonly FrrPath[]> }>(`show bgp ${family} unicast json`);
    return data.routes ?? {};
  };
  const neighbor = async (address: string): Promise<FrrNeighbor | undefined> => {
    const data = await vtyJson<Record<string, FrrNeighbor>>(`show bgp neighbors ${address} json`);
    return data[address];
  };
  const kernelRoutes = async (family?: Family): Promise<RouteEntry[]> =>
    family === undefined
      ? [...(await lab.routes(ns, 'ipv4')), ...(await lab.routes(ns, 'ipv6'))]
      : lab.routes(ns, family);
  let stopped: Promise<void> | undefined;
  const bfdPeers = async (): Promise<FrrBfdPeer[]> => parseBfdPeers(await vtysh('show bfd peers json'));

  return {
    ns,
    dir,
    bfddPid: bfdd?.pid,
    bfdPeers,
    waitBfdPeer: (address, status, timeoutMs = 10_000) =>
      waitFor(
        `FRR bfdd peer ${address} to be ${status}`,
        async () => (await bfdPeers()).find((p) => p.peer === address && p.status === status),
        { timeoutMs, intervalMs: 50 },
      ),
    vtysh,
    bgpTable,
    neighbor,
    kernelRoutes,
    waitEstablished: (address, timeoutMs = 10_000) =>
      waitFor(
        `FRR neighbor ${address} to reach Established`,
        async () => {
          const n = await neighbor(address);
          return n?.bgpState === 'Established' ? n : undefined;
        },
        { timeoutMs, intervalMs: 100 },
      ),
    waitRoute: (prefix, predicate = (paths) => paths.some((p) => p.valid === true), timeoutMs = 10_000) => {
      const full = withPrefixLen(prefix);
      return waitFor(
        `FRR BGP table to hold ${full}`,
        async () => {
          const paths = (await bgpTable(familyOf(full)))[full];
          return paths !== undefined && predicate(paths) ? paths : undefined;
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    waitRouteGone: async (prefix, timeoutMs = 10_000) => {
      const full = withPrefixLen(prefix);
      await waitFor(`FRR BGP table to drop ${full}`, async () => (await bgpTable(familyOf(full)))[full] === undefined, {
        timeoutMs,
        intervalMs: 100,
      });
    },
    waitKernelRoute: (prefix, predicate = () => true, timeoutMs = 10_000) => {
      const dst = kernelDst(prefix);
      return waitFor(
        `kernel route ${dst} in ${ns}`,
        async () => (await lab.routes(ns, familyOf(dst))).find((r) => r.dst === dst && predicate(r)),
        { timeoutMs, intervalMs: 100 },
      );
    },
    stop: () => {
      // bgpd first, so it does not push withdrawals into a zebra that is already gone.
      stopped ??= (async () => {
        for (const child of [...children].reverse()) {
          if (child.pid !== undefined) await stopPids([child.pid]);
        }
      })();
      return stopped;
    },
  };
}

/** Throw with the daemon's log when one of `children` exited during start-up. */
function exitedEarly(children: readonly ChildProcess[], dir: string): false {
  const dead = children.find((c) => c.exitCode !== null || c.signalCode !== null);
  if (dead !== undefined) {
    throw new GiveUp(
      new MetalLbError(
        ErrorCode.Lab,
        `FRR daemon ${dead.spawnargs.slice(4, 5).join('')} exited (${dead.exitCode ?? dead.signalCode}) during start-up; logs in ${dir}`,
      ),
    );
  }
  return false;
}
