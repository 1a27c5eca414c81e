/**
 * test/chart/upstream-adopt-announce.test.ts (in-place upgrade from upstream 0.13.7 and 0.15.3,
 * then our controller and speakers announce every adopted IP: BGP to FRR as the seed peers and an
 * iBGP peer, ARP for the L2 VIPs, no IP changed) with the apiserver emulating the oldest
 * Kubernetes the tests reach: Chart.yaml's kubeVersion floor (1.25) raised to the oldest
 * `--emulated-version` the 1.34 apiserver accepts (1.31; oldestKube() in
 * test/fixtures/chart/helm.ts). What the controller and speakers call (Services and their status,
 * EndpointSlices, Leases, Events, TokenReview and SubjectAccessReview, the metallb.io CRDs), the
 * speaker Lease ValidatingAdmissionPolicy and the CRDs' CEL are served as 1.31 serves them. helm
 * still renders for 1.34 (.Capabilities.KubeVersion is the binary's gitVersion), which at 1.31
 * makes the same choices: full CRDs from 1.31, the policy from 1.30.
 * A file of its own so that each version has the whole tap file timeout and CI runs both side by
 * side.
 */
import t from 'tap';
import { oldestKube } from '../fixtures/chart/helm';
import { upgradeThenAnnounce } from '../fixtures/chart/upstream-announce';
import { UPSTREAMS } from '../fixtures/chart/upstream-release';

const emulatedVersion = oldestKube();
for (const up of UPSTREAMS) {
  t.test(`upgrade from upstream ${up.version} emulating Kubernetes ${emulatedVersion}, then our speakers announce the adopted IPs (BGP to the seed peers, L2 ARP)`, (t) => upgradeThenAnnounce(t, up, emulatedVersion));
}
