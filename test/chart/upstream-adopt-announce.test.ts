/**
 * docs/migration.md end to end, traffic included: test/chart/upstream-adopt.test.ts shows every
 * object and IP kept through `helm upgrade` from upstream's chart; here the upgraded release then
 * runs as a cluster would run it. The same upstream release (0.13.7 and 0.15.3, seed-like
 * configuration, 50 Services with upstream's assignments; test/fixtures/chart/upstream-release.ts)
 * is upgraded in place to our packaged chart, and the controller and one speaker per lab node
 * start from the upgraded Deployment and DaemonSet (test/fixtures/chart/installed.ts: their argv,
 * env, confinement and ServiceAccount tokens). Then, with no IP changed:
 * - both seed BGPPeers, FRR as router-a (AS 64513, the lab router) and router-b (AS 64514, the lab
 *   client), learn exactly the adopted /32s of the BGP pools (aggregationLength 32) from every
 *   speaker node, with community 65535:65282 (FRR: noAdvertise) and no LOCAL_PREF: these are eBGP
 *   sessions, where upstream sends none (RFC 4271 §5.1.5). So that localPref 100 shows too, the
 *   configuration gains an iBGP BGPPeer, router-c (AS 64512): FRR in a third node namespace that
 *   runs no speaker, which must show local preference 100 on every path. L2-only pools are not
 *   advertised;
 * - every L2 VIP of an adopted Service answers ARP from the lab client with one node's MAC.
 * This file runs on the apiserver's own version (1.34); upstream-adopt-announce-oldest.test.ts runs
 * the same on the apiserver emulating the oldest Kubernetes the tests reach (oldestKube(): 1.31).
 * The test body is test/fixtures/chart/upstream-announce.ts.
 */
import t from 'tap';
import { upgradeThenAnnounce } from '../fixtures/chart/upstream-announce';
import { UPSTREAMS } from '../fixtures/chart/upstream-release';

for (const up of UPSTREAMS) {
  t.test(`upgrade from upstream ${up.version}, then our speakers announce the adopted IPs (BGP to the seed peers, L2 ARP)`, (t) => upgradeThenAnnounce(t, up, undefined));
}
