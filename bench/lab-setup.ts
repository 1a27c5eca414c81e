// Lab set-up benchmark (docs/architecture.md §9.1): wall time of createLab with 3 nodes + client,
// of the same plus FRR (zebra + bgpd) answering vtysh, of a full FRR <-> GoBGP route reaching the
// router's kernel, and of destroy(). Wall time is what tests wait for; the machine is shared,
// so the 1-minute load average is printed with the figures. Needs root.
// Run: npx tsx bench/lab-setup.ts [runs]   (last line is the JSON)
import { loadavg } from 'node:os';
import { createLab } from '../test/harness/lab';
import { startFrr } from '../test/harness/routers/frr';
import { startGobgp } from '../test/harness/routers/gobgp';

const runs = Number(process.argv[2] ?? 5);

function stats(xs: readonly number[]): { medianMs: number; minMs: number; maxMs: number } {
  const s = [...xs].sort((a, b) => a - b);
  const round = (v: number): number => Math.round(v * 10) / 10;
  return { medianMs: round(s[Math.floor(s.length / 2)] ?? NaN), minMs: round(s[0] ?? NaN), maxMs: round(s[s.length - 1] ?? NaN) };
}

async function main(): Promise<void> {
  const create: number[] = [];
  const destroy: number[] = [];
  const withFrr: number[] = [];
  const routeInKernel: number[] = [];
  const loadBefore = loadavg()[0] ?? 0;
  for (let i = 0; i < runs; i += 1) {
    let t0 = performance.now();
    const lab = await createLab({ nodes: 3, client: true, name: 'bench' });
    create.push(performance.now() - t0);
    t0 = performance.now();
    await lab.destroy();
    destroy.push(performance.now() - t0);

    t0 = performance.now();
    const lab2 = await createLab({ nodes: 3, client: true, name: 'bench-frr' });
    try {
      const node = lab2.nodes[0];
      if (node === undefined) throw new Error('no node');
      const frr = await startFrr(lab2, {
        asn: 64501,
        routerId: lab2.router.ipv4,
        neighbors: [{ address: node.ipv4, remoteAs: 64500 }],
      });
      withFrr.push(performance.now() - t0);
      const gobgp = await startGobgp(lab2, {
        ns: node.ns,
        asn: 64500,
        routerId: node.ipv4,
        neighbors: [{ address: lab2.router.ipv4, remoteAs: 64501 }],
      });
      await gobgp.addRoute('10.77.0.200/32');
      await frr.waitKernelRoute('10.77.0.200/32');
      routeInKernel.push(performance.now() - t0);
    } finally {
      await lab2.destroy();
    }
    console.log(`run ${i + 1}: create ${create[i]?.toFixed(0)} ms, +FRR ready ${withFrr[i]?.toFixed(0)} ms, route in kernel ${routeInKernel[i]?.toFixed(0)} ms, destroy ${destroy[i]?.toFixed(0)} ms`);
  }
  console.log(
    JSON.stringify({
      bench: 'lab-setup',
      runs,
      createLab3NodesClient: stats(create),
      createLabPlusFrrReady: stats(withFrr),
      frrGobgpRouteInKernel: stats(routeInKernel),
      destroyEmptyLab: stats(destroy),
      loadAvg1m: { before: loadBefore, after: loadavg()[0] ?? 0 },
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
