/**
 * Where the apiserver is and how to authenticate to it, without loading client-node's
 * `KubeConfig` on the common paths.
 *
 * client-node's `config.js` imports its whole generated API (about 2,500 modules) for
 * `makeApiClient`, which this project never calls: measured in a bare Node process, loading it
 * costs about 60 MB of RSS and 0.5 s, a third of the controller's memory at 5,000 Services
 * (docs/controller.md, "Memory"). The shapes a controller or speaker actually meets, the in-cluster
 * service account and a kubeconfig file whose user has a token, a client certificate, basic auth
 * or an exec plugin, are read here with client-node's own light modules (`config_types.js` parses
 * the entries, `file_auth.js` and `exec_auth.js` authenticate); anything else (auth-provider
 * plugins, proxies, several files in $KUBECONFIG) is handed to client-node's `KubeConfig`.
 */
import fs from 'node:fs';
import https from 'node:https';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import path from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { type Cluster, type Context, type User, newClusters, newContexts, newUsers } from '@kubernetes/client-node/dist/config_types.js';
import { FileAuth } from '@kubernetes/client-node/dist/file_auth.js';
import { ExecAuth } from '@kubernetes/client-node/dist/exec_auth.js';
import { parse as parseYaml } from 'yaml';
import { ErrorCode, MetalLbError } from '../util/errors';

/**
 * What the REST client needs of a kubeconfig. client-node's `KubeConfig` has both methods, so
 * tests may pass one; {@link loadKubeConfig} returns the light implementation where it can.
 */
export interface KubeAccess {
  getCurrentCluster(): { readonly server: string } | null;
  /** Sets TLS material (`ca`, `cert`, `key`, `rejectUnauthorized`, `servername`, an `agent` carrying them) and auth headers. */
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

/** The service account files a pod gets (client-go's `rest.InClusterConfig`). */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** One cluster and user, authenticated like client-node's `KubeConfig.applyToHTTPSOptions`. */
class ResolvedKubeConfig implements KubeAccess {
  private readonly fileAuth = new FileAuth();
  private readonly execAuth = new ExecAuth();
  constructor(
    private readonly cluster: Cluster,
    private readonly user: User,
  ) {}

  getCurrentCluster(): Cluster {
    return this.cluster;
  }

  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    const { cluster, user } = this;
    if (cluster.skipTLSVerify) opts.rejectUnauthorized = false;
    if (cluster.tlsServerName) opts.servername = cluster.tlsServerName;
    const ca = fileOrData(cluster.caFile, cluster.caData);
    if (ca) opts.ca = ca;
    const cert = fileOrData(user.certFile, user.certData);
    if (cert) opts.cert = cert;
    const key = fileOrData(user.keyFile, user.keyData);
    if (key) opts.key = key;
    const headers = (opts.headers ??= {}) as Record<string, string>;
    if (user.impersonateUser) headers['Impersonate-User'] = user.impersonateUser;
    const authenticator = [this.fileAuth, this.execAuth].find((a) => a.isAuthProvider(user));
    if (authenticator) await authenticator.applyAuthentication(user, opts);
    if (user.token) headers.Authorization = `Bearer ${user.token}`;
    if (user.username) opts.auth = `${user.username}:${user.password ?? ''}`;
    const { ca: agentCa, cert: agentCert, key: agentKey, rejectUnauthorized, servername } = opts;
    opts.agent = new https.Agent({ ca: agentCa, cert: agentCert, key: agentKey, servername, ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized }) });
  }
}

function fileOrData(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) return fs.readFileSync(file);
  return data ? Buffer.from(data, 'base64') : undefined;
}

/** The in-cluster service account (client-node's `loadFromCluster`): token file re-read as it rotates. */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubeAccess {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const server = `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  const cluster: Cluster = { name: 'inCluster', server, caFile: path.join(dir, 'ca.crt'), skipTLSVerify: false };
  const user: User = { name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: path.join(dir, 'token') } } };
  return new ResolvedKubeConfig(cluster, user);
}

/**
 * The current context of one kubeconfig file, or undefined when it needs more than this module
 * reads (an auth-provider other than a token file, a proxy): the caller then uses client-node.
 */
export function kubeConfigFromFile(file: string): KubeAccess | undefined {
  const doc = (parseYaml(fs.readFileSync(file, 'utf8')) ?? {}) as { clusters?: unknown; contexts?: unknown; users?: unknown; 'current-context'?: string };
  const contexts: Context[] = newContexts(doc.contexts);
  const context = contexts.find((c) => c.name === doc['current-context']);
  if (!context) throw new MetalLbError(ErrorCode.Usage, 'kubeconfig has no current cluster', { kubeconfigPath: file });
  const cluster = newClusters(doc.clusters).find((c) => c.name === context.cluster);
  const user = newUsers(doc.users).find((u) => u.name === context.user) ?? { name: '' };
  if (!cluster) throw new MetalLbError(ErrorCode.Usage, 'kubeconfig has no current cluster', { kubeconfigPath: file });
  if (cluster.proxyUrl || (user.authProvider && user.authProvider.name !== 'tokenFile')) return undefined;
  // Relative certificate paths are relative to the file (client-node's makePathsAbsolute).
  const dir = path.dirname(file);
  const abs = (p: string | undefined): string | undefined => (p === undefined || path.isAbsolute(p) ? p : path.join(dir, p));
  return new ResolvedKubeConfig({ ...cluster, caFile: abs(cluster.caFile) }, { ...user, certFile: abs(user.certFile), keyFile: abs(user.keyFile) });
}

/** client-node's `KubeConfig`, loaded only for the configurations this module does not read. */
function clientNodeKubeConfig(load: (kc: k8s.KubeConfig) => void): KubeAccess {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand: see the file comment
  const { KubeConfig } = require('@kubernetes/client-node') as typeof k8s;
  const kc = new KubeConfig();
  load(kc);
  return kc;
}

/**
 * Build the access: an explicit kubeconfig path wins, then in-cluster, then the default chain
 * ($KUBECONFIG, ~/.kube/config), as client-node's `loadFromFile` / `loadFromCluster` /
 * `loadFromDefault` order them.
 */
export function loadKubeConfig(kubeconfigPath?: string): KubeAccess {
  let access: KubeAccess;
  if (kubeconfigPath) access = kubeConfigFromFile(kubeconfigPath) ?? clientNodeKubeConfig((kc) => kc.loadFromFile(kubeconfigPath));
  else if (process.env.KUBERNETES_SERVICE_HOST) access = inClusterConfig();
  else {
    const files = (process.env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
    const home = path.join(homedir(), '.kube', 'config');
    const single = files.length === 1 ? files[0] : files.length === 0 && fs.existsSync(home) ? home : undefined;
    access = (single && kubeConfigFromFile(single)) || clientNodeKubeConfig((kc) => kc.loadFromDefault());
  }
  if (!access.getCurrentCluster()) throw new MetalLbError(ErrorCode.Usage, 'kubeconfig has no current cluster', { kubeconfigPath });
  return access;
}
