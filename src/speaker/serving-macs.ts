/**
 * Which of this node's MACs a successor must probe to reach the holder of a VIP: those of the
 * interfaces that serve it. The holder answers a probe only on an interface serving the VIP and
 * only when the frame is addressed to that interface's MAC, so publishing every Ethernet MAC of
 * the node (a down first NIC, a bridge port, an interface the L2Advertisement does not name)
 * had successors probe a MAC that never answers, take over a live holder after a few misses,
 * and the VIP moved every second or two.
 */
import { eligibleInterfaces, servingMacsOf, type InterfaceDescription } from '../arp';

/**
 * `interface -> MAC` of the interfaces that would serve `ip` for this selection, from an interface
 * listing (the speaker asks its announcer, which applies the same rules to its own scan).
 */
export function servingMacs(
  ifaces: readonly InterfaceDescription[],
  exclude: readonly string[] | undefined,
  ip: string,
  interfaces: 'all' | readonly string[],
): Map<string, string> {
  const scan = exclude === undefined ? eligibleInterfaces(ifaces) : eligibleInterfaces(ifaces, exclude);
  return servingMacsOf(scan, interfaces, ip.includes(':') ? 6 : 4);
}

/**
 * Combine probes of one holder's MACs: true as soon as one answers; otherwise false when at least
 * one could be sent and went unanswered, undefined when none could be sent (not a miss).
 */
export function anyAnswer(probes: ReadonlyArray<Promise<boolean | undefined>>): Promise<boolean | undefined> {
  if (probes.length === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let pending = probes.length;
    let sent = false;
    for (const p of probes) {
      void p.then(
        (r) => {
          if (r === true) resolve(true);
          if (r === false) sent = true;
          if (--pending === 0) resolve(sent ? false : undefined);
        },
        () => {
          sent = true;
          if (--pending === 0) resolve(false);
        },
      );
    }
  });
}
