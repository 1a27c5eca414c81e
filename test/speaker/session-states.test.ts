// The BGPSessionState objects a node should have (src/speaker/session-states.ts), as a table of
// situations: each peer's row, what a disabled peer shows, and that nothing in a row changes
// while a session that is down keeps retrying (bounded writes).
import t from 'tap';
import type { Peer } from '../../src/config/types';
import type { SessionView } from '../../src/speaker/bgp-peers';
import { HELD_FOR_BFD_ERROR, peerLabelValue, rfc3339, sessionStates, SessionStatus, UNSUPPORTED_PEER_ERROR, type SessionFacts } from '../../src/speaker/session-states';

const peer = (name: string, address?: string): Peer => ({ name, address, bfdProfile: undefined }) as unknown as Peer;
const UP_MS = Date.UTC(2026, 11, 5, 12, 0, 0, 750);

function facts(over: Partial<SessionFacts>): SessionFacts {
  return { node: 'node1', peers: [], sessions: new Map(), heldForBfd: new Set(), bfdStatus: () => 'N/A', disabled: new Map(), ...over };
}

t.test('one row per peer, keyed by its label value', async (t) => {
  const sessions = new Map<string, SessionView>([
    ['up', { address: '10.0.0.1', established: true, establishedSinceMs: UP_MS }],
    ['down', { address: '10.0.0.2', established: false, lastError: 'connect ECONNREFUSED 10.0.0.2:179' }],
    ['held', { address: '10.0.0.3', established: false }],
  ]);
  const got = sessionStates(
    facts({
      peers: [peer('up', '10.0.0.1'), peer('down', '10.0.0.2'), peer('held', '10.0.0.3'), peer('unnumbered')],
      sessions,
      heldForBfd: new Set(['held']),
      bfdStatus: (p) => (p.name === 'up' ? 'up' : p.name === 'held' ? 'down' : 'N/A'),
      disabled: new Map([['in-vrf', { reason: 'vrf is not supported by this speaker', address: '10.0.0.99', vrf: 'red' }]]),
    }),
  );
  const base = { node: 'node1', vrf: '' };
  t.same(Object.fromEntries(got), {
    up: { ...base, bgpPeer: 'up', peer: '10.0.0.1', bgpStatus: 'Established', bfdStatus: 'up', establishedSince: '2026-12-05T12:00:00Z' },
    down: { ...base, bgpPeer: 'down', peer: '10.0.0.2', bgpStatus: 'Active', bfdStatus: 'N/A', lastError: 'connect ECONNREFUSED 10.0.0.2:179' },
    held: { ...base, bgpPeer: 'held', peer: '10.0.0.3', bgpStatus: 'Idle', bfdStatus: 'down', lastError: HELD_FOR_BFD_ERROR },
    unnumbered: { ...base, bgpPeer: 'unnumbered', peer: '', bgpStatus: 'Disabled', bfdStatus: 'N/A', lastError: UNSUPPORTED_PEER_ERROR },
    'in-vrf': { node: 'node1', bgpPeer: 'in-vrf', peer: '10.0.0.99', vrf: 'red', bgpStatus: 'Disabled', bfdStatus: 'N/A', lastError: 'vrf is not supported by this speaker' },
  });
});

t.test('a session retrying does not change its row: every non-Established state is Active', async (t) => {
  // bgp-peers.ts reports only established or not; the FSM's Idle/Connect/OpenSent cycle of a
  // retry never reaches the row, and the same error text gives the same row.
  const rows = [1, 2, 3].map(() =>
    sessionStates(facts({ peers: [peer('r', '10.0.0.9')], sessions: new Map([['r', { address: '10.0.0.9', established: false, lastError: 'TCP connect timed out' }]]) })).get('r'),
  );
  t.same(rows[1], rows[0]);
  t.same(rows[2], rows[0]);
  t.equal(rows[0]?.bgpStatus, SessionStatus.Active);
});

t.test('peerLabelValue: names up to 63 characters as they are, longer ones cut with a checksum', async (t) => {
  t.equal(peerLabelValue('router-a'), 'router-a');
  const long = `${'a'.repeat(60)}.example.com`;
  const v = peerLabelValue(long);
  t.equal(v.length, 63);
  t.match(v, /^a{54}-[0-9a-f]{8}$/);
  t.not(peerLabelValue(`${long}x`), v, 'two long names stay apart');
  t.match(peerLabelValue('x'.repeat(63)), /^x{63}$/);
});

t.test('rfc3339 writes whole seconds, as Kubernetes does', async (t) => {
  t.equal(rfc3339(UP_MS), '2026-12-05T12:00:00Z');
  t.ok(Number.isFinite(Date.parse(rfc3339(UP_MS))));
});
