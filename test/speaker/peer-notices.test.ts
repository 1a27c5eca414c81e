// Disabled BGPPeers are reported once per change (src/speaker/peer-notices.ts).
import t from 'tap';
import { peerDisabledMessage, peerNotices } from '../../src/speaker/peer-notices';

t.test('new, changed and cleared reasons; nothing when unchanged', async (t) => {
  const first = new Map([['red', 'vrf is not supported by this speaker']]);
  t.same(peerNotices(new Map(), first), { disabled: [['red', 'vrf is not supported by this speaker']], enabled: [] });
  t.same(peerNotices(first, new Map(first)), { disabled: [], enabled: [] }, 'a reparse that changes nothing says nothing');
  const changed = new Map([['red', 'missing local ASN']]);
  t.same(peerNotices(first, changed).disabled, [['red', 'missing local ASN']], 'a new reason is said');
  t.same(peerNotices(changed, new Map()), { disabled: [], enabled: ['red'] });
  t.equal(peerDisabledMessage('node1', 'vrf is not supported by this speaker'), 'BGPPeer skipped on node node1, no session is opened: vrf is not supported by this speaker');
});
