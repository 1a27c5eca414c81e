/**
 * GoBGP 3.10 (`gobgpd` + the `gobgp` CLI) in a lab namespace (docs/architecture.md §9.4): a
 * stand-in speaker in a node namespace, or a second router implementation.
 *
 * Timing: GoBGP's first outgoing connect waits a random 5-10 s (minConnectRetryInterval = 5 in
 * v3), so tests should let the other side connect to a listening gobgpd (`listen`, the default),
 * which takes ~1 s with FRR's `timers connect 1`.
 * The gRPC API listens on the namespace's own 127.0.0.1, so the CLI runs inside the namespace.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetalLbError, ErrorCode } from '../../../src/util/errors';
import type { Lab } from '../lab';
import { GiveUp, stopPids, waitFor } from '../lab-exec';
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

/** Options for {@link startGobgp}. */
export interface GobgpOptions {
  /** Namespace to run in (usually `lab.nodes[i].ns`). */
  readonly ns: string;
  readonly asn: number;
  readonly routerId: string;
  readonly neighbors: readonly PeerSpec[];
  /** Listen on TCP 179 (default true); false = active only, like MetalLB's native speaker. */
  readonly listen?: boolean;
  /** Addresses to listen on (default: every address, GoBGP's default). */
  readonly localAddresses?: readonly string[];
  /** gRPC port on the namespace's 127.0.0.1 (default 50051; change it for two gobgpd in one ns). */
  readonly grpcPort?: number;
  readonly holdTimeSec?: number;
  readonly keepaliveSec?: number;
  /** Directory name under lab.dir (default `gobgp-<ns>`). */
  readonly name?: string;
}

/** Path attributes for {@link GobgpHandle.addRoute}. */
export interface GobgpRouteAttrs {
  readonly nextHop?: string;
  /** Standard communities, `"65000:1"` style. */
  readonly communities?: readonly string[];
  readonly localPref?: number;
  readonly med?: number;
}

/** One path as printed by `gobgp global rib -j`. */
export interface GobgpPath {
  readonly nlri?: { readonly prefix?: string };
  readonly attrs?: readonly { readonly type: number; readonly [key: string]: unknown }[];
  readonly 'source-id'?: string;
  readonly 'neighbor-ip'?: string;
  readonly best?: boolean;
  readonly [key: string]: unknown;
}

/** A running gobgpd. */
export interface GobgpHandle extends RouterHandle {
  /** Run the gobgp CLI with `args` in the namespace; resolves with stdout, throws on failure. */
  cli(...args: string[]): Promise<string>;
  addRoute(prefix: string, attrs?: GobgpRouteAttrs): Promise<void>;
  delRoute(prefix: string): Promise<void>;
  /** Session state (`established`, `active`, …) or undefined when unknown. */
  neighborState(address: string): Promise<string | undefined>;
  waitEstablished(address: string, timeoutMs?: number): Promise<void>;
  /** The global RIB of one family: prefix -> paths (routes learned from peers and added locally). */
  rib(family: Family): Promise<Record<string, readonly GobgpPath[]>>;
  waitRoute(prefix: string, predicate?: (paths: readonly GobgpPath[]) => boolean, timeoutMs?: number): Promise<readonly GobgpPath[]>;
  waitRouteGone(prefix: string, timeoutMs?: number): Promise<void>;
}

/** apipb.PeerState_SessionState values, index = enum number. */
const SESSION_STATES = ['unknown', 'idle', 'connect', 'active', 'opensent', 'openconfirm', 'established'] as const;

const afiSafi = (f: Family): string => (f === 'ipv4' ? 'ipv4-unicast' : 'ipv6-unicast');
const q = (s: string): string => JSON.stringify(s);

/** Render gobgpd.toml for `opts` (pure). */
export function gobgpConfig(opts: GobgpOptions): string {
  const lines = [
    '[global.config]',
    `  as = ${opts.asn}`,
    `  router-id = ${q(opts.routerId)}`,
    `  port = ${opts.listen === false ? -1 : 179}`,
  ];
  if (opts.localAddresses !== undefined) lines.push(`  local-address-list = [${opts.localAddresses.map(q).join(', ')}]`);
  for (const peer of opts.neighbors) {
    lines.push(
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = ${q(peer.address)}`,
      `    peer-as = ${peer.remoteAs}`,
    );
    if (peer.password !== undefined) lines.push(`    auth-password = ${q(peer.password)}`);
    lines.push(
      '  [neighbors.timers.config]',
      '    connect-retry = 1',
      `    hold-time = ${opts.holdTimeSec ?? DEFAULT_HOLD_TIME_SEC}`,
      `    keepalive-interval = ${opts.keepaliveSec ?? DEFAULT_KEEPALIVE_SEC}`,
    );
    if (peer.passive === true) lines.push('  [neighbors.transport.config]', '    passive-mode = true');
    if (peer.multihop !== undefined) {
      lines.push('  [neighbors.ebgp-multihop.config]', '    enabled = true', `    multihop-ttl = ${peer.multihop}`);
    }
    for (const f of peerFamilies(peer)) {
      lines.push('  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = ${q(afiSafi(f))}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Start gobgpd and resolve once its gRPC API answers (sessions come up later). */
export async function startGobgp(lab: Lab, opts: GobgpOptions): Promise<GobgpHandle> {
  const dir = uniqueDir(lab, opts.name ?? `gobgp-${opts.ns}`);
  const port = opts.grpcPort ?? 50051;
  const conf = join(dir, 'gobgpd.toml');
  writeFileSync(conf, gobgpConfig(opts));
  const child = lab.spawn(
    opts.ns,
    ['gobgpd', '-f', conf, '-p', '--api-hosts', `127.0.0.1:${port}`, '--pprof-disable', '-l', 'info'],
    { log: `${dir.slice(lab.dir.length + 1)}.log` },
  );
  const cli = async (...args: string[]): Promise<string> => {
    const r = await lab.exec(opts.ns, ['gobgp', '-p', String(port), ...args], { timeoutMs: 10_000 });
    if (r.code !== 0) {
      throw new MetalLbError(ErrorCode.Lab, `gobgp ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    }
    return r.stdout;
  };
  await waitFor(
    `gobgpd in ${opts.ns} to answer its API (log ${dir}.log)`,
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new GiveUp(new MetalLbError(ErrorCode.Lab, `gobgpd exited (${child.exitCode ?? child.signalCode}); log ${dir}.log`));
      }
      return (await cli('global', '-j')).includes('{');
    },
    { timeoutMs: 10_000 },
  );

  const neighborState = async (address: string): Promise<string | undefined> => {
    const data = JSON.parse(await cli('neighbor', address, '-j')) as { state?: { session_state?: string | number } };
    const s = data.state?.session_state;
    // The JSON carries the gRPC enum number (apipb.PeerState_SessionState); older builds a name.
    return typeof s === 'number' ? SESSION_STATES[s] : s?.toLowerCase();
  };
  const rib = async (family: Family): Promise<Record<string, readonly GobgpPath[]>> => {
    const out = await cli('global', 'rib', '-a', family, '-j');
    return (JSON.parse(out || '{}') ?? {}) as Record<string, readonly GobgpPath[]>;
  };
  let stopped: Promise<void> | undefined;
  return {
    ns: opts.ns,
    dir,
    cli,
    addRoute: async (prefix, attrs = {}) => {
      const full = withPrefixLen(prefix);
      const args = ['global', 'rib', '-a', familyOf(full), 'add', full];
      if (attrs.nextHop !== undefined) args.push('nexthop', attrs.nextHop);
      if (attrs.communities !== undefined) args.push('community', attrs.communities.join(','));
      if (attrs.localPref !== undefined) args.push('local-pref', String(attrs.localPref));
      if (attrs.med !== undefined) args.push('med', String(attrs.med));
      await cli(...args);
    },
    delRoute: async (prefix) => {
      const full = withPrefixLen(prefix);
      await cli('global', 'rib', '-a', familyOf(full), 'del', full);
    },
    neighborState,
    waitEstablished: async (address, timeoutMs = 15_000) => {
      await waitFor(`GoBGP neighbor ${address} to reach Established`, async () => (await neighborState(address)) === 'established', {
        timeoutMs,
        intervalMs: 100,
      });
    },
    rib,
    waitRoute: (prefix, predicate = () => true, timeoutMs = 10_000) => {
      const full = withPrefixLen(prefix);
      return waitFor(
        `GoBGP RIB to hold ${full}`,
        async () => {
          const paths = (await rib(familyOf(full)))[full];
          return paths !== undefined && predicate(paths) ? paths : undefined;
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    waitRouteGone: async (prefix, timeoutMs = 10_000) => {
      const full = withPrefixLen(prefix);
      await waitFor(`GoBGP RIB to drop ${full}`, async () => (await rib(familyOf(full)))[full] === undefined, {
        timeoutMs,
        intervalMs: 100,
      });
    },
    stop: () => {
      stopped ??= child.pid === undefined ? Promise.resolve() : stopPids([child.pid]);
      return stopped;
    },
  };
}
