// The /metrics authoriser's decisions, cache and bounds, with scripted reviews and a manual
// clock (the real TokenReview/SubjectAccessReview path is test/k8s/secure-metrics-integration).
import t from 'tap';
import { AccessKind, bearerToken, createMetricsAuthorizer, type Reviews, type ReviewedUser } from '../../src/k8s/metrics-auth';

/** Reviews from a table: token -> user (absent: not authenticated); users allowed; call counts. */
function scripted(users: Record<string, string>, allowed: readonly string[]) {
  const calls = { authn: 0, authz: 0, attrs: [] as Array<{ path: string; verb: string }> };
  const reviews: Reviews = {
    authenticate: async (token) => {
      calls.authn++;
      const u = users[token];
      return u ? { authenticated: true, user: { username: u, groups: ['system:serviceaccounts'] } } : { authenticated: false, reason: 'invalid bearer token' };
    },
    authorize: async (user: ReviewedUser, attrs) => {
      calls.authz++;
      calls.attrs.push({ ...attrs });
      return { allowed: allowed.includes(user.username), reason: allowed.includes(user.username) ? 'RBAC: allowed' : '' };
    },
  };
  return { reviews, calls };
}

t.test('bearer token parsing', async (t) => {
  t.equal(bearerToken('Bearer abc.def'), 'abc.def');
  t.equal(bearerToken('bearer   abc '), 'abc', 'scheme is case-insensitive, spaces trimmed');
  for (const bad of [undefined, '', 'Bearer', 'Bearer ', 'Basic dXNlcjpwdw==', 'Bearer a b', 'abc']) t.equal(bearerToken(bad), undefined, JSON.stringify(bad));
});

t.test('decisions: allowed, forbidden, unauthenticated; the SAR asks get on /metrics', async (t) => {
  const { reviews, calls } = scripted({ good: 'system:serviceaccount:mon:prom', other: 'system:serviceaccount:apps:web' }, ['system:serviceaccount:mon:prom']);
  const auth = createMetricsAuthorizer({ reviews, now: () => 0 });
  t.same(await auth.check('Bearer good'), { kind: AccessKind.Allowed, user: 'system:serviceaccount:mon:prom' });
  t.match(await auth.check('Bearer other'), { kind: AccessKind.Forbidden, user: 'system:serviceaccount:apps:web' });
  t.match(await auth.check('Bearer garbage'), { kind: AccessKind.Unauthenticated, reason: 'invalid bearer token' });
  t.match(await auth.check(undefined), { kind: AccessKind.Unauthenticated, reason: 'no bearer token' });
  t.same(calls.attrs, [
    { path: '/metrics', verb: 'get' },
    { path: '/metrics', verb: 'get' },
  ]);
  t.equal(calls.authn, 3, 'no review for a request without a token');
});

t.test('decisions are reused for the TTL, then reviewed again', async (t) => {
  let now = 1000;
  const { reviews, calls } = scripted({ good: 'u' }, ['u']);
  const auth = createMetricsAuthorizer({ reviews, now: () => now, ttlMs: 10_000 });
  await auth.check('Bearer good');
  await auth.check('Bearer bad');
  now += 9_999;
  await auth.check('Bearer good');
  await auth.check('Bearer bad');
  t.same([calls.authn, calls.authz], [2, 1], 'denials are cached too');
  now += 1;
  await auth.check('Bearer good');
  t.same([calls.authn, calls.authz], [3, 2], 'expired at the TTL');
});

t.test('concurrent requests with one token share one review', async (t) => {
  const { reviews, calls } = scripted({ good: 'u' }, ['u']);
  const auth = createMetricsAuthorizer({ reviews, now: () => 0 });
  const all = await Promise.all(Array.from({ length: 50 }, () => auth.check('Bearer good')));
  t.ok(all.every((d) => d.kind === AccessKind.Allowed));
  t.equal(calls.authn, 1);
});

t.test('a flood of random tokens: bounded cache, bounded reviews, nothing gets in', async (t) => {
  const { reviews, calls } = scripted({ good: 'u' }, ['u']);
  const auth = createMetricsAuthorizer({ reviews, now: () => 0, maxEntries: 100, maxConcurrentReviews: 4 });
  t.equal((await auth.check('Bearer good')).kind, AccessKind.Allowed);
  let busy = 0;
  for (let round = 0; round < 50; round++) {
    const decisions = await Promise.all(Array.from({ length: 20 }, (_, i) => auth.check(`Bearer random-${round}-${i}`)));
    busy += decisions.filter((d) => d.kind === AccessKind.Busy).length;
    t.ok(decisions.every((d) => d.kind === AccessKind.Unauthenticated || d.kind === AccessKind.Busy), `round ${round}: nothing random gets in`);
    t.ok(auth.cachedEntries() <= 100, `round ${round}: at most 100 entries (${auth.cachedEntries()})`);
  }
  t.equal(busy, 50 * 16, 'at most 4 reviews at once: 16 of every 20 concurrent new tokens are turned away');
  t.equal(calls.authn, 1 + 50 * 4, 'reviews made: the known token once, then 4 per round');
  t.equal(auth.reviewsInFlight(), 0);
});

t.test('review errors: token review 401 and access review 500, neither cached', async (t) => {
  let fail = true;
  const reviews: Reviews = {
    authenticate: async (token) => {
      if (fail && token === 'a') throw new Error('apiserver unreachable');
      return { authenticated: true, user: { username: 'u' } };
    },
    authorize: async () => {
      if (fail) throw new Error('apiserver unreachable');
      return { allowed: true, reason: '' };
    },
  };
  const auth = createMetricsAuthorizer({ reviews, now: () => 0 });
  t.match(await auth.check('Bearer a'), { kind: AccessKind.Unauthenticated, reason: /token review failed: apiserver unreachable/ });
  t.match(await auth.check('Bearer b'), { kind: AccessKind.Failed, user: 'u', reason: /subject access review failed/ });
  t.equal(auth.cachedEntries(), 0);
  fail = false;
  t.equal((await auth.check('Bearer a')).kind, AccessKind.Allowed, 'asked again once the apiserver answers');
  t.equal((await auth.check('Bearer b')).kind, AccessKind.Allowed);
});
