// The configuration verdict both processes publish in their ConfigurationState, and the
// once-per-change reporting of warnings and errors they share.
import t from 'tap';
import { assessConfig, ConditionReason, configVerdict, NOTHING_REPORTED } from '../../src/config/verdict';
import type { ConfigError, ParseResult } from '../../src/config/types';

const err = (name: string, message: string): ConfigError => ({ kind: 'IPAddressPool', name, namespace: 'metallb-system', field: 'spec', message, transient: false });
const valid = (...warnings: ConfigError[]): ParseResult => ({ ok: true, config: {} as never, warnings });
const invalid = (errors: ConfigError[], warnings: ConfigError[] = []): ParseResult => ({ ok: false, errors, warnings });

t.test('configVerdict: valid, or a ConfigurationError with every error in the summary', async (t) => {
  t.same(configVerdict(valid()), { valid: true });
  t.same(configVerdict(invalid([err('a', 'invalid CIDR 10.0.0.0/33'), err('b', 'overlaps a')])), {
    valid: false,
    reason: ConditionReason.ConfigurationError,
    summary: 'IPAddressPool/a: invalid CIDR 10.0.0.0/33\nIPAddressPool/b: overlaps a',
  });
});

t.test('assessConfig: warnings and errors are reported once per change', async (t) => {
  const w = err('a', 'password ends in a newline');
  const first = assessConfig(NOTHING_REPORTED, valid(w));
  t.same(first.verdict, { valid: true });
  t.same(first.newWarnings, ['IPAddressPool/a: password ends in a newline'], 'new warnings are reported');
  t.equal(first.newErrors, undefined);

  const same = assessConfig(first.reported, valid(w));
  t.equal(same.newWarnings, undefined, 'the same warnings again: quiet');

  const none = assessConfig(same.reported, valid());
  t.equal(none.newWarnings, undefined, 'warnings gone: nothing to say');
  t.equal(assessConfig(none.reported, valid(w)).newWarnings?.length, 1, 'back again: reported again');

  const broken = assessConfig(none.reported, invalid([err('b', 'invalid CIDR')]));
  t.equal(broken.verdict.valid, false);
  t.equal(broken.newErrors, 'IPAddressPool/b: invalid CIDR', 'new errors are reported');
  const stillBroken = assessConfig(broken.reported, invalid([err('b', 'invalid CIDR')]));
  t.equal(stillBroken.newErrors, undefined, 'the same errors again: quiet');
  t.same(stillBroken.verdict, broken.verdict, 'the verdict is given every time');
  t.equal(assessConfig(stillBroken.reported, invalid([err('c', 'invalid CIDR')])).newErrors, 'IPAddressPool/c: invalid CIDR', 'different errors: reported');

  const fixed = assessConfig(stillBroken.reported, valid());
  t.same(fixed.verdict, { valid: true });
  t.equal(assessConfig(fixed.reported, invalid([err('b', 'invalid CIDR')])).newErrors, 'IPAddressPool/b: invalid CIDR', 'broken again after a fix: reported again');
});
