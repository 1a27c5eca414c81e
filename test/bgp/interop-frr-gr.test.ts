/**
 * FRR with its default `bgp ebgp-requires-policy` plus route-maps; graceful restart across a
 * kill -9 of our speaker process (the route never leaves FRR's table); hold-timer expiry when
 * FRR goes silent (bgpd stopped with SIGSTOP).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createLab, waitFor } from '../harness/lab';
import { startFrr } from '../harness/routers/frr';
import type { FrrPath } from '../harness/routers/frr';
import { DUAL_STACK_FAMILIES } from '../../src/bgp/families';
import { sessionConfig, startSpeaker } from '../fixtures/bgp/speaker-driver';

t.test('FRR with policy: graceful restart and hold timer', async (t) => {
  const lab = await createLab({ nodes: 2, name: 'bgp-gr' });
  t.teardown(() => lab.destroy());
  const [n1, n2] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0]];
  const frr = await startFrr(lab, {
    asn: 64501,
    routerId: '10.77.0.1',
    ebgpRequiresPolicy: true,
    routeMaps: true,
    neighbors: [
      { address: n1.ipv4, remoteAs: 64500, families: ['ipv4', 'ipv6'] },
      { address: n2.ipv4, remoteAs: 64500, families: ['ipv4'] },
    ],
  });
  const grSessions = [
    { id: 'gr', config: sessionConfig({ peerAddress: '10.77.0.1', localAsn: 64500, peerAsn: 64501, routerId: n1.ipv4, gracefulRestart: { restartTimeSec: 60 }, families: [...DUAL_STACK_FAMILIES] }) },
  ];
  const routes = { '10.77.0.120/32': { communities: [100] }, 'fd00:77::120/128': {} };
  const first = startSpeaker(lab, n1.ns, grSessions, routes);

  t.test('default ebgp-requires-policy with route-maps accepts our routes', async (t) => {
    await frr.waitEstablished(n1.ipv4, 60_000);
    await frr.waitRoute('10.77.0.120/32');
    await frr.waitRoute('fd00:77::120/128');
    const summary = await frr.vtysh('show bgp ipv4 unicast summary json');
    t.notMatch(summary, /Policy/, 'no "(Policy)" state: routes are accepted');
  });

  t.test('graceful restart across kill -9: the route never leaves FRR', async (t) => {
    const grInfo = async (): Promise<{ remoteGrMode?: string; ipv4Unicast?: { fBit?: boolean; endOfRibStatus?: { endOfRibRecv?: boolean } } } | undefined> =>
      (JSON.parse(await frr.vtysh(`show bgp ipv4 neighbors ${n1.ipv4} graceful-restart json`)) as Record<string, never>)[n1.ipv4];
    const before = await grInfo();
    t.match(before?.remoteGrMode, /Restart/, 'FRR saw our graceful restart capability');
    t.equal(before?.ipv4Unicast?.fBit, true, 'forwarding state preserved bit');
    first.kill('SIGKILL');
    await first.exited();
    // Poll FRR through the whole restart: the prefix must be there at every sample.
    const samples: Array<{ present: boolean; stale: boolean; state?: string }> = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const table = await frr.bgpTable('ipv4');
        const paths = (table['10.77.0.120/32'] ?? []) as Array<FrrPath & { stale?: boolean }>;
        const state = (await frr.neighbor(n1.ipv4))?.bgpState;
        samples.push({ present: paths.length > 0, stale: paths.some((p) => p.stale === true), state });
      }
    })();
    await waitFor('FRR to notice the session is gone', () => samples.some((s) => s.state !== 'Established'), { timeoutMs: 10_000, intervalMs: 20 });
    const second = startSpeaker(lab, n1.ns, grSessions, routes);
    await second.waitEvent('established again', (e) => e.event === 'established', 60_000);
    await frr.waitEstablished(n1.ipv4, 60_000);
    await waitFor('stale flag cleared by End-of-RIB', () => samples.length > 3 && !samples.at(-1)!.stale && samples.at(-1)!.state === 'Established', { timeoutMs: 10_000, intervalMs: 20 });
    polling = false;
    await poller;
    t.equal((await grInfo())?.ipv4Unicast?.endOfRibStatus?.endOfRibRecv, true, 'FRR received our End-of-RIB');
    t.ok(samples.length >= 5, `${samples.length} samples`);
    t.ok(samples.some((s) => s.stale), 'FRR kept the route as stale meanwhile');
    t.ok(samples.every((s) => s.present), 'present at every sample');
    await frr.waitRoute('fd00:77::120/128');
  });

  t.test('hold timer expiry when FRR goes silent', async (t) => {
    const s2 = startSpeaker(lab, n2.ns, [{ id: 'hold', config: sessionConfig({ peerAddress: '10.77.0.1', localAsn: 64500, peerAsn: 64501, routerId: n2.ipv4, holdTimeSec: 3 }) }], {
      '10.77.0.121/32': {},
    });
    const est = await s2.waitEvent('established', (e) => e.event === 'established', 60_000);
    t.match(est, { negotiated: { holdTimeSec: 3 } });
    const bgpdPid = Number(readFileSync(join(frr.dir, 'run', 'bgpd.pid'), 'utf8').trim());
    process.kill(bgpdPid, 'SIGSTOP');
    try {
      const down = await s2.waitEvent('hold timer expiry', (e) => e.event === 'down', 10_000);
      t.match(down.reason, { kind: 'notificationSent', code: 4, subcode: 0 });
      t.ok(down.t - est.t >= 2500, `down after ${down.t - est.t} ms, not before the 3 s hold time`);
    } finally {
      process.kill(bgpdPid, 'SIGCONT');
    }
    const from = s2.events.length;
    await s2.waitEvent('re-established after FRR resumes', (e) => e.event === 'established', 30_000, from);
    await frr.waitRoute('10.77.0.121/32', undefined, 20_000);
  });
});
