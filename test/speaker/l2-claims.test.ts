// Who a holder yields a VIP to when another station claims it (src/speaker/l2-claims.ts), as pure
// tables: cut off from the API, only to a MAC a live speaker published; never to a stranger.
import t from 'tap';
import { defenceDue, liveClaimant, macOwnersOf, respondToClaim, YieldReason, type ClaimSituation } from '../../src/speaker/l2-claims';

const view = (holder: string, renewTimeMs: number) => ({ view: { holder, renewTimeMs, durationMs: 6_000 } });

t.test('liveClaimant: a MAC some live speaker published, by the Leases last seen', async (t) => {
  const owners = macOwnersOf([
    ['b', ['02:00:00:00:00:02']],
    ['c', ['02:00:00:00:00:03']],
    ['d', ['02:00:00:00:00:04']],
    ['e', ['02:00:00:00:00:05']],
    ['me', ['02:00:00:00:00:01']],
  ]);
  const presence = new Map([
    ['b', view('b', 1_000)],
    ['c', view('', 1_000)],
    ['d', view('d', 1_000)],
    ['e', view('e', 5_000)],
    ['me', view('me', 1_000)],
  ]);
  const dead = new Map([
    ['d', 2_000],
    ['e', 4_000],
  ]);
  const at = (mac: string) => liveClaimant(mac, owners, presence, dead, 'me');
  t.equal(at('02:00:00:00:00:02'), 'b', 'published and present');
  t.equal(at('02:00:00:00:00:02'.toUpperCase()), 'b', 'MACs compare case-insensitively');
  t.equal(at('02:00:00:00:00:03'), undefined, 'c released its presence (a graceful stop)');
  t.equal(at('02:00:00:00:00:04'), undefined, 'd was proven dead on the wire after its last renew');
  t.equal(at('02:00:00:00:00:05'), 'e', 'e renewed after it was seen dead');
  t.equal(at('02:00:00:00:00:01'), undefined, 'our own MAC is no claimant');
  t.equal(at('02:66:66:66:66:66'), undefined, 'a MAC nobody published: a stranger');
  t.equal(liveClaimant('02:00:00:00:00:09', macOwnersOf([['f', ['02:00:00:00:00:09']]]), presence, dead, 'me'), undefined, 'published by a node with no presence Lease');
});

t.test('respondToClaim: yield to the Lease or to a live claimant when our hold lapsed, defend otherwise', async (t) => {
  const base: ClaimSituation = { me: 'a', announcing: true, handingOver: false, holder: 'a', holdLapsed: false, claimant: undefined };
  const rows: Array<[string, Partial<ClaimSituation>, ReturnType<typeof respondToClaim>]> = [
    ['not announcing', { announcing: false, claimant: 'b' }, { kind: 'ignore' }],
    ['handing over: the successor announces', { handingOver: true }, { kind: 'handover-done' }],
    ['the Lease names another node', { holder: 'b' }, { kind: 'yield', reason: YieldReason.LeaseNamesAnother }],
    ['our hold lapsed, a live speaker claims', { holdLapsed: true, claimant: 'b' }, { kind: 'yield', reason: YieldReason.LiveClaimant }],
    ['our hold lapsed, a stranger claims (a forged ARP during an API outage)', { holdLapsed: true }, { kind: 'defend', foreign: true }],
    ['fresh hold, a stranger claims', {}, { kind: 'defend', foreign: true }],
    ['fresh hold, a live speaker claims (a stale ex-holder)', { claimant: 'b' }, { kind: 'defend', foreign: false }],
  ];
  for (const [name, over, want] of rows) t.same(respondToClaim({ ...base, ...over }), want, name);
});

t.test('defenceDue: at most one re-announcement per interval, however many claims', async (t) => {
  t.ok(defenceDue(-Infinity, 0), 'the first claim is answered');
  t.notOk(defenceDue(1_000, 1_999));
  t.ok(defenceDue(1_000, 2_000));
  t.notOk(defenceDue(1_000, 1_200, 250), 'the interval is a parameter');
});
