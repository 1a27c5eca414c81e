/**
 * Convergence: 10,000 IPv4 /32 and 10,000 IPv6 /128 from our speaker (child process in a lab
 * node namespace) to FRR over one IPv4 session carrying both families. Measures the seconds
 * from Established (speaker's clock) until FRR's BGP table holds every prefix, the UPDATEs that
 * carried routes against the fewest 4096-octet UPDATEs that could (minUpdates), and the
 * speaker's RSS. Last stdout line:
 * {"prefixes","seconds","updates","minUpdates","speakerRssMB"}. Targets: seconds <= 3,
 * updates <= 1.25 x minUpdates, RSS <= 150 MB.
 */
import { createLab, waitFor } from '../test/harness/lab';
import { startFrr } from '../test/harness/routers/frr';
import { sessionConfig, startSpeaker } from '../test/fixtures/bgp/speaker-driver';
import { minUpdates } from '../src/bgp/adj-rib-out';
import type { RouteAttributes } from '../src/bgp/adj-rib-out';

const N = 10_000;

async function main(): Promise<void> {
  const lab = await createLab({ nodes: 1, name: 'bench-conv' });
  try {
    const node = lab.nodes[0]!;
    // No zebra: "FRR holding the route" is its BGP table; 20k kernel installs would time zebra.
    const frr = await startFrr(lab, {
      asn: 64501,
      routerId: lab.router.ipv4,
      zebra: false,
      neighbors: [{ address: node.ipv4, remoteAs: 64500, families: ['ipv4', 'ipv6'] }],
    });
    const routes: Record<string, RouteAttributes> = {};
    for (let i = 0; i < N; i++) {
      routes[`10.${100 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}/32`] = {};
      routes[`fd00:78::${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}/128`] = {};
    }
    const speaker = startSpeaker(
      lab,
      node.ns,
      [{ id: 'conv', config: sessionConfig({ peerAddress: lab.router.ipv4, localAsn: 64500, peerAsn: 64501, routerId: node.ipv4 }) }],
      routes,
    );
    const est = await speaker.waitEvent('established', (e) => e.event === 'established', 60_000);
    const count = async (): Promise<number> => {
      const [v4, v6] = await Promise.all(
        ['ipv4', 'ipv6'].map(async (f) => {
          const s = JSON.parse(await frr.vtysh(`show bgp ${f} unicast summary json`)) as { peers?: Record<string, { pfxRcd?: number }> };
          return s.peers?.[node.ipv4]?.pfxRcd ?? 0;
        }),
      );
      return v4! + v6!;
    };
    const doneAt = await waitFor('FRR to hold every prefix', async () => ((await count()) >= 2 * N ? Date.now() : undefined), { timeoutMs: 120_000, intervalMs: 20 });
    const seconds = (doneAt - est.t) / 1000;
    speaker.send({ cmd: 'counters' });
    speaker.send({ cmd: 'rss' });
    const counters = (await speaker.waitEvent('counters', (e) => e.event === 'counters')).counters as { updatesSent: number };
    const rss = (await speaker.waitEvent('rss', (e) => e.event === 'rss')).rssMB as number;
    // Two of the UPDATEs are End-of-RIB markers, which carry no route.
    const updates = counters.updatesSent - 2;
    const min = minUpdates(new Map(Object.entries(routes)), {
      families: [
        { afi: 1, safi: 1 },
        { afi: 2, safi: 1 },
      ],
      localAsn: 64500,
      ibgp: false,
      fourOctetAs: true,
      nextHopIpv4: node.ipv4,
      nextHopsIpv6: [node.ipv6],
    });
    console.log(`Established -> FRR holds ${2 * N} prefixes in ${seconds.toFixed(3)} s; ${updates} UPDATEs (min ${min}); speaker RSS ${rss.toFixed(1)} MB`);
    console.log(JSON.stringify({ prefixes: 2 * N, seconds: Number(seconds.toFixed(3)), updates, minUpdates: min, speakerRssMB: Number(rss.toFixed(1)) }));
  } finally {
    await lab.destroy();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
