import t from 'tap';
import { rankCandidates, successorOf } from '../../src/speaker/election';

// Vectors from upstream's TestSortL2Candidates / TestShouldAnnounceEPSlices
// (docs/upstream-behaviour.md §4.2).
const vectors: Array<{ ip: string; nodes: string[]; first?: string; order?: string[] }> = [
  { ip: '10.0.0.1', nodes: ['node-a', 'node-b', 'node-c'], order: ['node-b', 'node-a', 'node-c'] },
  { ip: '10.0.0.2', nodes: ['node-a', 'node-b', 'node-c'], order: ['node-b', 'node-c', 'node-a'] },
  { ip: '10.20.30.1', nodes: ['node-a', 'node-b'], first: 'node-b' },
  { ip: '10.20.30.1', nodes: ['edge-a', 'edge-b'], first: 'edge-b' },
  { ip: '10.20.30.1', nodes: ['iris1', 'iris2'], first: 'iris2' },
  { ip: '10.20.30.2', nodes: ['iris1', 'iris2'], first: 'iris1' },
];

t.test('upstream hash order', async (t) => {
  for (const v of vectors) {
    const ranked = rankCandidates(v.nodes, v.ip);
    if (v.order) t.same(ranked, v.order, `${v.ip} ${v.nodes.join(',')}`);
    if (v.first) t.equal(ranked[0], v.first, `${v.ip} ${v.nodes.join(',')}`);
    t.same(rankCandidates([...v.nodes].reverse(), v.ip), ranked, 'independent of input order');
  }
});

t.test('preference score wins over the hash', async (t) => {
  const ranked = rankCandidates(['edge-a', 'edge-b', 'worker-a', 'worker-b'], '10.20.30.1', new Map([['edge-a', 100]]));
  t.equal(ranked[0], 'edge-a');
});

t.test('removing a node only moves the VIPs it had (rendezvous property)', async (t) => {
  const nodes = ['n1', 'n2', 'n3', 'n4'];
  let moved = 0;
  for (let i = 1; i < 255; i++) {
    const ip = `10.77.0.${i}`;
    const before = rankCandidates(nodes, ip)[0];
    const after = rankCandidates(nodes.filter((n) => n !== 'n4'), ip)[0];
    if (before !== 'n4') t.equal(after, before, `${ip} stays on ${before}`);
    else moved++;
  }
  t.ok(moved > 30 && moved < 100, `about a quarter of VIPs were on n4 (${moved})`);
});

t.test('successor', async (t) => {
  t.equal(successorOf(['a', 'b', 'c'], 'a'), 'b');
  t.equal(successorOf(['a', 'b', 'c'], 'b'), 'a');
  t.equal(successorOf(['a'], 'a'), undefined);
});
