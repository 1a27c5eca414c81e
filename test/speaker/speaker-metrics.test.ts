// metallb_speaker_announced must lose a Service's series once it is no longer announced: BGP
// series were never removed, and layer2 series of a deleted Service stayed at 1 (the removal
// walked the new plan, which no longer had the Service). The speaker's config metrics are
// upstream's gauges (the chart's stale-config alerts query them), not a counter never set.
import t from 'tap';
import { Registry } from 'prom-client';
import { createSpeakerMetrics } from '../../src/speaker/metrics';
import { announcedSeries, type ServicePlan } from '../../src/speaker/speaker-plan';

function speakerMetrics() {
  const registry = new Registry();
  const m = createSpeakerMetrics(
    registry,
    {
      l2: () => ({ requestsReceived: {}, responsesSent: {}, gratuitousSent: {}, conflictsByIp: {} }) as never,
      election: () => ({ transitions: 0, takeovers: 0, rebalances: 0, foreignClaims: {} }) as never,
      peers: () => [],
      leaseWrites: () => 0,
    },
    'node1',
  );
  const lines = async (name: string): Promise<string[]> => (await registry.metrics()).split('\n').filter((l) => l.startsWith(name));
  return { m, lines };
}

t.test('metallb_speaker_announced exports exactly the desired series', async (t) => {
  const { m, lines } = speakerMetrics();
  m.setAnnounced([
    { service: 'demo/web', protocol: 'layer2', ip: '10.77.0.100' },
    { service: 'demo/web', protocol: 'bgp', ip: '10.77.0.100' },
    { service: 'demo/api', protocol: 'bgp', ip: '10.77.0.101' },
  ]);
  t.equal((await lines('metallb_speaker_announced{')).length, 3, 'three series');
  m.setAnnounced([{ service: 'demo/web', protocol: 'layer2', ip: '10.77.0.100' }]);
  t.same(await lines('metallb_speaker_announced{'), ['metallb_speaker_announced{service="demo/web",protocol="layer2",node="node1",ip="10.77.0.100"} 1'], 'the others are deleted');
  m.setAnnounced([]);
  t.same(await lines('metallb_speaker_announced{'), [], 'nothing announced: no series');
});

t.test('config metrics are gauges with upstream names, set by the speaker', async (t) => {
  const { m, lines } = speakerMetrics();
  t.same(await lines('# TYPE metallb_k8s_client_config_stale_bool'), ['# TYPE metallb_k8s_client_config_stale_bool gauge']);
  t.same(await lines('metallb_k8s_client_config_loaded_bool'), ['metallb_k8s_client_config_loaded_bool 0']);
  m.config.configLoaded(true);
  m.config.configStale(true);
  m.config.update();
  m.config.updateError();
  t.same(await lines('metallb_k8s_client_config_loaded_bool'), ['metallb_k8s_client_config_loaded_bool 1']);
  t.same(await lines('metallb_k8s_client_config_stale_bool'), ['metallb_k8s_client_config_stale_bool 1']);
  t.same(await lines('metallb_k8s_client_updates_total'), ['metallb_k8s_client_updates_total 1']);
  t.same(await lines('metallb_k8s_client_update_errors_total'), ['metallb_k8s_client_update_errors_total 1']);
});

t.test('announcedSeries: BGP for every advertised Service, layer2 only for IPs this node holds', async (t) => {
  const route = { prefix: '10.77.0.100/32' } as never;
  const services: ServicePlan[] = [
    { key: 'demo/web', ips: ['10.77.0.100', 'fd00:77::100'], l2: { ranked: ['node1'], interfaces: 'all' }, bgp: { routes: [route] } },
    { key: 'demo/api', ips: ['10.77.0.101'], l2: { ranked: ['node1'], interfaces: 'all' }, bgp: { skip: 'noPeers' as never } },
    { key: 'demo/skipped', ips: ['10.77.0.102'], l2: { skip: 'notOwner' as never } },
  ];
  t.same(announcedSeries(services, new Set(['10.77.0.100', '10.77.0.102'])), [
    { service: 'demo/web', protocol: 'bgp', ip: '10.77.0.100' },
    { service: 'demo/web', protocol: 'layer2', ip: '10.77.0.100' },
    { service: 'demo/web', protocol: 'bgp', ip: 'fd00:77::100' },
  ]);
});

t.test('BGP peer counters: NOTIFICATIONs sent (upstream FRR-mode name) and rate-limited warnings', async (t) => {
  const registry = new Registry();
  createSpeakerMetrics(
    registry,
    {
      l2: () => ({ requestsReceived: {}, responsesSent: {}, gratuitousSent: {}, conflictsByIp: {} }) as never,
      election: () => ({ transitions: 0, takeovers: 0, rebalances: 0, foreignClaims: {} }) as never,
      peers: () => [
        { name: 'edge', label: '10.77.0.1:179', up: true, prefixes: 1, updatesSent: 2, desired: 1, notificationsSent: 3, warnings: { updateError: 2000, decodeError: 1 } },
      ],
      leaseWrites: () => 0,
    },
    'node1',
  );
  const text = await registry.metrics();
  const lines = (name: string): string[] => text.split('\n').filter((l) => l.startsWith(name));
  t.same(lines('# TYPE metallb_bgp_notifications_sent'), ['# TYPE metallb_bgp_notifications_sent counter']);
  t.same(lines('metallb_bgp_notifications_sent{'), ['metallb_bgp_notifications_sent{peer="10.77.0.1:179"} 3']);
  t.same(lines('metallb_bgp_peer_warnings_total{'), [
    'metallb_bgp_peer_warnings_total{peer="10.77.0.1:179",event="updateError"} 2000',
    'metallb_bgp_peer_warnings_total{peer="10.77.0.1:179",event="decodeError"} 1',
  ]);
  const again = (await registry.metrics()).split('\n').filter((l) => l.startsWith('metallb_bgp_peer_warnings_total{'));
  t.same(again, lines('metallb_bgp_peer_warnings_total{'), 'a second scrape reports the same totals, not double');
});

t.test('claims on our VIPs: every conflict frame and every foreign claim is counted per IP', async (t) => {
  const registry = new Registry();
  createSpeakerMetrics(
    registry,
    {
      l2: () => ({ requestsReceived: {}, responsesSent: {}, gratuitousSent: {}, conflictsByIp: { '10.77.0.100': 20_000 } }) as never,
      election: () => ({ transitions: 0, takeovers: 0, rebalances: 0, foreignClaims: { '10.77.0.100': 19_999 } }) as never,
      peers: () => [],
      leaseWrites: () => 0,
    },
    'node1',
  );
  const text = await registry.metrics();
  t.match(text, 'metallb_speaker_l2_conflicts_total{ip="10.77.0.100"} 20000');
  t.match(text, 'metallb_speaker_l2_foreign_claims_total{ip="10.77.0.100"} 19999');
  t.match(text, '# TYPE metallb_speaker_l2_conflicts_total counter');
});
