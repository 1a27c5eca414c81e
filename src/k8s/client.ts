/**
 * The Kubernetes JSON REST client: requests over one keep-alive HTTPS agent, and watches over a
 * second one so that long-lived streams never hold the request pool's sockets.
 *
 * Why not client-node's generated API classes for the hot paths: in 1.x every call builds a new
 * `https.Agent`, so every request pays a TLS handshake (on both sides) and the generated
 * (de)serializers rewrite each object. At hundreds of status writes per second on a shared
 * 2-core machine that is most of the CPU. Objects here stay plain JSON, the same shape the
 * watch stream delivers, so informer caches hold one representation. Why not client-node's
 * `Watch`: it comes with node-fetch and a new connection per watch, and its module graph (with
 * `KubeConfig`'s) is a third of the controller's memory (src/k8s/kubeconfig.ts).
 */
import http from 'node:http';
import https from 'node:https';
import { ErrorCode, MetalLbError } from '../util/errors';
import type { KubeAccess } from './kubeconfig';

export { type KubeAccess, loadKubeConfig } from './kubeconfig';

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

/** One line of a watch stream (`watch.Event` in k8s.io/apimachinery). */
export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: unknown;
}

/** An open watch. */
export interface WatchHandle {
  /** Close the stream; `onDone` is not called after this. */
  abort(): void;
}

/** The JSON REST client every shell uses. */
export interface KubeClient {
  readonly kubeConfig: KubeAccess;
  /** Host of the apiserver (the `host` label of client metrics). */
  readonly host: string;
  /** Send a request; resolves with the decoded JSON body, rejects with {@link ApiError}. */
  request<T = unknown>(req: ApiRequest): Promise<T>;
  /**
   * List a collection, following `continue` tokens; items are plain JSON, passed through
   * `transform` page by page so that only the kept part of each object outlives its page.
   */
  list<T = unknown>(path: string, opts?: ListOptions<T>): Promise<ListResult<T>>;
  /**
   * Watch a collection (`?watch=true`): `onEvent` gets each decoded line; `onDone` is called once,
   * with an {@link ApiError} for a non-200 answer or a broken stream, without one when the
   * apiserver ended the stream (its watch timeout).
   */
  watch(path: string, query: Readonly<Record<string, string | undefined>>, onEvent: (ev: WatchEvent) => void, onDone: (err?: ApiError) => void): WatchHandle;
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
export function createKubeClient(kc: KubeAccess, opts: KubeClientOptions = {}): KubeClient {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new MetalLbError(ErrorCode.Usage, 'kubeconfig has no current cluster');
  const base = new URL(cluster.server);
  const secure = base.protocol === 'https:';
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let agent: http.Agent | undefined;
  let watchAgent: http.Agent | undefined;
  let auth: { headers: Record<string, string>; at: number } | undefined;

  async function prepare(): Promise<{ agent: http.Agent; watchAgent: http.Agent; headers: Record<string, string> }> {
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
        // One socket per open watch, however many: they are few and long-lived.
        watchAgent = secure ? new https.Agent({ ...tls, keepAlive: true }) : new http.Agent({ keepAlive: true });
      }
    }
    return { agent, watchAgent: watchAgent ?? agent, headers: auth.headers };
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
    watch(path, query, onEvent, onDone): WatchHandle {
      let finished = false;
      let req: http.ClientRequest | undefined;
      const finish = (err?: ApiError): void => {
        if (finished) return;
        finished = true;
        req?.destroy();
        onDone(err);
      };
      prepare().then(
        ({ watchAgent: a, headers }) => {
          if (finished) return;
          const url = new URL(path, base);
          url.searchParams.set('watch', 'true');
          for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
          const h: Record<string, string> = { ...headers, Accept: 'application/json' };
          if (opts.userAgent) h['User-Agent'] = opts.userAgent;
          req = (secure ? https : http).request(url, { method: 'GET', agent: a, headers: h }, (res) => {
            res.setEncoding('utf8');
            if (res.statusCode !== 200) {
              let text = '';
              res.on('data', (c: string) => (text += c));
              res.on('end', () => finish(new ApiError('GET', path, res.statusCode ?? 0, http.STATUS_CODES[res.statusCode ?? 0] ?? 'Error', text.slice(0, 500))));
              return;
            }
            let pending = '';
            res.on('data', (chunk: string) => {
              pending += chunk;
              let nl: number;
              while (!finished && (nl = pending.indexOf('\n')) >= 0) {
                const line = pending.slice(0, nl);
                pending = pending.slice(nl + 1);
                if (line.trim().length === 0) continue;
                let ev: WatchEvent;
                try {
                  ev = JSON.parse(line) as WatchEvent;
                } catch {
                  finish(new ApiError('GET', path, 0, 'DecodeError', `undecodable watch line: ${line.slice(0, 200)}`));
                  return;
                }
                onEvent(ev);
              }
            });
            res.on('end', () => finish());
            res.on('error', (err) => finish(new ApiError('GET', path, 0, 'ResponseError', err.message)));
          });
          // Dead peers are noticed by TCP keep-alive probes (client-node's Watch does the same).
          req.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
          req.on('error', (err) => finish(new ApiError('GET', path, 0, 'ConnectionError', err.message)));
          req.end();
        },
        (err: unknown) => finish(new ApiError('GET', path, 0, 'ConfigError', err instanceof Error ? err.message : String(err))),
      );
      return {
        abort(): void {
          finished = true;
          req?.destroy();
        },
      };
    },
    close(): void {
      agent?.destroy();
      watchAgent?.destroy();
    },
  };
}
