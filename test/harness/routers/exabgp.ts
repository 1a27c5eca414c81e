/**
 * ExaBGP 4.2 as a router that records every message it receives as a JSON line
 * (docs/architecture.md §9.7): the way to assert exact attributes (communities, local-pref, next
 * hop) a speaker sent. A tiny shell "process" appends ExaBGP's JSON API output to a file we read
 * back.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetalLbError, ErrorCode } from '../../../src/util/errors';
import type { Lab } from '../lab';
import { GiveUp, stopPids, waitFor } from '../lab-exec';
import { DEFAULT_HOLD_TIME_SEC, familyOf, peerFamilies, withPrefixLen, type PeerSpec, type RouterHandle, uniqueDir } from './common';

/** Options for {@link startExabgp}. */
export interface ExabgpOptions {
  readonly asn: number;
  readonly routerId: string;
  readonly neighbors: readonly PeerSpec[];
  /** IPv4 source and listen address (default: the lab router's IPv4). */
  readonly localAddress?: string;
  /** IPv6 source and listen address (default: the lab router's IPv6); ExaBGP wants the same family as the peer. */
  readonly localAddress6?: string;
  /**
   * Only accept connections (default true). Peers with `passive: false` in their PeerSpec are
   * connected to actively even then.
   */
  readonly passive?: boolean;
  readonly ns?: string;
  readonly holdTimeSec?: number;
  /** Directory name under lab.dir (default `exabgp`). */
  readonly name?: string;
}

/** One JSON message of ExaBGP's API (type `state`, `update`, `notification`, …). */
export interface ExabgpMessage {
  readonly type?: string;
  readonly neighbor?: {
    readonly address?: { readonly local?: string; readonly peer?: string };
    readonly state?: string;
    readonly message?: { readonly update?: ExabgpUpdate };
    readonly [key: string]: unknown;
  };
  readonly [key: string]: unknown;
}

/** The `update` object: attributes plus announce/withdraw keyed by "ipv4 unicast" etc. */
export interface ExabgpUpdate {
  readonly attribute?: Readonly<Record<string, unknown>>;
  /** family -> next hop -> NLRIs */
  readonly announce?: Readonly<Record<string, Readonly<Record<string, readonly { readonly nlri: string }[]>>>>;
  /** family -> NLRIs */
  readonly withdraw?: Readonly<Record<string, readonly { readonly nlri: string }[]>>;
}

/** A route as currently announced by one peer, reconstructed from the UPDATE log. */
export interface ExabgpRoute {
  readonly peer: string;
  readonly family: string;
  readonly nextHop: string;
  readonly attribute: Readonly<Record<string, unknown>>;
}

/** A running ExaBGP. */
export interface ExabgpHandle extends RouterHandle {
  /** Every JSON message received so far, in order. */
  messages(): ExabgpMessage[];
  /** Current routes: replay of announces and withdraws, keyed by `<peer> <prefix>`. */
  routes(): Map<string, ExabgpRoute & { readonly prefix: string }>;
  /** Wait for a `state` message with `state` (e.g. `up`) from `peer`. */
  waitState(peer: string, state: string, timeoutMs?: number): Promise<void>;
  /** Wait until `prefix` is announced by `peer` (any peer when omitted) and `predicate` holds. */
  waitRoute(prefix: string, opts?: { readonly peer?: string; readonly predicate?: (r: ExabgpRoute) => boolean; readonly timeoutMs?: number }): Promise<ExabgpRoute>;
  /** Wait for a message matching `predicate`. */
  waitMessage(predicate: (m: ExabgpMessage) => boolean, timeoutMs?: number, what?: string): Promise<ExabgpMessage>;
}

/** Render exabgp.conf for `opts` (pure). `loggerPath` is the API process script. */
export function exabgpConfig(opts: ExabgpOptions, local: { readonly ipv4: string; readonly ipv6: string }, loggerPath: string): string {
  const lines = [`process logger {`, `  run ${loggerPath};`, '  encoder json;', '}'];
  for (const peer of opts.neighbors) {
    const passive = peer.passive ?? opts.passive ?? true;
    lines.push(
      `neighbor ${peer.address} {`,
      `  router-id ${opts.routerId};`,
      `  local-address ${local[familyOf(peer.address)]};`,
      `  local-as ${opts.asn};`,
      `  peer-as ${peer.remoteAs};`,
      `  hold-time ${opts.holdTimeSec ?? DEFAULT_HOLD_TIME_SEC};`,
    );
    if (passive) lines.push('  passive;');
    if (peer.password !== undefined) lines.push(`  md5-password "${peer.password}";`);
    if (peer.multihop !== undefined) lines.push(`  outgoing-ttl ${peer.multihop};`);
    lines.push('  family {', ...peerFamilies(peer).map((f) => `    ${f} unicast;`), '  }');
    lines.push('  api {', '    processes [ logger ];', '    receive { parsed; update; notification; }', '    neighbor-changes;', '  }', '}');
  }
  return `${lines.join('\n')}\n`;
}

/** Replay UPDATE messages into the set of currently announced routes. */
export function replayUpdates(messages: readonly ExabgpMessage[]): Map<string, ExabgpRoute & { readonly prefix: string }> {
  const routes = new Map<string, ExabgpRoute & { readonly prefix: string }>();
  for (const m of messages) {
    const peer = m.neighbor?.address?.peer;
    if (peer === undefined) continue;
    if (m.type === 'state' && m.neighbor?.state === 'down') {
      // A session going down implicitly withdraws everything it announced (RFC 4271 §8.2.2).
      for (const [key, r] of routes) if (r.peer === peer) routes.delete(key);
      continue;
    }
    const update = m.neighbor?.message?.update;
    if (m.type !== 'update' || update === undefined) continue;
    for (const nlris of Object.values(update.withdraw ?? {})) {
      for (const { nlri } of nlris) routes.delete(`${peer} ${nlri}`);
    }
    for (const [family, byNextHop] of Object.entries(update.announce ?? {})) {
      for (const [nextHop, nlris] of Object.entries(byNextHop)) {
        for (const { nlri } of nlris) {
          routes.set(`${peer} ${nlri}`, { peer, family, nextHop, prefix: nlri, attribute: update.attribute ?? {} });
        }
      }
    }
  }
  return routes;
}

/** Start ExaBGP and resolve once it is listening (passive) or running (active). */
export async function startExabgp(lab: Lab, opts: ExabgpOptions): Promise<ExabgpHandle> {
  const ns = opts.ns ?? lab.router.ns;
  const dir = uniqueDir(lab, opts.name ?? 'exabgp');
  const local = { ipv4: opts.localAddress ?? lab.router.ipv4, ipv6: opts.localAddress6 ?? lab.router.ipv6 };
  const jsonl = join(dir, 'messages.jsonl');
  const logger = join(dir, 'logger.sh');
  writeFileSync(jsonl, '');
  // No `exec`: the shell must keep ExaBGP's stdout pipe open, or ExaBGP sees EOF, decides the
  // process died and, after five restarts, shuts down. cat does not buffer, so lines land at once.
  writeFileSync(logger, `#!/bin/sh\ncat >> '${jsonl}'\n`);
  chmodSync(logger, 0o755);
  const conf = join(dir, 'exabgp.conf');
  writeFileSync(conf, exabgpConfig(opts, local, logger));
  const child = lab.spawn(ns, ['exabgp', conf], {
    log: `${dir.slice(lab.dir.length + 1)}.out`,
    env: {
      'exabgp.daemon.user': 'root',
      'exabgp.daemon.daemonize': 'false',
      // Space-separated list of listen addresses.
      'exabgp.tcp.bind': `${local.ipv4} ${local.ipv6}`,
      'exabgp.tcp.port': '179',
      'exabgp.log.destination': join(dir, 'exabgp.log'),
      'exabgp.api.cli': 'false',
    },
  });
  const alive = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new GiveUp(new MetalLbError(ErrorCode.Lab, `ExaBGP exited (${child.exitCode ?? child.signalCode}); see ${dir}`));
    }
  };
  // Ready when ExaBGP's listening socket exists (ss in the namespace), so peers can connect.
  await waitFor(
    `ExaBGP in ${ns} to listen on ${local.ipv4}:179`,
    async () => {
      alive();
      const r = await lab.exec(ns, ['ss', '-Hltn', 'sport', '=', ':179']);
      return r.stdout.includes(':179');
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
  const messages = (): ExabgpMessage[] =>
    readFileSync(jsonl, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as ExabgpMessage);
  const waitMessage = (predicate: (m: ExabgpMessage) => boolean, timeoutMs = 10_000, what = 'a matching message'): Promise<ExabgpMessage> =>
    waitFor(`ExaBGP ${what}`, () => {
      alive();
      return messages().find(predicate);
    }, { timeoutMs, intervalMs: 50 });
  let stopped: Promise<void> | undefined;
  return {
    ns,
    dir,
    messages,
    routes: () => replayUpdates(messages()),
    waitState: async (peer, state, timeoutMs = 10_000) => {
      await waitMessage(
        (m) => m.type === 'state' && m.neighbor?.address?.peer === peer && m.neighbor.state === state,
        timeoutMs,
        `state ${state} from ${peer}`,
      );
    },
    waitRoute: (prefix, o = {}) => {
      const full = withPrefixLen(prefix);
      return waitFor(
        `ExaBGP to receive ${full}${o.peer === undefined ? '' : ` from ${o.peer}`}`,
        () => {
          alive();
          return [...replayUpdates(messages()).values()].find(
            (r) => r.prefix === full && (o.peer === undefined || r.peer === o.peer) && (o.predicate?.(r) ?? true),
          );
        },
        { timeoutMs: o.timeoutMs ?? 10_000, intervalMs: 50 },
      );
    },
    waitMessage,
    stop: () => {
      stopped ??= child.pid === undefined ? Promise.resolve() : stopPids([child.pid]);
      return stopped;
    },
  };
}
