/**
 * Which interfaces the L2 responder serves, as upstream decides it
 * (docs/upstream-behaviour.md §4.3, §4.4), as pure functions over interface descriptions. The shell
 * gathers the descriptions (native interfaceInfo, /sys master links, /proc/net/if_inet6) and
 * rescans periodically.
 */
import { ipv6ToString } from './addr';

/**
 * The Helm chart's default `announcedInterfacesToExclude` (metallb-excludel2 ConfigMap,
 * docs/upstream-behaviour.md §7.8): loopback and the virtual interfaces of container runtimes, CNIs
 * and kube-proxy IPVS.
 */
export const DEFAULT_EXCLUDED_INTERFACES: readonly string[] = [
  '^docker.*',
  '^cbr.*',
  '^dummy.*',
  '^virbr.*',
  '^lxcbr.*',
  '^veth.*',
  '^lo$',
  '^cali.*',
  '^tunl.*',
  '^flannel.*',
  '^kube-ipvs.*',
  '^cni.*',
  '^nodelocaldns.*',
  '^lxc.*',
];

/** SIOCGIFFLAGS bits from <net/if.h>. */
export const IfFlags = { Up: 0x1, Broadcast: 0x2, Loopback: 0x8, NoArp: 0x80 } as const;
/** ARPHRD_ETHER. */
const ARPHRD_ETHER = 1;

/** What the shell knows about one interface. */
export interface InterfaceDescription {
  name: string;
  mac: string;
  flags: number;
  /** ARPHRD_* link type. */
  hwType: number;
  /** Has a master (bond or bridge port): /sys/class/net/<if>/master exists. */
  enslaved: boolean;
  /** Has an IPv6 link-local address (upstream's condition for an NDP responder). */
  hasIpv6LinkLocal: boolean;
}

/** Why an interface gets no responder. */
export const SkipReason = {
  Excluded: 'excluded',
  Down: 'down',
  Loopback: 'loopback',
  NotEthernet: 'not-ethernet',
  Enslaved: 'enslaved',
  NoArp: 'noarp',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

/** An interface that gets a responder, and for which families. */
export interface EligibleInterface {
  name: string;
  mac: string;
  /** ARP responder: the interface has IFF_BROADCAST. */
  arp: boolean;
  /** NDP responder: the interface has an IPv6 link-local address. */
  ndp: boolean;
}

/** Result of eligibleInterfaces: who serves, who does not and why. */
export interface InterfaceScan {
  /** Names not matching the exclusion list (upstream's node interface list, up or down). */
  present: string[];
  eligible: EligibleInterface[];
  skipped: Array<{ name: string; reason: SkipReason }>;
}

/** Combine exclusion regexes as upstream does: `(r1)|(r2)|…`; none means nothing is excluded. */
export function excludeRegex(patterns: readonly string[]): RegExp | undefined {
  return patterns.length === 0 ? undefined : new RegExp(patterns.map((p) => `(${p})`).join('|'));
}

/**
 * Apply upstream's rules: skip names matching the exclusion list, then interfaces that are down,
 * loopback, not Ethernet, enslaved to a bond or bridge (the master answers), or NOARP. Answering on
 * a bridge port or a veth is how MetalLB users got replies with the wrong MAC
 * (docs/upstream-behaviour.md §11.7).
 */
export function eligibleInterfaces(ifaces: readonly InterfaceDescription[], exclude: readonly string[] = DEFAULT_EXCLUDED_INTERFACES): InterfaceScan {
  const re = excludeRegex(exclude);
  const scan: InterfaceScan = { present: [], eligible: [], skipped: [] };
  for (const i of ifaces) {
    if (re?.test(i.name)) {
      scan.skipped.push({ name: i.name, reason: SkipReason.Excluded });
      continue;
    }
    scan.present.push(i.name);
    const reason =
      (i.flags & IfFlags.Up) === 0
        ? SkipReason.Down
        : (i.flags & IfFlags.Loopback) !== 0
          ? SkipReason.Loopback
          : i.hwType !== ARPHRD_ETHER || i.mac === '00:00:00:00:00:00'
            ? SkipReason.NotEthernet
            : i.enslaved
              ? SkipReason.Enslaved
              : (i.flags & IfFlags.NoArp) !== 0
                ? SkipReason.NoArp
                : undefined;
    if (reason !== undefined) scan.skipped.push({ name: i.name, reason });
    else scan.eligible.push({ name: i.name, mac: i.mac, arp: (i.flags & IfFlags.Broadcast) !== 0, ndp: i.hasIpv6LinkLocal });
  }
  return scan;
}

/** Outcome of resolving an announcement's interface list against this node. */
export type InterfaceSelection =
  | { ok: true; interfaces: string[] }
  | { ok: false; reason: 'no-such-interface'; requested: string[] };

/**
 * Resolve an L2Advertisement `interfaces` list (empty or 'all' = every eligible interface) to the
 * interfaces that serve `family`. As upstream, naming only interfaces this node lacks (or excludes)
 * is a failure the speaker reports as `announceFailed`; named interfaces that exist but are down
 * simply serve nothing until they come up.
 */
export function selectInterfaces(scan: InterfaceScan, requested: 'all' | readonly string[], family: 4 | 6): InterfaceSelection {
  const serves = (e: EligibleInterface): boolean => (family === 4 ? e.arp : e.ndp);
  if (requested === 'all' || requested.length === 0) return { ok: true, interfaces: scan.eligible.filter(serves).map((e) => e.name) };
  if (!requested.some((n) => scan.present.includes(n))) return { ok: false, reason: 'no-such-interface', requested: [...requested] };
  return { ok: true, interfaces: scan.eligible.filter((e) => serves(e) && requested.includes(e.name)).map((e) => e.name) };
}

/**
 * `interface -> MAC` of the interfaces that would serve an address of `family` for this selection
 * (empty when none): what a successor must probe, since a holder answers only there.
 */
export function servingMacsOf(scan: InterfaceScan, requested: 'all' | readonly string[], family: 4 | 6): Map<string, string> {
  const selection = selectInterfaces(scan, requested, family);
  if (!selection.ok) return new Map();
  const macOf = new Map(scan.eligible.map((e) => [e.name, e.mac]));
  return new Map(selection.interfaces.flatMap((name) => (macOf.has(name) ? [[name, macOf.get(name)!] as const] : [])));
}

/**
 * Parse /proc/net/if_inet6 (`addr32hex ifindex prefixlen scope flags name` per line) into the
 * link-local (scope 0x20) addresses per interface; the shell uses them for NDP eligibility and as
 * the source of NS probes.
 */
export function parseIfInet6(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || f[0]!.length !== 32 || f[3] !== '20') continue;
    const name = f[5]!;
    if (out.has(name)) continue;
    if (!/^[0-9a-f]{32}$/i.test(f[0]!)) continue;
    out.set(name, ipv6ToString(Buffer.from(f[0]!, 'hex')));
  }
  return out;
}
