/**
 * The Kubernetes client factory: a KubeConfig from a kubeconfig path or the in-cluster service
 * account, and a small JSON REST client over one keep-alive HTTPS agent.
 *
 * Why not client-node's generated API classes for the hot paths: in 1.x every call builds a new
 * `https.Agent`, so every request pays a TLS handshake (on both sides) and the generated
 * (de)serializers rewrite each object. At hundreds of status writes per second on a shared
 * 2-core machine that is most of the CPU. Objects here stay plain JSON, the same shape the
 * watch stream delivers, so informer caches hold one representation. client-node still does
 * kubeconfig loading, authentication (tokens, exec plugins, token files) and watches.
 */
import http from 'node:http';
import https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { ErrorCode, MetalLbError } from '../util/errors';

/** Build a KubeConfig: an explicit kubeconfig path wins, then in-cluster, then the default chain ($KUBECONFIG, ~/.kube/config). */
export function loadKubeConfig(kubeconfigPath?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new MetalLbError(ErrorCode.Usage, 'kubeconfig has no current cluster', { kubeconfigPath });
  return kc;
}

/** One API request. `path` starts with `/api` or `/apis`. */
export interface ApiRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  /** Pre-serialized body, for JSON that JSON.stringify cannot produce (int64 counters as BigInt). */
  readonly rawBody?: string;
  /** Defaults to JSON; PATCH callers pass a patch type. */
  readonly contentType?: string;
}

/** Patch content types the apiserver accepts. */
export const PatchType = {
  Merge: 'application/merge-patch+json',
  StrategicMerge: 'application/strategic-merge-patch+json',
  Json: 'application/json-patch+json',
  Apply: 'application/apply-patch+yaml',
} as const;

/** A list response reduced to what informers need. */
export interface ListResult<T> {
  readonly resourceVersion: string;
  readonly items: T[];
}

/** Options of {@link KubeClient.list}. */
export interface ListOptions<T> {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly pageSize?: number;
  readonly transform?: (item: T) => T;
}

/** Observes every request (for `rest_client_requests_total`); `code` is the HTTP status or `<error>`. */
export type RequestObserver = (method: string, code: string, durationSec: number) => void;

/** The JSON REST client every shell uses. */
export interface KubeClient {
  readonly kubeConfig: k8s.KubeConfig;
  /** Host of the apiserver (the `host` label of client metrics). */
  readonly host: string;
  /** Send a request; resolves with the decoded JSON body, rejects with {@link ApiError}. */
  request<T = unknown>(req: ApiRequest): Promise<T>;
  /**
   * List a collection, following `continue` tokens; items are plain JSON, passed through
   * `transform` page by page so that only the kept part of each object outlives its page.
   */
  list<T = unknown>(path: string, opts?: ListOptions<T>): Promise<ListResult<T>>;
  /** Close idle keep-alive sockets. */
  close(): void;
}

/** A non-2xx answer from the apiserver; `statusCode` 0 means the request never got an answer. */
export class ApiError extends MetalLbError {
  readonly statusCode: number;
  readonly reason: string;
  constructor(method: string, path: string, statusCode: number, reason: string, message: string) {
    super(ErrorCode.KubeApi, `${method} ${path}: ${statusCode || 'no response'} ${reason}: ${message}`, { method, path, statusCode, reason });
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

/** True for 404 Not Found. */
export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 404;
}

/** True for 409 Conflict (optimistic concurrency lost, or AlreadyExists). */
export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 409;
}

/** Options of {@link createKubeClient}. */
export interface KubeClientOptions {
  /** Concurrent sockets to the apiserver (client-go's default QPS is not a socket limit; this is). */
  readonly maxSockets?: number;
  readonly timeoutMs?: number;
  readonly observe?: RequestObserver;
  /** client-go style `User-Agent`. */
  readonly userAgent?: string;
}

/** Authentication headers are recomputed at most this often: token files rotate in minutes, not milliseconds. */
const AUTH_REFRESH_MS = 10_000;

/** Build a {@link KubeClient} over one keep-alive agent from a KubeConfig. */
export function createKubeClient(kc: k8s.KubeConfig, opts: KubeClientOptions = {}): KubeClient {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new MetalLbError(ErrorCode.Usage, 'kubeconfig has no current cluster');
  const base = new URL(cluster.server);
  const secure = base.protocol === 'https:';
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let agent: http.Agent | undefined;
  let auth: { headers: Record<string, string>; at: number } | undefined;

  async function prepare(): Promise<{ agent: http.Agent; headers: Record<string, string> }> {
    if (!agent || !auth || Date.now() - auth.at > AUTH_REFRESH_MS) {
      const o: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(o);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(o.headers ?? {})) if (typeof v === 'string') headers[k] = v;
      if (o.auth) headers.Authorization = `Basic ${Buffer.from(o.auth).toString('base64')}`;
      auth = { headers, at: Date.now() };
      if (!agent) {
        const tls = (o.agent as https.Agent | undefined)?.options ?? {};
        agent = secure
          ? new https.Agent({ ...tls, keepAlive: true, maxSockets: opts.maxSockets ?? 16 })
          : new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 16 });
      }
    }
    return { agent, headers: auth.headers };
  }

  function send<T>(req: ApiRequest): Promise<T> {
    const started = process.hrtime.bigint();
    const observe = (code: string): void => opts.observe?.(req.method, code, Number(process.hrtime.bigint() - started) / 1e9);
    return prepare().then(
      ({ agent: a, headers }) =>
        new Promise<T>((resolve, reject) => {
          const url = new URL(req.path, base);
          for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
          const payload = req.rawBody !== undefined ? Buffer.from(req.rawBody) : req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
          const h: Record<string, string | number> = { ...headers, Accept: 'application/json' };
          if (opts.userAgent) h['User-Agent'] = opts.userAgent;
          if (payload) {
            h['Content-Type'] = req.contentType ?? 'application/json';
            h['Content-Length'] = payload.length;
          }
          const r = (secure ? https : http).request(url, { method: req.method, agent: a, headers: h, timeout: timeoutMs }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', (err) => {
              observe('<error>');
              reject(new ApiError(req.method, req.path, 0, 'ResponseError', err.message));
            });
            res.on('end', () => {
              const code = res.statusCode ?? 0;
              observe(String(code));
              const text = Buffer.concat(chunks).toString('utf8');
              let body: unknown = undefined;
              try {
                body = text.length > 0 ? JSON.parse(text) : undefined;
              } catch {
                body = text;
              }
              if (code >= 200 && code < 300) resolve(body as T);
              else {
                const status = (body ?? {}) as { reason?: string; message?: string };
                reject(new ApiError(req.method, req.path, code, status.reason ?? http.STATUS_CODES[code] ?? 'Error', status.message ?? text.slice(0, 500)));
              }
            });
          });
          r.on('timeout', () => r.destroy(new Error(`timed out after ${timeoutMs} ms`)));
          r.on('error', (err) => {
            observe('<error>');
            reject(new ApiError(req.method, req.path, 0, 'ConnectionError', err.message));
          });
          r.end(payload);
        }),
    );
  }

  return {
    kubeConfig: kc,
    host: base.host,
    request: send,
    async list<T>(path: string, o: ListOptions<T> = {}): Promise<ListResult<T>> {
      const items: T[] = [];
      let cont: string | undefined;
      let resourceVersion = '';
      do {
        const page = await send<{ metadata?: { resourceVersion?: string; continue?: string }; items?: T[] }>({
          method: 'GET',
          path,
          query: { limit: o.pageSize ?? 500, continue: cont, labelSelector: o.labelSelector, fieldSelector: o.fieldSelector },
        });
        const pageItems = page.items ?? [];
        const transform = o.transform;
        if (transform) for (const item of pageItems) items.push(transform(item));
        else items.push(...pageItems);
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        cont = page.metadata?.continue || undefined;
      } while (cont);
      return { resourceVersion, items };
    },
    close(): void {
      agent?.destroy();
    },
  };
}
