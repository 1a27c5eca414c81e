/**
 * BIRD 2.0 as the router in a lab namespace (docs/architecture.md §9.5). Runs in the foreground
 * (-f) with its own control socket, so birdc needs no netns exec. `connect delay time 1` matters:
 * BIRD's default first-connect delay is 5 s. BIRD 2.0 has no JSON output, so routes and protocol
 * states are parsed from birdc's text.
 */
import { writeFileSync } from 'node:fs';
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

/** Options for {@link startBird}. */
export interface BirdOptions {
  readonly asn: number;
  readonly routerId: string;
  readonly neighbors: readonly PeerSpec[];
  /** Export BGP routes to the namespace's kernel table (default true). */
  readonly kernel?: boolean;
  /** Namespace (default: the lab router's). */
  readonly ns?: string;
  readonly holdTimeSec?: number;
  readonly keepaliveSec?: number;
  /** Text appended to bird.conf. */
  readonly extraConfig?: string;
  /** Directory name under lab.dir (default `bird`). */
  readonly name?: string;
}

/** One row of `birdc show protocols`. */
export interface BirdProtocol {
  readonly name: string;
  readonly proto: string;
  readonly state: string;
  /** The Info column, e.g. `Established` or `Active  Socket: Connection refused`. */
  readonly info: string;
}

/** A running BIRD. */
export interface BirdHandle extends RouterHandle {
  birdc(...args: string[]): Promise<string>;
  protocols(): Promise<BirdProtocol[]>;
  /** The BIRD protocol name generated for a neighbor address. */
  protocolName(address: string): string;
  waitEstablished(address: string, timeoutMs?: number): Promise<void>;
  /** `show route` as prefix -> the text lines describing its routes. */
  routes(family: Family): Promise<Record<string, string[]>>;
  waitRoute(prefix: string, timeoutMs?: number): Promise<string[]>;
  kernelRoutes(family: Family): Promise<RouteEntry[]>;
}

/** Protocol name for neighbor number `i` (BIRD names must be identifiers). */
const protoName = (i: number): string => `peer${i + 1}`;

/** Render bird.conf for `opts` (pure). */
export function birdConfig(opts: BirdOptions, logFile: string): string {
  const hold = opts.holdTimeSec ?? DEFAULT_HOLD_TIME_SEC;
  const keepalive = opts.keepaliveSec ?? DEFAULT_KEEPALIVE_SEC;
  const lines = [`log "${logFile}" all;`, `router id ${opts.routerId};`, 'protocol device { }'];
  if (opts.kernel ?? true) {
    // Only BGP-learned routes go to the kernel; connected routes are already there.
    lines.push('protocol kernel { ipv4 { export where source = RTS_BGP; }; }');
    lines.push('protocol kernel { ipv6 { export where source = RTS_BGP; }; }');
  }
  opts.neighbors.forEach((peer, i) => {
    lines.push(`protocol bgp ${protoName(i)} {`, `  local as ${opts.asn};`);
    lines.push(`  neighbor ${peer.address}${peer.port === undefined ? '' : ` port ${peer.port}`} as ${peer.remoteAs};`);
    lines.push(`  hold time ${hold};`, `  keepalive time ${keepalive};`);
    // Defaults are 120 s retry and 5 s first-connect delay; tests want seconds.
    lines.push('  connect retry time 1;', '  connect delay time 1;');
    if (peer.password !== undefined) lines.push(`  password "${peer.password}";`);
    if (peer.multihop !== undefined) lines.push(`  multihop ${peer.multihop};`);
    if (peer.passive === true) lines.push('  passive on;');
    for (const f of peerFamilies(peer)) lines.push(`  ${f} { import all; export none; };`);
    lines.push('}');
  });
  if (opts.extraConfig !== undefined) lines.push(opts.extraConfig);
  return `${lines.join('\n')}\n`;
}

/** Parse `birdc show protocols` (header lines and the table). */
export function parseBirdProtocols(text: string): BirdProtocol[] {
  const rows: BirdProtocol[] = [];
  for (const line of text.split('\n')) {
    // Name Proto Table State Since Info. Table is `---` for BGP; Since is one token with BIRD 2's
    // default time format (hh:mm:ss.sss today, a date before); Info may hold several words.
    const cols = line.trim().split(/\s+/);
    const [name, proto, , state, , ...info] = cols;
    if (name === undefined || proto === undefined || state === undefined || cols.length < 5) continue;
    if (!/^(BGP|Device|Kernel|Direct|Static)$/.test(proto)) continue;
    rows.push({ name, proto, state, info: info.join(' ') });
  }
  return rows;
}

/** Parse `birdc show route` into prefix -> lines (a prefix line and its `via` lines). */
export function parseBirdRoutes(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F.:]+\/\d+)\s+(.*)$/.exec(line);
    if (m?.[1] !== undefined) {
      current = m[1];
      (out[current] ??= []).push((m[2] ?? '').trim());
    } else if (current !== undefined && /^\s+\S/.test(line)) {
      out[current]?.push(line.trim());
    }
  }
  return out;
}

/** Start BIRD and resolve once its control socket answers. */
export async function startBird(lab: Lab, opts: BirdOptions): Promise<BirdHandle> {
  const ns = opts.ns ?? lab.router.ns;
  const dir = uniqueDir(lab, opts.name ?? 'bird');
  const conf = join(dir, 'bird.conf');
  const ctl = join(dir, 'bird.ctl');
  writeFileSync(conf, birdConfig(opts, join(dir, 'bird.log')));
  const child = lab.spawn(ns, ['bird', '-f', '-c', conf, '-s', ctl, '-P', join(dir, 'bird.pid')], {
    log: `${dir.slice(lab.dir.length + 1)}.out`,
  });
  const birdc = async (...args: string[]): Promise<string> => {
    const r = await execCommand(['birdc', '-s', ctl, ...args], { timeoutMs: 10_000 });
    if (r.code !== 0) throw new MetalLbError(ErrorCode.Lab, `birdc ${args.join(' ')} failed (exit ${r.code}): ${r.stdout.trim()}`);
    return r.stdout;
  };
  await waitFor(
    `BIRD in ${ns} to answer on ${ctl}`,
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new GiveUp(new MetalLbError(ErrorCode.Lab, `bird exited (${child.exitCode ?? child.signalCode}); see ${dir}.out`));
      }
      return (await birdc('show', 'status')).includes('Daemon is up and running');
    },
    { timeoutMs: 10_000 },
  );
  const protocolName = (address: string): string => {
    const i = opts.neighbors.findIndex((p) => p.address === address);
    if (i < 0) throw new MetalLbError(ErrorCode.Lab, `BIRD has no neighbor ${address}`);
    return protoName(i);
  };
  const protocols = async (): Promise<BirdProtocol[]> => parseBirdProtocols(await birdc('show', 'protocols'));
  const routes = async (family: Family): Promise<Record<string, string[]>> =>
    Object.fromEntries(
      Object.entries(parseBirdRoutes(await birdc('show', 'route'))).filter(([p]) => familyOf(p) === family),
    );
  let stopped: Promise<void> | undefined;
  return {
    ns,
    dir,
    birdc,
    protocols,
    protocolName,
    waitEstablished: async (address, timeoutMs = 10_000) => {
      const name = protocolName(address);
      await waitFor(
        `BIRD protocol ${name} (${address}) to reach Established`,
        async () => (await protocols()).some((p) => p.name === name && p.info.startsWith('Established')),
        { timeoutMs, intervalMs: 100 },
      );
    },
    routes,
    waitRoute: (prefix, timeoutMs = 10_000) => {
      const full = withPrefixLen(prefix);
      return waitFor(`BIRD to hold ${full}`, async () => (await routes(familyOf(full)))[full], { timeoutMs, intervalMs: 100 });
    },
    kernelRoutes: (family) => lab.routes(ns, family),
    stop: () => {
      stopped ??= child.pid === undefined ? Promise.resolve() : stopPids([child.pid]);
      return stopped;
    },
  };
}
