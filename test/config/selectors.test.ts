import t from 'tap';
import fc from 'fast-check';
import { everything, isQualifiedName, matches, matchesAny, parseLabelSelector } from '../../src/config/selectors';

const parse = (raw: unknown) => {
  const p = parseLabelSelector(raw);
  if (!p.ok) throw new Error(p.error);
  return p.matcher;
};

t.test('matching semantics of matchLabels and each operator (Kubernetes rules)', async (t) => {
  const labels = { zone: 'a', role: 'edge', 'kubernetes.io/hostname': 'n1' };
  const table: [string, unknown, boolean][] = [
    ['empty selector matches everything', {}, true],
    ['matchLabels equal', { matchLabels: { zone: 'a' } }, true],
    ['matchLabels differ', { matchLabels: { zone: 'b' } }, false],
    ['matchLabels missing key', { matchLabels: { rack: '1' } }, false],
    ['matchLabels ANDed', { matchLabels: { zone: 'a', role: 'core' } }, false],
    ['In hit', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b', 'a'] }] }, true],
    ['In miss', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }, false],
    ['In absent key', { matchExpressions: [{ key: 'rack', operator: 'In', values: ['1'] }] }, false],
    ['NotIn hit', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, false],
    ['NotIn other value', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['b'] }] }, true],
    ['NotIn absent key matches', { matchExpressions: [{ key: 'rack', operator: 'NotIn', values: ['1'] }] }, true],
    ['Exists', { matchExpressions: [{ key: 'role', operator: 'Exists' }] }, true],
    ['Exists absent', { matchExpressions: [{ key: 'rack', operator: 'Exists' }] }, false],
    ['DoesNotExist absent', { matchExpressions: [{ key: 'rack', operator: 'DoesNotExist' }] }, true],
    ['DoesNotExist present', { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, false],
    ['prefixed key', { matchLabels: { 'kubernetes.io/hostname': 'n1' } }, true],
    ['labels and expressions ANDed', { matchLabels: { zone: 'a' }, matchExpressions: [{ key: 'role', operator: 'NotIn', values: ['edge'] }] }, false],
  ];
  for (const [name, raw, want] of table) t.equal(matches(parse(raw), labels), want, name);
  t.ok(matches(everything(), undefined), 'everything matches objects without labels');
});

t.test('invalid selectors are errors with apimachinery wording, never throws', async (t) => {
  const table: [unknown, RegExp][] = [
    [{ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] }, /"Equals" is not a valid label selector operator/],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, /values set can't be empty/],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn' }] }, /values set can't be empty/],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, /values set must be empty for exists and does not exist/],
    [{ matchExpressions: [{ key: '-bad', operator: 'Exists' }] }, /invalid label key "-bad"/],
    [{ matchLabels: { 'a/b/c': 'x' } }, /invalid label key/],
    [{ matchLabels: { ok: 'not valid!' } }, /invalid label value "not valid!"/],
    [{ matchLabels: { ok: 5 } }, /must be a string/],
    [{ matchLabels: ['x'] }, /matchLabels must be a map/],
    [{ matchExpressions: 'x' }, /matchExpressions must be a list/],
    [{ matchExpressions: [{ key: 'a', operator: 'toString', values: ['x'] }] }, /not a valid label selector operator/],
    ['zone=a', /must be an object/],
  ];
  for (const [raw, re] of table) {
    const p = parseLabelSelector(raw);
    t.match(p, { ok: false, error: re }, JSON.stringify(raw));
  }
  fc.assert(
    fc.property(fc.anything(), (raw) => {
      parseLabelSelector(raw);
    }),
  );
});

t.test('canonical text sorts requirements and values (used for duplicate detection)', async (t) => {
  const a = parse({ matchLabels: { b: '1', a: '2' }, matchExpressions: [{ key: 'c', operator: 'In', values: ['y', 'x'] }] });
  const b = parse({ matchExpressions: [{ key: 'c', operator: 'In', values: ['x', 'y'] }], matchLabels: { a: '2', b: '1' } });
  t.equal(a.text, 'a=2,b=1,c in (x,y)');
  t.equal(a.text, b.text);
  t.equal(parse({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }, { key: 'w', operator: 'Exists' }] }).text, 'w,!x');
});

t.test('qualified names', async (t) => {
  for (const k of ['a', 'A-b_c.d', 'example.com/x', 'node-role.kubernetes.io/control-plane', 'x'.repeat(63)]) t.ok(isQualifiedName(k), k);
  for (const k of ['', '/a', 'a/', 'Example.com/x', '_a', 'a_', 'x'.repeat(64), `${'a'.repeat(254)}/x`]) t.notOk(isQualifiedName(k), k);
});

t.test('matchesAny: empty list selects everything, otherwise OR', async (t) => {
  t.ok(matchesAny([], { a: '1' }));
  const sels = [parse({ matchLabels: { a: '1' } }), parse({ matchLabels: { b: '1' } })];
  t.ok(matchesAny(sels, { b: '1' }));
  t.notOk(matchesAny(sels, { c: '1' }));
});
