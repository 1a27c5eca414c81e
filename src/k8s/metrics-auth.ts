/**
 * Delegated authentication and authorisation of `/metrics`, as upstream MetalLB 0.14+ serves it
 * through controller-runtime's secure metrics server (`pkg/metrics/filters` in
 * kubernetes-sigs/controller-runtime, `WithAuthenticationAndAuthorization`) and kube-rbac-proxy
 * before that: the bearer token is checked with a TokenReview, the user it names with a
 * SubjectAccessReview for the non-resource URL `/metrics`, verb `get`. No token or an invalid one
 * is 401, a user without the grant 403.
 *
 * Decisions are cached briefly (the apiserver's own delegated authenticator and authoriser cache
 * for 10 s as well) in a map bounded by entry count, and only a few reviews run at once: a flood
 * of random tokens can neither grow memory nor become a flood of reviews on the apiserver. Past
 * that bound a new token is turned away (429) instead of queued, while tokens already decided
 * keep answering from the cache.
 */
import { createHash } from 'node:crypto';
import type { KubeClient } from './client';
import { errorMessage } from '../util/errors';

/** What a request to `/metrics` is answered with. */
export const AccessKind = {
  Allowed: 'allowed',
  /** No token, or the TokenReview did not authenticate it: 401. */
  Unauthenticated: 'unauthenticated',
  /** The SubjectAccessReview denied the user: 403. */
  Forbidden: 'forbidden',
  /** Too many reviews in flight for a token not in the cache: 429. */
  Busy: 'busy',
  /** The SubjectAccessReview could not be made: 500 (as controller-runtime answers). */
  Failed: 'failed',
} as const;

/** A decision about one request. */
export type AccessDecision =
  | { readonly kind: typeof AccessKind.Allowed; readonly user: string }
  | { readonly kind: typeof AccessKind.Unauthenticated; readonly reason: string }
  | { readonly kind: typeof AccessKind.Forbidden; readonly user: string; readonly reason: string }
  | { readonly kind: typeof AccessKind.Busy }
  | { readonly kind: typeof AccessKind.Failed; readonly user: string; readonly reason: string };

/** The user a TokenReview returned, passed on to the SubjectAccessReview unchanged. */
export interface ReviewedUser {
  readonly username: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

/** The two review calls (the apiserver in production, a table in unit tests). */
export interface Reviews {
  authenticate(token: string): Promise<{ readonly authenticated: true; readonly user: ReviewedUser } | { readonly authenticated: false; readonly reason: string }>;
  authorize(user: ReviewedUser, attrs: { readonly path: string; readonly verb: string }): Promise<{ readonly allowed: boolean; readonly reason: string }>;
}

/** Options of {@link createMetricsAuthorizer}. */
export interface MetricsAuthOptions {
  readonly reviews: Reviews;
  /** Milliseconds on any monotonic scale. */
  readonly now: () => number;
  /** How long a decision (allowed, denied or unauthenticated) is reused. */
  readonly ttlMs?: number;
  /** Cached decisions kept at most; the least recently used go first. */
  readonly maxEntries?: number;
  /** Tokens under review at once. */
  readonly maxConcurrentReviews?: number;
}

/** Defaults: 10 s like the apiserver's delegated caches, 1,000 entries, 16 reviews in flight. */
export const METRICS_AUTH_DEFAULTS = { ttlMs: 10_000, maxEntries: 1000, maxConcurrentReviews: 16 } as const;

/** The path and verb every scrape is authorised for (upstream's filter checks the request's). */
const METRICS_ATTRIBUTES = { path: '/metrics', verb: 'get' } as const;

/** Decides scrapes; one per endpoint. */
export interface MetricsAuthorizer {
  /** Decide a request from its `Authorization` header. */
  check(authorization: string | undefined): Promise<AccessDecision>;
  /** Cached decisions (for tests of the bound). */
  cachedEntries(): number;
  /** Reviews in flight. */
  reviewsInFlight(): number;
}

/** The token of an `Authorization: Bearer <token>` header; undefined for anything else. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

interface Entry {
  readonly decision: AccessDecision;
  readonly expiresAt: number;
}

/** Review outcome plus whether it may be cached (errors are not: the next scrape asks again). */
interface Reviewed {
  readonly decision: AccessDecision;
  readonly cacheable: boolean;
}

async function review(reviews: Reviews, token: string): Promise<Reviewed> {
  let authn: Awaited<ReturnType<Reviews['authenticate']>>;
  try {
    authn = await reviews.authenticate(token);
  } catch (err) {
    // controller-runtime answers an authenticator error with 401 too.
    return { decision: { kind: AccessKind.Unauthenticated, reason: `token review failed: ${errorMessage(err)}` }, cacheable: false };
  }
  if (!authn.authenticated) return { decision: { kind: AccessKind.Unauthenticated, reason: authn.reason }, cacheable: true };
  const user = authn.user.username;
  try {
    const authz = await reviews.authorize(authn.user, METRICS_ATTRIBUTES);
    return authz.allowed
      ? { decision: { kind: AccessKind.Allowed, user }, cacheable: true }
      : { decision: { kind: AccessKind.Forbidden, user, reason: authz.reason }, cacheable: true };
  } catch (err) {
    return { decision: { kind: AccessKind.Failed, user, reason: `subject access review failed: ${errorMessage(err)}` }, cacheable: false };
  }
}

/** A bounded, briefly caching authoriser of `/metrics` scrapes. */
export function createMetricsAuthorizer(opts: MetricsAuthOptions): MetricsAuthorizer {
  const ttlMs = opts.ttlMs ?? METRICS_AUTH_DEFAULTS.ttlMs;
  const maxEntries = opts.maxEntries ?? METRICS_AUTH_DEFAULTS.maxEntries;
  const maxInFlight = opts.maxConcurrentReviews ?? METRICS_AUTH_DEFAULTS.maxConcurrentReviews;
  // Keyed by a digest, so the cache never holds a token itself. Map order is recency order.
  const cache = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<AccessDecision>>();

  const remember = (key: string, decision: AccessDecision): void => {
    cache.delete(key);
    cache.set(key, { decision, expiresAt: opts.now() + ttlMs });
    for (const oldest of cache.keys()) {
      if (cache.size <= maxEntries) break;
      cache.delete(oldest);
    }
  };

  return {
    check: async (authorization) => {
      const token = bearerToken(authorization);
      if (token === undefined) return { kind: AccessKind.Unauthenticated, reason: 'no bearer token' };
      const key = createHash('sha256').update(token).digest('base64');
      const hit = cache.get(key);
      if (hit && hit.expiresAt > opts.now()) {
        cache.delete(key);
        cache.set(key, hit);
        return hit.decision;
      }
      if (hit) cache.delete(key);
      const pending = inFlight.get(key);
      if (pending) return pending;
      if (inFlight.size >= maxInFlight) return { kind: AccessKind.Busy };
      const p = review(opts.reviews, token).then((r) => {
        inFlight.delete(key);
        if (r.cacheable) remember(key, r.decision);
        return r.decision;
      });
      inFlight.set(key, p);
      return p;
    },
    cachedEntries: () => cache.size,
    reviewsInFlight: () => inFlight.size,
  };
}

interface TokenReviewStatus {
  readonly status?: { readonly authenticated?: boolean; readonly error?: string; readonly user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> } };
}

interface SubjectAccessReviewStatus {
  readonly status?: { readonly allowed?: boolean; readonly denied?: boolean; readonly reason?: string; readonly evaluationError?: string };
}

/**
 * The reviews made with the process's own credentials (the chart grants `create` on
 * tokenreviews and subjectaccessreviews). Audiences are left empty: the apiserver's own.
 */
export function kubeReviews(client: KubeClient): Reviews {
  return {
    authenticate: async (token) => {
      const r = await client.request<TokenReviewStatus>({
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/tokenreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      });
      const s = r.status;
      if (s?.authenticated !== true || !s.user?.username) return { authenticated: false, reason: s?.error || 'token not authenticated' };
      const u = s.user;
      const username = s.user.username;
      return { authenticated: true, user: { username, ...(u.uid ? { uid: u.uid } : {}), ...(u.groups ? { groups: u.groups } : {}), ...(u.extra ? { extra: u.extra } : {}) } };
    },
    authorize: async (user, attrs) => {
      const r = await client.request<SubjectAccessReviewStatus>({
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: { user: user.username, uid: user.uid, groups: user.groups, extra: user.extra, nonResourceAttributes: { path: attrs.path, verb: attrs.verb } },
        },
      });
      const s = r.status;
      return { allowed: s?.allowed === true && s.denied !== true, reason: s?.reason || s?.evaluationError || '' };
    },
  };
}
