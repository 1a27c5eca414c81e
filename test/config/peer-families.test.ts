// disableMP and dualStackAddressFamily (upstream FRR mode): accepted as booleans and passed to
// the speaker, which maps them to the session's address families.
import t from 'tap';
import { parseConfig } from '../../src/config/parse';
import { configOf, goodPeer, peer, problemMessages } from '../fixtures/manifests/objects';

const one = (spec: Record<string, unknown>) => parseConfig({ peers: [peer('p', spec)] });

t.test('defaults false; true is kept', async (t) => {
  t.match(configOf(one(goodPeer())).peers[0], { disableMP: false, dualStackAddressFamily: false });
  t.match(configOf(one(goodPeer({ disableMP: true }))).peers[0], { disableMP: true, dualStackAddressFamily: false });
  t.match(configOf(one(goodPeer({ dualStackAddressFamily: true }))).peers[0], { disableMP: false, dualStackAddressFamily: true });
  t.match(configOf(one(goodPeer({ peerAddress: 'fd00:77::1', dualStackAddressFamily: true, disableMP: true }))).peers[0], { addressFamily: 6, disableMP: true, dualStackAddressFamily: true });
});

t.test('a non-boolean disables the peer only', async (t) => {
  t.same(problemMessages(one(goodPeer({ disableMP: 'yes' }))), ['spec.disableMP must be a boolean, got "yes"']);
  t.same(problemMessages(one(goodPeer({ dualStackAddressFamily: 1 }))), ['spec.dualStackAddressFamily must be a boolean, got 1']);
  t.ok(one(goodPeer({ disableMP: 'yes' })).ok);
});
