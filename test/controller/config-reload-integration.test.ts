// Configuration reload under a bulk apply, against the real apiserver: 2,000 IPAddressPools
// created 16 at a time cost the controller a bounded number of full parses (counted by
// metallb_config_parses_total), a Service created during the apply has its IP once the apply
// ends, and the reload log lines carry counts, not every pool name (docs/controller.md,
// "Configuration reload").
import t from 'tap';
import { startControlPlane } from '../harness/apiserver';
import { freePort } from '../harness/free-port';
import { startController } from '../../src/controller/main';
import { controllerOptionsFrom } from '../../src/controller/controller-options';
import { CONFIG_RELOAD_BOUNDS } from '../../src/controller/controller-loop';
import { createRootLogger } from '../../src/util/log';
import { RELEASE_NS, getService, installCrds, ipOf, lbService, until } from '../fixtures/controller/cluster';

const POOLS = 2_000;
/**
 * An apply of up to ~18 s (6 s on an idle machine) may cost at most 20 parses. On a loaded
 * machine the apply itself takes longer, and the debounce guarantees one parse per
 * minIntervalMs of apply at most (plus the startup one and the final one), never more than
 * one per 20 events.
 */
const MAX_PARSES = 20;
function parseBound(applySec: number): number {
  const perInterval = 2 + Math.ceil((applySec * 1000) / CONFIG_RELOAD_BOUNDS.minIntervalMs);
  return Math.min(POOLS / 20, Math.max(MAX_PARSES, perInterval));
}

/** The i-th /28 from 10.80.0.0 upwards. */
function poolCidr(i: number): string {
  const v = ((10 << 24) | (80 << 16)) + i * 16;
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/28`;
}

/** One sample of a metric without labels, from the exposition text. */
function sample(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

t.test('a bulk apply of 2,000 pools costs a few parses, and a Service waits only for the apply', async (t) => {
  const cp = await startControlPlane(t);
  const client = await installCrds(cp);
  t.teardown(() => client.close());
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'apps' } } });

  const logLines: string[] = [];
  const log = createRootLogger('info', { write: (line: string) => void logLines.push(line) });
  const port = await freePort();
  const opts = controllerOptionsFrom({ kubeconfig: cp.kubeconfigPath, namespace: RELEASE_NS, port, host: '127.0.0.1', podName: '' });
  const ctrl = await startController(opts, log);
  t.teardown(() => ctrl.stop());
  const url = `http://127.0.0.1:${port}`;
  const metrics = async (): Promise<string> => (await fetch(`${url}/metrics`)).text();
  await until('readyz ok', 30_000, async () => (await fetch(`${url}/readyz`)).status === 200);
  const parsesBefore = sample(await metrics(), 'metallb_config_parses_total');
  t.equal(parsesBefore, 1, 'one parse at startup');

  const t0 = Date.now();
  let next = 0;
  let serviceCreated = false;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < POOLS) {
        const i = next++;
        if (i === POOLS / 2 && !serviceCreated) {
          serviceCreated = true;
          await client.request({ method: 'POST', path: '/api/v1/namespaces/apps/services', body: lbService('apps', 'during') });
        }
        await client.request({
          method: 'POST',
          path: `/apis/metallb.io/v1beta1/namespaces/${RELEASE_NS}/ipaddresspools`,
          body: { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: `p-${String(i).padStart(4, '0')}` }, spec: { addresses: [poolCidr(i)] } },
        });
      }
    }),
  );
  const applySec = (Date.now() - t0) / 1000;
  t.ok(serviceCreated, 'the Service was created in the middle of the apply');

  const ip = await until('the Service created during the apply gets its IP', 10_000, async () => ipOf(await getService(client, 'apps', 'during')));
  t.match(ip, /^10\.8[0-9]\./, `an IP from the new pools (${ip})`);

  // Every pool is in force once the allocator publishes a capacity series for each.
  await until(`all ${POOLS} pools loaded`, 30_000, async () => ((await metrics()).match(/^metallb_allocator_addresses_total\{pool="p-/gm)?.length ?? 0) === POOLS);
  const parses = (sample(await metrics(), 'metallb_config_parses_total') ?? NaN) - (parsesBefore ?? 0);
  const bound = parseBound(applySec);
  t.ok(parses >= 1 && parses <= bound, `${POOLS} pools applied in ${applySec.toFixed(1)} s cost ${parses} parses (at most ${bound})`);

  const loaded = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['event'] === 'configLoaded');
  t.ok(loaded.length >= 1 && loaded.length <= parses + 1, `${loaded.length} configLoaded lines`);
  t.match(loaded.at(-1), { pools: POOLS, peers: 0, l2Advertisements: 0, bgpAdvertisements: 0 }, 'the last reload logs counts');
  const logBytes = logLines.reduce((n, l) => n + l.length, 0);
  t.ok(logBytes < 200_000, `the whole run logged ${logBytes} bytes, no pool names per reload`);
});
