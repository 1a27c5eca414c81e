// `metallb-ts status` (src/cli/status.ts): the rows and the table from Lease and BGPSessionState
// objects, and one run against a real apiserver, table and JSON.
import t from 'tap';
import type { Lease } from '../../src/k8s/lease';
import { age, formatStatus, runStatus, sessionRows, StatusExit, table, vipRows, type StatusReport } from '../../src/cli/status';
import { startControlPlane } from '../harness/apiserver';
import { installCrds } from '../fixtures/controller/cluster';

const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString();

const vipLease = (name: string, ip: string, holder: string, macs: string, acquired: string): Lease => ({
  metadata: {
    name,
    labels: { 'metallb.io/lease-kind': 'vip', 'app.kubernetes.io/managed-by': 'metallb-ts' },
    annotations: { 'metallb.io/ip': ip, 'metallb.io/holder-macs': macs },
  },
  spec: { holderIdentity: holder, leaseDurationSeconds: 30, acquireTime: acquired, renewTime: acquired },
});

t.test('age reads like kubectl', async (t) => {
  const table: [number, string][] = [
    [0, '0s'],
    [119, '119s'],
    [120, '2m'],
    [3 * 3600 - 1, '179m'],
    [3 * 3600, '3h'],
    [48 * 3600, '2d'],
  ];
  for (const [s, want] of table) t.equal(age(ago(s), NOW), want, `${s}s`);
  t.equal(age(undefined, NOW), '');
  t.equal(age('not a time', NOW), '');
  t.equal(age(new Date(NOW + 5000).toISOString(), NOW), '0s', 'a clock ahead of ours is not negative');
});

t.test('vipRows: VIP Leases only, sorted by IP, holder MACs and since', async (t) => {
  const presence: Lease = { metadata: { name: 'metallb-speaker-node1', labels: { 'metallb.io/lease-kind': 'speaker' } }, spec: { holderIdentity: 'node1' } };
  const rows = vipRows([
    vipLease('metallb-vip-10-0-0-10', '10.0.0.10', 'node2', 'eth0=02:00:00:00:00:02', ago(30)),
    presence,
    vipLease('metallb-vip-10-0-0-9', '10.0.0.9', '', '', ago(5)),
  ]);
  t.same(rows, [
    { ip: '10.0.0.9', holder: '', macs: [], since: ago(5) },
    { ip: '10.0.0.10', holder: 'node2', macs: ['eth0=02:00:00:00:00:02'], since: ago(30) },
  ]);
});

t.test('formatStatus: two aligned tables, <none> for empty cells', async (t) => {
  const report: StatusReport = {
    namespace: 'metallb-system',
    vips: [{ ip: '10.0.0.10', holder: 'node2', macs: ['eth0=02:00:00:00:00:02', 'eth1=02:00:00:00:00:03'], since: ago(90) }],
    sessions: sessionRows([
      { metadata: { name: 'session-b' }, status: { node: 'node2', bgpPeer: 'router', peer: '10.0.0.1', vrf: '', bgpStatus: 'Active', bfdStatus: 'N/A', lastError: 'connect ECONNREFUSED 10.0.0.1:179' } },
      { metadata: { name: 'session-a' }, status: { node: 'node1', bgpPeer: 'router', peer: '10.0.0.1', vrf: '', bgpStatus: 'Established', bfdStatus: 'up', establishedSince: ago(600) } },
    ]),
  };
  t.same(formatStatus(report, NOW), [
    'VIP         HOLDER   MAC                                             AGE',
    '10.0.0.10   node2    eth0=02:00:00:00:00:02,eth1=02:00:00:00:00:03   90s',
    '',
    'NODE    PEER     ADDRESS    BGP           BFD   UP       LAST ERROR',
    'node1   router   10.0.0.1   Established   up    10m      <none>',
    'node2   router   10.0.0.1   Active        N/A   <none>   connect ECONNREFUSED 10.0.0.1:179',
  ]);
  t.same(formatStatus({ namespace: 'x', vips: [], sessions: [] }, NOW), ['No L2 VIP Leases in x.', '', 'No BGPSessionStates in x.']);
  t.same(table(['A', 'B'], [['', 'b']]), ['A        B', '<none>   b'], 'the last column is not padded');
});

t.test('against a real apiserver: table and --output json', async (t) => {
  const cp = await startControlPlane(t);
  const client = await installCrds(cp); // and the release namespace
  const ns = 'metallb-system';
  await client.request({ method: 'POST', path: `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`, body: vipLease('metallb-vip-10-0-0-10', '10.0.0.10', 'node1', 'eth0=02:00:00:00:00:01', new Date().toISOString().replace('Z', '000Z')) });
  const created = await client.request<{ metadata: { name: string } }>({
    method: 'POST',
    path: `/apis/metallb.io/v1beta1/namespaces/${ns}/bgpsessionstates`,
    body: { apiVersion: 'metallb.io/v1beta1', kind: 'BGPSessionState', metadata: { generateName: 'session-', labels: { 'metallb.io/node': 'node1', 'metallb.io/peer': 'router' } }, spec: {} },
  });
  const status = { node: 'node1', bgpPeer: 'router', peer: '10.0.0.1', vrf: '', bgpStatus: 'Active', bfdStatus: 'N/A', lastError: 'connect ECONNREFUSED 10.0.0.1:179' };
  await client.request({
    method: 'PUT',
    path: `/apis/metallb.io/v1beta1/namespaces/${ns}/bgpsessionstates/${created.metadata.name}/status`,
    body: { ...created, status },
  });

  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s) };
  t.equal(await runStatus({ namespace: ns, output: 'table', kubeconfig: cp.kubeconfigPath }, io), StatusExit.Ok, err.join('\n'));
  t.match(out[1], /^10\.0\.0\.10\s+node1\s+eth0=02:00:00:00:00:01\s+\d+s$/, `VIP row: ${out[1]}`);
  t.match(out[4], /^node1\s+router\s+10\.0\.0\.1\s+Active\s+N\/A\s+<none>\s+connect ECONNREFUSED 10\.0\.0\.1:179$/, `session row: ${out[4]}`);

  out.length = 0;
  t.equal(await runStatus({ namespace: ns, output: 'json', kubeconfig: cp.kubeconfigPath }, io), StatusExit.Ok);
  const json = JSON.parse(out.join('\n')) as StatusReport;
  t.same(json.vips.map((v) => [v.ip, v.holder, v.macs]), [['10.0.0.10', 'node1', ['eth0=02:00:00:00:00:01']]]);
  t.same(json.sessions, [{ name: created.metadata.name, ...status }]);

  err.length = 0;
  t.equal(await runStatus({ namespace: ns, output: 'table', kubeconfig: '/nonexistent/kubeconfig' }, io), StatusExit.ApiError, 'an unreadable kubeconfig exits 2');
  t.match(err[0], /^metallb-ts status: cannot read from the apiserver: /);
});
