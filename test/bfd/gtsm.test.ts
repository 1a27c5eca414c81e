/** The TTL verdict on received BFD packets: RFC 5881 §5 single-hop, RFC 5883 §5 multihop. */
import t from 'tap';
import { BFD_TTL, ttlRefusal } from '../../src/bfd/gtsm';

t.test('single-hop accepts TTL 255 only, whatever minimumTtl says', async (t) => {
  t.equal(ttlRefusal(false, BFD_TTL, 254), undefined);
  t.equal(ttlRefusal(false, 254, 1), 'single-hop packet with TTL 254, want 255');
  t.equal(ttlRefusal(false, -1, 254), 'single-hop packet with TTL -1, want 255', 'no TTL reported is refused');
});

t.test('multihop accepts minimumTtl and above (one router: 254 passes the default 254)', async (t) => {
  const table: [ttl: number, minimumTtl: number, accepted: boolean][] = [
    [255, 254, true],
    [254, 254, true],
    [253, 254, false],
    [250, 250, true],
    [249, 250, false],
    [1, 1, true],
    [-1, 1, false],
  ];
  for (const [ttl, min, accepted] of table) {
    const r = ttlRefusal(true, ttl, min);
    t.equal(r === undefined, accepted, `TTL ${ttl}, minimum ${min}: ${r ?? 'accepted'}`);
  }
  t.equal(ttlRefusal(true, 253, 254), 'multihop packet with TTL 253, minimum 254');
});
