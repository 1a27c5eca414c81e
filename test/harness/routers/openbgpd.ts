/**
 * OpenBGPD 7.7 as a router in a lab namespace (docs/architecture.md §9.6). On Linux it has no FIB
 * support, so `fib-update no` and assertions read the RIB with `bgpctl -j` (JSON). Note the name
 * clash: `/usr/sbin/bgpd` is OpenBGPD, FRR's bgpd lives in /usr/lib/frr.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetalLbError, ErrorCode } from '../../../src/util/errors';
import type { Lab } from '../lab';
import { execCommand, GiveUp, stopPids, waitFor } from '../lab-exec';
import { DEFAULT_HOLD_TIME_SEC, withPrefixLen, type PeerSpec, type RouterHandle, uniqueDir } from './common';

/** Options for {@link startOpenbgpd}. */
export interface OpenbgpdOptions {
  readonly asn: number;
  readonly routerId: string;
  readonly neighbors: readonly PeerSpec[];
  /** Addresses to listen on (default: the lab router's IPv4 and IPv6). */
  readonly listen?: readonly string[];
  readonly ns?: string;
  readonly holdTimeSec?: number;
  /** Directory name under lab.dir (default `openbgpd`). */
  readonly name?: string;
}

/** One neighbor of `bgpctl -j show neighbor`. */
export interface OpenbgpdNeighbor {
  readonly remote_addr?: string;
  readonly remote_as?: string;
  readonly state?: string;
  readonly [key: string]: unknown;
}

/** One entry of `bgpctl -j show rib`. */
export interface OpenbgpdRibEntry {
  readonly prefix?: string;
  readonly exit_nexthop?: string;
  readonly true_nexthop?: string;
  readonly aspath?: string;
  readonly neighbor?: { readonly remote_addr?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

/** A running OpenBGPD. */
export interface OpenbgpdHandle extends RouterHandle {
  /** Run `bgpctl -s <socket> args`; resolves with stdout, throws on failure. */
  bgpctl(...args: string[]): Promise<string>;
  neighbors(): Promise<OpenbgpdNeighbor[]>;
  waitEstablished(address: string, timeoutMs?: number): Promise<void>;
  rib(): Promise<OpenbgpdRibEntry[]>;
  waitRoute(prefix: string, timeoutMs?: number): Promise<OpenbgpdRibEntry>;
}

/** Render bgpd.conf for `opts` (pure). */
export function openbgpdConfig(opts: OpenbgpdOptions, socket: string, listen: readonly string[]): string {
  const lines = [`AS ${opts.asn}`, `router-id ${opts.routerId}`, `socket "${socket}"`];
  for (const addr of listen) lines.push(`listen on ${addr}`);
  // No FIB on Linux; the RIB is what tests read.
  lines.push('fib-update no');
  for (const peer of opts.neighbors) {
    lines.push(`neighbor ${peer.address} {`, `  remote-as ${peer.remoteAs}`, `  holdtime ${opts.holdTimeSec ?? DEFAULT_HOLD_TIME_SEC}`);
    if (peer.password !== undefined) lines.push(`  tcp md5sig password "${peer.password}"`);
    if (peer.multihop !== undefined) lines.push(`  multihop ${peer.multihop}`);
    if (peer.passive === true) lines.push('  passive');
    lines.push('}');
  }
  // RFC 8212: OpenBGPD denies eBGP updates unless a filter allows them.
  lines.push('allow from any', 'allow to any');
  return `${lines.join('\n')}\n`;
}

/** Start OpenBGPD (foreground, -d) and resolve once bgpctl answers. */
export async function startOpenbgpd(lab: Lab, opts: OpenbgpdOptions): Promise<OpenbgpdHandle> {
  const ns = opts.ns ?? lab.router.ns;
  const dir = uniqueDir(lab, opts.name ?? 'openbgpd');
  const socket = join(dir, 'bgpd.sock');
  const conf = join(dir, 'bgpd.conf');
  writeFileSync(conf, openbgpdConfig(opts, socket, opts.listen ?? [lab.router.ipv4, lab.router.ipv6]));
  // bgpd refuses a config file that others can read (it may hold MD5 keys).
  chmodSync(conf, 0o600);
  // The session engine chroots to the _openbgpd user's home, which the package does not create.
  mkdirSync('/run/openbgpd', { recursive: true });
  const child = lab.spawn(ns, ['/usr/sbin/bgpd', '-d', '-v', '-f', conf], { log: `${dir.slice(lab.dir.length + 1)}.log` });
  const bgpctl = async (...args: string[]): Promise<string> => {
    const r = await execCommand(['bgpctl', '-s', socket, ...args], { timeoutMs: 10_000 });
    if (r.code !== 0) {
      throw new MetalLbError(ErrorCode.Lab, `bgpctl ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    }
    return r.stdout;
  };
  await waitFor(
    `OpenBGPD in ${ns} to answer on ${socket}`,
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new GiveUp(new MetalLbError(ErrorCode.Lab, `OpenBGPD exited (${child.exitCode ?? child.signalCode}); see ${dir}.log`));
      }
      return (await bgpctl('-j', 'show', 'summary')).includes('{');
    },
    { timeoutMs: 10_000 },
  );
  const neighbors = async (): Promise<OpenbgpdNeighbor[]> =>
    (JSON.parse(await bgpctl('-j', 'show', 'neighbor')) as { neighbors?: OpenbgpdNeighbor[] }).neighbors ?? [];
  const rib = async (): Promise<OpenbgpdRibEntry[]> =>
    (JSON.parse(await bgpctl('-j', 'show', 'rib')) as { rib?: OpenbgpdRibEntry[] }).rib ?? [];
  let stopped: Promise<void> | undefined;
  return {
    ns,
    dir,
    bgpctl,
    neighbors,
    waitEstablished: async (address, timeoutMs = 10_000) => {
      await waitFor(
        `OpenBGPD neighbor ${address} to reach Established`,
        async () => (await neighbors()).some((n) => n.remote_addr === address && n.state === 'Established'),
        { timeoutMs, intervalMs: 100 },
      );
    },
    rib,
    waitRoute: (prefix, timeoutMs = 10_000) => {
      const full = withPrefixLen(prefix);
      return waitFor(`OpenBGPD RIB to hold ${full}`, async () => (await rib()).find((e) => e.prefix === full), {
        timeoutMs,
        intervalMs: 100,
      });
    },
    // Killing the parent makes OpenBGPD's session engine and RDE children exit too.
    stop: () => {
      stopped ??= child.pid === undefined ? Promise.resolve() : stopPids([child.pid]);
      return stopped;
    },
  };
}
