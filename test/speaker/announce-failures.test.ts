// An L2 announce on interfaces that do not exist is retried on every election tick; the warning
// (log line and Event) must come once per IP and interface selection, not once per tick.
import t from 'tap';
import { announceFailedMessage, announceOutcome } from '../../src/speaker/announce-failures';

t.test('announceOutcome: a failure is reported once per selection', async (t) => {
  const first = announceOutcome(undefined, ['eth9'], false);
  t.same(first, { failedSelection: '["eth9"]', report: true }, 'first failure: report it and remember the selection');
  t.same(announceOutcome(first.failedSelection, ['eth9'], false), { failedSelection: '["eth9"]', report: false }, 'the same selection failing again: quiet');
  t.same(announceOutcome(first.failedSelection, ['eth8', 'eth9'], false), { failedSelection: '["eth8","eth9"]', report: true }, 'another selection: reported');
  t.same(announceOutcome(first.failedSelection, 'all', false), { failedSelection: '"all"', report: true }, "'all' is a selection too");
  t.same(announceOutcome(first.failedSelection, ['eth9'], true), { failedSelection: undefined, report: false }, 'success forgets the failure');
  t.same(announceOutcome(undefined, ['eth9'], true), { failedSelection: undefined, report: false }, 'success is never reported');
});

t.test("announceFailedMessage: upstream's text, grammar included", async (t) => {
  t.equal(announceFailedMessage('10.77.0.100', 'node1'), 'the interfaces specified by LB IP "10.77.0.100" doesn\'t exist in assigned node "node1" with protocol "layer2"');
});
