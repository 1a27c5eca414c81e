import t from 'tap';
import fc from 'fast-check';
import { attributeKey, fullSync, minUpdates, planUpdates, refreshFamily } from '../../src/bgp/adj-rib-out';
import type { RibContext, RouteAttributes } from '../../src/bgp/adj-rib-out';
import { decode, encode, endOfRibFamily } from '../../src/bgp/codec';
import type { UpdateMessage } from '../../src/bgp/codec';

const ebgp: RibContext = {
  families: [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ],
  localAsn: 64500,
  ibgp: false,
  fourOctetAs: true,
  nextHopIpv4: '10.77.0.11',
  nextHopsIpv6: ['fd00:77::11'],
};
const ibgp: RibContext = { ...ebgp, ibgp: true };
const routes = (entries: Array<[string, RouteAttributes]>): Map<string, RouteAttributes> => new Map(entries);

/** A model peer: applies UPDATEs the way a router's Adj-RIB-in would. */
function applyToPeer(peer: Map<string, string>, updates: UpdateMessage[], ctx: RibContext): void {
  for (const u0 of updates) {
    const wire = encode(u0, ctx);
    if (wire.length > 4096) throw new Error(`UPDATE of ${wire.length} octets`);
    const u = decode(wire, ctx);
    if (u.type !== 2) throw new Error('not an UPDATE');
    for (const p of u.withdrawn) peer.delete(p);
    for (const p of u.attributes.mpUnreach?.withdrawn ?? []) peer.delete(p);
    const key = JSON.stringify({ ...u.attributes, mpReach: undefined });
    for (const p of u.nlri) peer.set(p, key);
    for (const p of u.attributes.mpReach?.nlri ?? []) peer.set(p, key);
  }
}

t.test('announce: shared attributes in one UPDATE, eBGP vs iBGP attributes', async (t) => {
  const desired = routes([
    ['10.77.0.100/32', {}],
    ['10.77.0.101/32', {}],
    ['10.77.0.102/32', { med: 5, communities: [0xfde80002, 0xfde80001] }],
    ['10.77.0.103/32', { med: 5, communities: [0xfde80001, 0xfde80002, 0xfde80001] }],
  ]);
  const plan = planUpdates(desired, new Map(), ebgp);
  t.equal(plan.updates.length, 2);
  t.same(plan.updates[0], {
    type: 2,
    withdrawn: [],
    attributes: { origin: 0, asPath: [{ type: 2, asns: [64500] }], nextHop: '10.77.0.11' },
    nlri: ['10.77.0.100/32', '10.77.0.101/32'],
  });
  t.same(plan.updates[1]!.attributes.communities, [0xfde80001, 0xfde80002], 'communities sorted and de-duplicated');
  t.same(plan.updates[1]!.nlri, ['10.77.0.102/32', '10.77.0.103/32']);
  t.equal(plan.updates[0]!.attributes.localPref, undefined, 'no LOCAL_PREF to eBGP peers');
  t.equal(plan.announced, 4);

  const ib = planUpdates(routes([['10.77.0.100/32', {}], ['10.77.0.101/32', { localPref: 200 }]]), new Map(), ibgp);
  t.same(ib.updates.map((u) => [u.attributes.localPref, u.attributes.asPath]), [
    [100, []],
    [200, []],
  ]);
});

t.test('incremental: no change, changed attributes, removal', async (t) => {
  const first = planUpdates(routes([['10.77.0.100/32', {}], ['fd00:77::100/128', {}], ['10.77.0.101/32', {}]]), new Map(), ebgp);
  t.same(planUpdates(routes([['10.77.0.100/32', {}], ['fd00:77::100/128', {}], ['10.77.0.101/32', {}]]), first.advertised, ebgp).updates, [], 'nothing to do');
  const changed = planUpdates(routes([['10.77.0.100/32', { med: 1 }], ['fd00:77::100/128', {}], ['10.77.0.101/32', {}]]), first.advertised, ebgp);
  t.equal(changed.updates.length, 1);
  t.same(changed.updates[0]!.nlri, ['10.77.0.100/32'], 'only the changed route, no withdrawal');
  const removed = planUpdates(routes([]), first.advertised, ebgp);
  t.same(removed.updates, [
    { type: 2, withdrawn: ['10.77.0.100/32', '10.77.0.101/32'], attributes: {}, nlri: [] },
    { type: 2, withdrawn: [], attributes: { mpUnreach: { afi: 2, safi: 1, withdrawn: ['fd00:77::100/128'] } }, nlri: [] },
  ]);
  t.equal(removed.withdrawn, 3);
  t.equal(removed.advertised.size, 0);
});

t.test('IPv6 goes in MP_REACH with the session next hops', async (t) => {
  const plan = planUpdates(routes([['fd00:77::100/128', { largeCommunities: [{ globalAdmin: 64500, localData1: 1, localData2: 2 }] }]]), new Map(), {
    ...ebgp,
    nextHopsIpv6: ['fd00:77::11', 'fe80::1'],
  });
  t.same(plan.updates[0]!.attributes.mpReach, { afi: 2, safi: 1, nextHops: ['fd00:77::11', 'fe80::1'], nlri: ['fd00:77::100/128'] });
  t.same(plan.updates[0]!.attributes.largeCommunities, [{ globalAdmin: 64500, localData1: 1, localData2: 2 }]);
});

t.test('skipped: invalid prefixes, families not negotiated, missing next hop; canonical keys', async (t) => {
  const v4only: RibContext = { ...ebgp, families: [{ afi: 1, safi: 1 }] };
  const plan = planUpdates(routes([['10.77.0.1/24', {}], ['bogus', {}], ['fd00::1/128', {}], ['10.0.0.0/33', {}]]), new Map(), v4only);
  t.same([...plan.skipped].sort(), ['10.0.0.0/33', 'bogus', 'fd00::1/128']);
  t.same([...plan.advertised.keys()], ['10.77.0.0/24']);
  const noNh = planUpdates(routes([['10.77.0.1/32', {}]]), new Map(), { ...ebgp, nextHopIpv4: undefined });
  t.same(noNh.skipped, ['10.77.0.1/32']);
  t.equal(attributeKey({ communities: [2, 1] }, false), attributeKey({ communities: [1, 2, 2] }, false));
  t.not(attributeKey({}, true), attributeKey({}, false));
});

function many(n: number, v6: boolean): Map<string, RouteAttributes> {
  const m = new Map<string, RouteAttributes>();
  for (let i = 0; i < n; i++) {
    m.set(v6 ? `fd00:77::${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}/128` : `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}/32`, {});
  }
  return m;
}

t.test('packing counts against minUpdates', async (t) => {
  // eBGP IPv4: 43 octets of header and attributes leave room for 810 five-octet /32s.
  const v4 = many(10_000, false);
  const p4 = planUpdates(v4, new Map(), ebgp);
  t.equal(minUpdates(v4, ebgp), 13, 'ceil(10000 * 5 / (4096 - 43))');
  t.equal(p4.updates.length, 13);
  // IPv6 /128s are 17 octets each in MP_REACH.
  const v6 = many(10_000, true);
  const p6 = planUpdates(v6, new Map(), ebgp);
  t.equal(minUpdates(v6, ebgp), 43);
  t.ok(p6.updates.length <= 43 * 1.25, `${p6.updates.length} IPv6 UPDATEs`);
  const peer = new Map<string, string>();
  applyToPeer(peer, [...p4.updates, ...p6.updates], ebgp);
  t.equal(peer.size, 20_000, 'every prefix arrives, every UPDATE within 4096 octets');
  const gone = planUpdates(new Map(), new Map([...p4.advertised, ...p6.advertised]), ebgp);
  t.ok(gone.updates.length <= 13 + 43, `withdrawals packed as well (${gone.updates.length} UPDATEs)`);
  applyToPeer(peer, gone.updates, ebgp);
  t.equal(peer.size, 0);
});

t.test('full sync ends with End-of-RIB per family; route refresh resends one family', async (t) => {
  const desired = routes([['10.77.0.100/32', {}], ['fd00:77::100/128', {}]]);
  const sync = fullSync(desired, ebgp);
  t.equal(sync.updates.length, 4);
  t.same(sync.updates.slice(2).map((u) => endOfRibFamily(u)), [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ]);
  const rr = refreshFamily(desired, sync.advertised, { afi: 2, safi: 1 }, ebgp);
  t.equal(rr.updates.length, 1);
  t.same(rr.updates[0]!.attributes.mpReach?.nlri, ['fd00:77::100/128']);
  t.same(rr.advertised, sync.advertised, 'what the peer has is unchanged');
});

// Regression: a ROUTE-REFRESH answered between setRoutes() and the deferred diff was planned
// from nothing, so the route being replaced dropped out of `advertised` unwithdrawn and the peer
// kept it until the session reset.
t.test('a refresh withdraws what the peer holds of the family and is no longer wanted', async (t) => {
  const before = planUpdates(routes([['10.77.0.100/32', {}], ['fd00:77::100/128', {}]]), new Map(), ebgp);
  const rr = refreshFamily(routes([['10.77.0.101/32', {}], ['fd00:77::100/128', {}]]), before.advertised, { afi: 1, safi: 1 }, ebgp);
  t.same(
    rr.updates.map((u) => ({ nlri: u.nlri, withdrawn: u.withdrawn })),
    [
      { nlri: ['10.77.0.101/32'], withdrawn: [] },
      { nlri: [], withdrawn: ['10.77.0.100/32'] },
    ],
  );
  t.same([...rr.advertised.keys()].sort(), ['10.77.0.101/32', 'fd00:77::100/128'], 'the IPv6 route is untouched and still held');
  t.equal(rr.withdrawn, 1);
});

t.test('announcements go before withdrawals (make before break)', async (t) => {
  const host = planUpdates(routes([['10.77.0.100/32', {}]]), new Map(), ebgp);
  const aggregated = planUpdates(routes([['10.77.0.0/24', {}]]), host.advertised, ebgp);
  t.same(
    aggregated.updates.map((u) => ({ nlri: u.nlri, withdrawn: u.withdrawn })),
    [
      { nlri: ['10.77.0.0/24'], withdrawn: [] },
      { nlri: [], withdrawn: ['10.77.0.100/32'] },
    ],
    'the aggregate is announced before the /32 it replaces is withdrawn',
  );
});

t.test('property: after any sequence of plans the peer holds exactly the desired routes', async (t) => {
  const prefix = fc.oneof(
    fc.integer({ min: 0, max: 40 }).map((i) => `10.77.0.${i}/32`),
    fc.integer({ min: 1, max: 40 }).map((i) => `fd00:77::${i.toString(16)}/128`),
  );
  const attrs = fc.record({ med: fc.integer({ min: 0, max: 2 }), communities: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }) }, { requiredKeys: [] });
  // Each step may first answer a ROUTE-REFRESH for one family with the new routes, as the
  // session does when the refresh arrives before the deferred diff.
  const step = fc.tuple(fc.array(fc.tuple(prefix, attrs), { maxLength: 30 }), fc.constantFrom(0, 1, 2));
  const states = fc.array(step, { minLength: 1, maxLength: 6 });
  fc.assert(
    fc.property(states, fc.boolean(), (seq, internal) => {
      const ctx = internal ? ibgp : ebgp;
      const peer = new Map<string, string>();
      let advertised: ReadonlyMap<string, string> = new Map<string, string>();
      for (const [entries, refreshAfi] of seq) {
        const desired = new Map(entries);
        if (refreshAfi !== 0) {
          const rr = refreshFamily(desired, advertised, { afi: refreshAfi, safi: 1 }, ctx);
          applyToPeer(peer, rr.updates, ctx);
          advertised = rr.advertised;
        }
        const plan = planUpdates(desired, advertised, ctx);
        applyToPeer(peer, plan.updates, ctx);
        advertised = plan.advertised;
        if (peer.size !== desired.size || [...desired.keys()].some((p) => !peer.has(p))) return false;
        // Same attributes on the peer means same key in our map.
        const byKey = new Map<string, string>();
        for (const [p, k] of advertised) {
          const famKey = `${p.includes(':') ? 6 : 4}|${k}`;
          const seen = byKey.get(famKey);
          if (seen !== undefined && peer.get(seen) !== peer.get(p)) return false;
          byKey.set(famKey, p);
        }
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass('held for 300 runs');
});
