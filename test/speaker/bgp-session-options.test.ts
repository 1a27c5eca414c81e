/**
 * BGPPeer AS and family fields -> session options, with upstream FRR mode's meaning, and the
 * localASN chain down to our OPEN and AS_PATH (the peer must never see myASN).
 */
import t from 'tap';
import { peerSessionOptions } from '../../src/speaker/bgp-session-options';
import type { PeerSessionFields, PeerSessionOptions } from '../../src/speaker/bgp-session-options';
import { IPV4_UNICAST, IPV6_UNICAST } from '../../src/bgp/families';
import { buildOpen } from '../../src/bgp/fsm';
import { fsmConfig } from '../../src/bgp/session-config';
import { pathAttributes } from '../../src/bgp/adj-rib-out';
import { isIbgp } from '../../src/bgp/peer-as';

const ok = (fields: PeerSessionFields): PeerSessionOptions => {
  const r = peerSessionOptions(fields);
  if (!r.ok) throw new Error(r.reason);
  return r.options;
};
const v4: PeerSessionFields = { myASN: 64500, peerASN: 64501, peerAddress: '10.77.0.1' };
const v6: PeerSessionFields = { ...v4, peerAddress: 'fd00:77::1' };

t.test('families: own family; both with dualStackAddressFamily; disableMP changes nothing', async (t) => {
  t.same(ok(v4).families, [IPV4_UNICAST]);
  t.same(ok(v6).families, [IPV6_UNICAST]);
  t.same(ok({ ...v4, dualStackAddressFamily: true }).families, [IPV4_UNICAST, IPV6_UNICAST]);
  t.same(ok({ ...v6, dualStackAddressFamily: true }).families, [IPV4_UNICAST, IPV6_UNICAST]);
  t.same(ok({ ...v4, disableMP: true }), ok(v4), 'disableMP alone: same options');
  t.same(ok({ ...v6, disableMP: true, dualStackAddressFamily: true }), ok({ ...v6, dualStackAddressFamily: true }), 'dualStackAddressFamily wins, as in upstream templates');
});

t.test('peerASN and dynamicASN', async (t) => {
  t.same(ok(v4), { peerAsn: 64501, localAsn: 64500, families: [IPV4_UNICAST] });
  t.equal(ok({ ...v4, peerASN: undefined, dynamicASN: 'internal' }).peerAsn, 'internal');
  t.equal(ok({ ...v4, peerASN: 0, dynamicASN: 'external' }).peerAsn, 'external', 'peerASN 0 is unset (omitempty)');
  t.same(peerSessionOptions({ ...v4, peerASN: 0 }), { ok: false, reason: 'missing peer ASN and dynamicASN' });
  t.same(peerSessionOptions({ ...v4, dynamicASN: 'internal' }), { ok: false, reason: 'both peer ASN and dynamicASN specified' });
});

t.test('localASN: the AS the peer sees, in the OPEN and the AS_PATH; never myASN', async (t) => {
  const opts = ok({ ...v4, localASN: 64999 });
  t.equal(opts.localAsn, 64999);
  t.equal(ok({ ...v4, localASN: 0 }).localAsn, 64500, 'localASN 0 is unset');
  const cfg = fsmConfig({ ...opts, peerAddress: v4.peerAddress, routerId: '10.77.0.11', holdTimeSec: 90, connectTimeSec: 10, ebgpMultiHop: false });
  const open = buildOpen(cfg, false);
  t.equal(open.myAs, 64999, 'My AS in the OPEN');
  t.match(open.capabilities.find((c) => c.kind === 'fourOctetAs'), { asn: 64999 }, 'and in the 4-octet AS capability');
  const attrs = pathAttributes({}, 1, { families: [IPV4_UNICAST], localAsn: opts.localAsn, ibgp: isIbgp(opts.localAsn, opts.peerAsn), fourOctetAs: true, nextHopIpv4: '10.77.0.11' });
  t.same(attrs.asPath, [{ type: 2, asns: [64999] }], 'AS_PATH is [localASN] only (replace-as, no-prepend)');

  const big = buildOpen(fsmConfig({ ...ok({ ...v4, localASN: 4200000001 }), peerAddress: v4.peerAddress, routerId: '10.77.0.11', holdTimeSec: 90, connectTimeSec: 10, ebgpMultiHop: false }), false);
  t.equal(big.myAs, 23456, 'a 4-octet localASN sends AS_TRANS in My AS (RFC 6793)');
  t.match(big.capabilities.find((c) => c.kind === 'fourOctetAs'), { asn: 4200000001 });

  const ibgp = ok({ ...v4, peerASN: 64999, localASN: 64999 });
  t.equal(isIbgp(ibgp.localAsn, ibgp.peerAsn), true, 'iBGP is decided against localASN, not myASN');
  const ebgp = ok({ ...v4, peerASN: 64500, localASN: 64999 });
  t.equal(isIbgp(ebgp.localAsn, ebgp.peerAsn), false, 'a peer in myASN is eBGP once localASN is set');
});
