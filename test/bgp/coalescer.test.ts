/** The ROUTE-REFRESH coalescer: one run in flight and one wanted per key, the rest folded. */
import t from 'tap';
import { Coalescer } from '../../src/bgp/coalescer';

t.test('requests fold into one wanted run; a request during a run waits for it', async (t) => {
  const c = new Coalescer<string>();
  t.equal(c.take(), undefined, 'nothing wanted');
  t.equal(c.request('1/1'), 'wanted');
  for (let i = 0; i < 20_000; i++) c.request('1/1');
  t.equal(c.folded, 20_000, 'every later request folded');
  t.equal(c.take(), '1/1', 'one run');
  t.ok(c.inFlight('1/1'));
  t.equal(c.take(), undefined, 'nothing else wanted');
  t.equal(c.request('1/1'), 'wanted', 'a request during the run is wanted again');
  t.equal(c.request('1/1'), 'folded');
  t.equal(c.take(), undefined, 'but not started while the run is in flight');
  c.finish('1/1');
  t.equal(c.take(), '1/1', 'one more run after the first finished');
  c.finish('1/1');
  t.equal(c.take(), undefined, '20,003 requests, two runs');
});

t.test('keys are independent and taken oldest first; clear forgets all', async (t) => {
  const c = new Coalescer<string>();
  c.request('2/1');
  c.request('1/1');
  t.equal(c.take(), '2/1');
  c.request('2/1');
  t.equal(c.take(), '1/1', 'a key in flight does not block another');
  t.equal(c.take(), undefined);
  c.clear();
  t.notOk(c.inFlight('2/1'));
  t.equal(c.take(), undefined, 'the wanted 2/1 is gone with the connection');
});
