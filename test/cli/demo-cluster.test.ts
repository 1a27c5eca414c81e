// The README's cluster demo command, for real (docs/lab-cluster.md): two kubelet nodes, `helm
// install`, the backend's answer through the VIP, FRR's route from both nodes, then teardown with
// nothing left behind. test/cluster/user-path.test.ts checks the same steps in depth; this checks
// that the command a user types runs them.
import t from 'tap';
import { runClusterDemo } from '../../src/cli/demo-cluster';

t.setTimeout(600_000);

t.test('metallb-ts demo --cluster --once', async (t) => {
  const lines: string[] = [];
  const code = await runClusterDemo({ once: true, out: (l) => lines.push(l) });
  const text = lines.join('\n');
  t.equal(code, 0, text.slice(-4000));
  t.match(text, /cluster Ready in [\d.]+ s/);
  t.match(text, /Service default\/web got 10\.77\.0\.\d+; answered/, 'the Service got an IP from the pool and answered');
  t.match(text, /web\s+LoadBalancer\s+\S+\s+10\.77\.0\.\d+/, 'kubectl get svc shows the EXTERNAL-IP');
  t.match(text, /\$ curl http:\/\/10\.77\.0\.\d+\/[^\n]*\n\s+\{/, "the client got the backend's answer");
  t.match(text, /Paths: \(2 available/, 'FRR has the route from both nodes');
  t.match(text, /tearing down \.\.\.\ndone$/, 'teardown undid everything');
});
