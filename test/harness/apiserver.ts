/**
 * A real control plane for tests (docs/architecture.md §8): etcd + kube-apiserver built from
 * source, on free loopback ports in a temp dir, RBAC on, a static cluster-admin token, a generated
 * service-account key pair so TokenRequest works (clientFor), torn down on test end, failure and
 * SIGINT. No kube-controller-manager runs: no garbage collector, namespace controller or token
 * controller.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { killQuietly, onProcessExit } from './cleanup';
import { freePort } from './free-port';
import { etcdBinary, helmBinary, kubeApiserverBinary, kubectlBinary } from './tools';

/** Result of running a CLI against the control plane. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running etcd + kube-apiserver pair. */
export interface ControlPlane {
  dir: string;
  server: string;
  kubeconfigPath: string;
  /** cluster-admin */
  kubeConfig: k8s.KubeConfig;
  kubectl(args: string[], opts?: { input?: string }): Promise<CommandResult>;
  helm(args: string[]): Promise<CommandResult>;
  /**
   * Credentials of system:serviceaccount:<namespace>:<name> (created if missing) via TokenRequest.
   * With `boundTo`, the token is bound to that Pod as kubelet's are: when the Pod has a
   * spec.nodeName the apiserver adds the node-name claim (request.userInfo.extra
   * `authentication.kubernetes.io/node-name`), which admission policies can match.
   */
  clientFor(namespace: string, serviceAccount: string, boundTo?: BoundPod): Promise<{ kubeconfigPath: string; kubeConfig: k8s.KubeConfig }>;
  /** For outage tests: etcd keeps running, the apiserver restarts on the same port. */
  stopApiserver(): Promise<void>;
  startApiserver(): Promise<void>;
  /**
   * For outage tests behind a live apiserver: etcd is killed (SIGKILL) and later started again
   * with the same ports and data; the apiserver keeps running and reconnects by itself.
   */
  killEtcd(): Promise<void>;
  restartEtcd(): Promise<void>;
  /** Milliseconds the first start took, until /readyz answered ok. */
  readonly startupMs: number;
  stop(): Promise<void>;
}

/** The Pod a ServiceAccount token is bound to (TokenRequest boundObjectRef). */
export interface BoundPod {
  readonly name: string;
  readonly uid: string;
}

interface Teardownable {
  teardown(fn: () => unknown): void;
}

function kubeconfigYaml(server: string, user: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: test',
    '  cluster:',
    `    server: ${server}`,
    '    insecure-skip-tls-verify: true',
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: test',
    '  context:',
    '    cluster: test',
    `    user: ${user}`,
    'current-context: test',
    '',
  ].join('\n');
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(bin, args, { env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function getReadyz(server: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(`${server}/readyz`, { rejectUnauthorized: false, headers: { Authorization: `Bearer ${token}` }, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

/** True once etcd answers /health with 200 on this client port. */
function etcdHealthy(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const r = http.get(`http://127.0.0.1:${port}/health`, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    r.on('error', () => resolve(false));
  });
}

/** The last lines of a log file, one line, for an error message ('' if unreadable). */
function logTail(path: string, lines = 5): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join(' | ');
  } catch {
    return '';
  }
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>, proc?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`${what}: process exited with code ${proc.exitCode} before it was ready`);
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not ready within ${timeoutMs} ms`);
}

/** Start etcd + kube-apiserver; with a tap test, teardown is registered on it. */
/** Options of {@link startControlPlane}. */
export interface ControlPlaneOptions {
  /**
   * Kubernetes minor the apiserver emulates (`--emulated-version=kube=1.31`): APIs, features and
   * the CEL environment of that release, so the chart is tested at the oldest it declares.
   */
  readonly emulatedVersion?: string;
}

export async function startControlPlane(t?: Teardownable, opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'mlb-cp-'));
  const apiPort = await freePort();
  const adminToken = randomBytes(24).toString('hex');
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'tokens.csv'), `${adminToken},admin,admin,system:masters\n`);
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfigPath = join(dir, 'admin.kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYaml(server, 'admin', adminToken));

  const procs: { etcd?: ChildProcess; apiserver?: ChildProcess } = {};
  const logFd = (name: string): number => openSync(join(dir, name), 'a');
  const unregister = onProcessExit(() => {
    killQuietly(procs.apiserver?.pid);
    killQuietly(procs.etcd?.pid);
    rmSync(dir, { recursive: true, force: true });
  });

  const etcdBin = await etcdBinary();
  let etcdPort = 0;
  /** The arguments of the etcd that started: a restart reuses its ports and data dir. */
  let etcdArgs: string[] = [];
  /**
   * A port freePort found free can be taken by another test process (the suite runs several
   * files at once) before etcd binds it, and etcd then exits at once (seen in CI). Such a start
   * is retried on fresh ports with a fresh data dir; any other failure, or a third early exit, is
   * reported with the end of etcd's log.
   */
  const startEtcd = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const [client, peer] = [await freePort(), await freePort()];
      const log = logFd('etcd.log');
      const args = [
          '--name=default',
          `--data-dir=${join(dir, `etcd-${attempt}`)}`,
          `--listen-client-urls=http://127.0.0.1:${client}`,
          `--advertise-client-urls=http://127.0.0.1:${client}`,
          `--listen-peer-urls=http://127.0.0.1:${peer}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
          `--initial-cluster=default=http://127.0.0.1:${peer}`,
          // Test data is disposable: skipping fsync makes every write cheap on a shared 2-core machine.
          '--unsafe-no-fsync',
          '--log-level=warn',
      ];
      procs.etcd = spawn(etcdBin, args, { stdio: ['ignore', 'ignore', log] });
      closeSync(log); // the child holds its own copy
      try {
        await waitFor('etcd', 30_000, () => etcdHealthy(client), procs.etcd);
        etcdPort = client;
        etcdArgs = args;
        return;
      } catch (err) {
        const exitedEarly = procs.etcd.exitCode !== null;
        killQuietly(procs.etcd.pid);
        if (!exitedEarly || attempt >= 3) throw new Error(`${(err as Error).message} (attempt ${attempt}); etcd.log ends: ${logTail(join(dir, 'etcd.log'))}`);
      }
    }
  };

  const killEtcd = async (): Promise<void> => {
    const e = procs.etcd;
    if (!e || e.exitCode !== null || e.signalCode !== null) return;
    const exited = new Promise<void>((r) => e.once('exit', () => r()));
    e.kill('SIGKILL');
    await exited;
  };
  const restartEtcd = async (): Promise<void> => {
    const log = logFd('etcd.log');
    procs.etcd = spawn(etcdBin, etcdArgs, { stdio: ['ignore', 'ignore', log] });
    closeSync(log);
    await waitFor('etcd restart', 30_000, () => etcdHealthy(etcdPort), procs.etcd);
  };

  const apiBin = await kubeApiserverBinary();
  const apiArgs = (): string[] => [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--cert-dir=${join(dir, 'certs')}`,
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    // Dual stack, so Services can ask for PreferDualStack / RequireDualStack like on real clusters.
    '--service-cluster-ip-range=10.96.0.0/16,fd00:96::/108',
    '--allow-privileged=true',
    '--profiling=false',
    '--enable-priority-and-fairness=false',
    '--endpoint-reconciler-type=none',
    ...(opts.emulatedVersion ? [`--emulated-version=kube=${opts.emulatedVersion}`] : []),
    '--v=0',
  ];
  const startApiserver = async (): Promise<void> => {
    const log = logFd('apiserver.log');
    procs.apiserver = spawn(apiBin, apiArgs(), { stdio: ['ignore', log, log] });
    closeSync(log); // the child holds its own copy
    await waitFor('kube-apiserver', 90_000, () => getReadyz(server, adminToken), procs.apiserver);
  };
  const stopApiserver = async (): Promise<void> => {
    const p = procs.apiserver;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await startEtcd();
    await startApiserver();
  } catch (err) {
    unregister();
    killQuietly(procs.apiserver?.pid);
    killQuietly(procs.etcd?.pid);
    throw err;
  }
  const startupMs = Date.now() - started;

  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const toolEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: join(dir, 'home'),
    KUBECONFIG: kubeconfigPath,
    HELM_CACHE_HOME: join(dir, 'helm-cache'),
    HELM_CONFIG_HOME: join(dir, 'helm-config'),
    HELM_DATA_HOME: join(dir, 'helm-data'),
  };

  let stopped = false;
  const cp: ControlPlane = {
    dir,
    server,
    kubeconfigPath,
    kubeConfig,
    startupMs,
    kubectl: async (args, opts) => run(await kubectlBinary(), args, toolEnv, opts?.input),
    helm: async (args) => run(await helmBinary(), args, toolEnv),
    clientFor: async (namespace, name, boundTo) => {
      const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
      try {
        await core.createNamespace({ body: { metadata: { name: namespace } } });
      } catch {
        // exists
      }
      try {
        await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
      } catch {
        // exists
      }
      const tr = await core.createNamespacedServiceAccountToken({
        name,
        namespace,
        body: {
          spec: {
            audiences: ['https://kubernetes.default.svc.cluster.local'],
            expirationSeconds: 86400,
            ...(boundTo ? { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: boundTo.name, uid: boundTo.uid } } : {}),
          },
        },
      });
      const token = tr.status?.token;
      if (!token) throw new Error(`no token issued for ${namespace}/${name}`);
      const path = join(dir, `sa-${namespace}-${name}${boundTo ? `-${boundTo.name}` : ''}.kubeconfig`);
      writeFileSync(path, kubeconfigYaml(server, `${namespace}-${name}`, token));
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(path);
      return { kubeconfigPath: path, kubeConfig: kc };
    },
    stopApiserver,
    startApiserver,
    killEtcd,
    restartEtcd,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopApiserver();
      const e = procs.etcd;
      if (e && e.exitCode === null && e.signalCode === null) {
        const exited = new Promise<void>((r) => e.once('exit', () => r()));
        e.kill('SIGTERM');
        const timer = setTimeout(() => e.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      unregister();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  t?.teardown(() => cp.stop());
  return cp;
}
