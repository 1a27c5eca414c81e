import t from 'tap';
import { BgpPeerManager } from '../../src/bgp/peer-manager';
import type { BgpSessionConfig } from '../../src/bgp/session';
import { silentLogger } from '../../src/util/log';
import { waitFor } from '../harness/lab-exec';
import { loopbackSessionConfig, TestPeer } from '../fixtures/bgp/test-peer';

const WAIT = { timeoutMs: 8000, intervalMs: 20 };

t.test('reconcile starts, keeps, resets and stops sessions by peer name', async (t) => {
  const a = await TestPeer.listen({ host: '127.0.0.1', asn: 64501, routerId: '10.77.0.1' });
  const b = await TestPeer.listen({ host: '127.0.0.1', asn: 64502, routerId: '10.77.0.2' });
  const manager = new BgpPeerManager({ log: silentLogger() });
  t.teardown(async () => {
    await manager.stopAll();
    await a.close();
    await b.close();
  });
  const cfg = (peer: TestPeer, asn: number): BgpSessionConfig => loopbackSessionConfig(peer.port, asn, { backoff: { initialMs: 50, maxMs: 200 } });
  manager.setRoutes('a', new Map([['10.77.0.100/32', {}]]));
  t.same(manager.reconcile([{ name: 'a', config: cfg(a, 64501) }, { name: 'b', config: cfg(b, 64502) }]), { started: ['a', 'b'], stopped: [], reset: [] });
  await waitFor('both up', () => [...manager.all.values()].every((s) => s.state === 'Established'), WAIT);
  await waitFor('routes of a, set before its session existed', () => a.all().some((m) => m.type === 2 && m.nlri.length === 1), WAIT);

  t.same(manager.reconcile([{ name: 'a', config: cfg(a, 64501) }, { name: 'b', config: { ...cfg(b, 64502), holdTimeSec: 30 } }]), { started: [], stopped: [], reset: ['b'] });
  await waitFor('b back up after its reset', () => b.connections.length === 2 && manager.all.get('b')?.state === 'Established', WAIT);
  t.same(manager.reconcile([{ name: 'a', config: cfg(a, 64501) }]), { started: [], stopped: ['b'], reset: [] });
  // RFC 4486 §4: a de-configured peer hears 6/3 (it used to hear 6/2, our own shutdown's).
  await waitFor('b saw Cease / peer de-configured', () => b.all().some((m) => m.type === 3 && m.code === 6 && m.subcode === 3), WAIT);
  t.pass('the removed peer was told Cease 6/3 (peer de-configured)');
  t.equal(a.connections.length, 1, 'a was never reset');
  t.same([...manager.all.keys()], ['a']);
  await manager.stopAll();
  await waitFor('a saw Cease / administrative shutdown', () => a.all().some((m) => m.type === 3 && m.code === 6 && m.subcode === 2), WAIT);
  t.pass('stopping the speaker still tells its peers 6/2 (administrative shutdown)');
});
