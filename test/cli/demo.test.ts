// The README's demo command, for real: it must bring everything up, show the Service, the router's
// routes and the client's neighbour entry, move traffic off a killed node, and tear down.
import t from 'tap';
import { runDemo } from '../../src/cli/demo';

t.test('metallb-ts demo --once', async (t) => {
  const lines: string[] = [];
  const code = await runDemo({ once: true, out: (l) => lines.push(l) });
  const text = lines.join('\n');
  t.equal(code, 0, text);
  t.match(text, /Service demo\/web got 10\.77\.0\.1\d\d/);
  t.match(text, /\$ kubectl get svc -n demo\n\s+NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP/);
  t.match(text, /web\s+LoadBalancer\s+\S+\s+10\.77\.0\.1\d\d/, 'EXTERNAL-IP from the pool');
  t.match(text, /Paths: \(3 available/, 'the router has the route from all three nodes');
  t.match(text, /lladdr 02:77:00:00:00:0[bcd]/, 'the client resolved the VIP to a node');
  t.match(text, /Traffic moved to node\d \d+ ms after the kill/);
  t.match(text, /Paths: \(2 available/, 'the dead node\'s route is gone');
  t.match(text, /tearing down \.\.\.\ndone$/);
});
