/**
 * FRR's bfdd beside zebra and bgpd (startFrr's `bfdPeers` option): the bfdd.conf renderer and
 * the `show bfd peers json` reader. bfdd runs as user frr like the other daemons, with its own
 * control socket (--bfdctl) in the instance's run directory, so two instances never share one.
 */

/** One BFD peer as configured on the FRR side (`bfd` / `peer` in bfdd.conf). */
export interface FrrBfdPeerSpec {
  readonly address: string;
  readonly localAddress?: string;
  /** Milliseconds; FRR's default is 300. */
  readonly receiveIntervalMs?: number;
  readonly transmitIntervalMs?: number;
  /** FRR's default is 3. */
  readonly detectMultiplier?: number;
  readonly passive?: boolean;
  readonly multihop?: boolean;
  /** Multihop only. */
  readonly minimumTtl?: number;
}

/** One entry of `show bfd peers json` (FRR 8.4), the fields tests read plus the rest. */
export interface FrrBfdPeer {
  readonly peer: string;
  readonly local?: string;
  readonly multihop?: boolean;
  readonly id?: number;
  readonly 'remote-id'?: number;
  /** 'up', 'down', 'init', 'shutdown'. */
  readonly status: string;
  readonly diagnostic?: string;
  readonly 'remote-diagnostic'?: string;
  readonly 'receive-interval'?: number;
  readonly 'transmit-interval'?: number;
  readonly 'detect-multiplier'?: number;
  readonly 'remote-receive-interval'?: number;
  readonly 'remote-transmit-interval'?: number;
  readonly 'remote-detect-multiplier'?: number;
  readonly [key: string]: unknown;
}

/** Render bfdd.conf (pure, so tests and humans can read the exact config). */
export function frrBfddConfig(peers: readonly FrrBfdPeerSpec[], logFile: string): string {
  const lines = ['hostname lab-bfdd', `log file ${logFile}`, '!', 'bfd'];
  for (const p of peers) {
    const head = [` peer ${p.address}`];
    if (p.multihop === true) head.push('multihop');
    if (p.localAddress !== undefined) head.push(`local-address ${p.localAddress}`);
    lines.push(head.join(' '));
    if (p.receiveIntervalMs !== undefined) lines.push(`  receive-interval ${p.receiveIntervalMs}`);
    if (p.transmitIntervalMs !== undefined) lines.push(`  transmit-interval ${p.transmitIntervalMs}`);
    if (p.detectMultiplier !== undefined) lines.push(`  detect-multiplier ${p.detectMultiplier}`);
    if (p.passive === true) lines.push('  passive-mode');
    if (p.minimumTtl !== undefined) lines.push(`  minimum-ttl ${p.minimumTtl}`);
    lines.push(' exit', ' !');
  }
  lines.push('exit', '!');
  return `${lines.join('\n')}\n`;
}

/** Parse `show bfd peers json` (an array; FRR prints nothing at all when bfdd has no peers). */
export function parseBfdPeers(json: string): FrrBfdPeer[] {
  const text = json.trim();
  return text === '' ? [] : (JSON.parse(text) as FrrBfdPeer[]);
}
