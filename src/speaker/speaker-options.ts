/**
 * Speaker flags: upstream's (`--node-name`/METALLB_NODE_NAME, `--port`, `--log-level`,
 * `--lb-class`, `--ignore-exclude-lb`, `--host`, `--namespace`, `--kubeconfig`;
 * docs/upstream-behaviour.md §7.4) plus the L2 election and announcement timings
 * (docs/chart-reference.md). Memberlist flags are accepted and ignored: per-IP Leases replace
 * memberlist.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { parseGoDuration } from '../config/duration';
import { DEFAULT_EXCLUDED_INTERFACES } from '../arp/interfaces';
import { DEFAULT_GARP_TIMING, type GarpTiming } from '../arp/garp-schedule';
import { ErrorCode, MetalLbError } from '../util/errors';
import { LogLevels, type LogLevel } from '../util/log';
import { defaultNamespace } from '../k8s/release-namespace';
import { metricsSecurity } from '../k8s/health';
import { DEFAULT_ELECTION_TIMING, type ElectionTiming } from './l2-election';
import { DEFAULT_REBALANCE, type RebalanceOptions } from './l2-rebalance';

/** Everything `runSpeaker` needs. */
export interface SpeakerOptions {
  readonly nodeName: string;
  readonly namespace: string;
  readonly kubeconfig: string | undefined;
  readonly port: number;
  readonly host: string;
  readonly logLevel: LogLevel;
  readonly lbClass: string;
  readonly ignoreExcludeLB: boolean;
  readonly podName: string;
  readonly election: ElectionTiming;
  /** Opt-in rebalance of L2 VIPs toward their ranked owner (off by default). */
  readonly rebalance: RebalanceOptions;
  readonly garp: GarpTiming;
  /** Interface-name regexes never used for L2 (upstream's excludel2 list). */
  readonly excludeInterfaces: readonly string[];
  readonly metricsCertDir: string | undefined;
  readonly tlsMinVersion: string | undefined;
  /** Authenticate (TokenReview) and authorise (SubjectAccessReview) every scrape; needs a cert dir. */
  readonly secureMetrics: boolean;
  /** Plain-HTTP /healthz and /readyz port; 0: they share the metrics port. */
  readonly healthProbePort: number;
}

/** Where the chart mounts upstream's exclusion ConfigMap. */
export const EXCLUDE_L2_FILE = '/etc/metallb/excludel2.yaml';

/** Register the speaker flags on a commander command. */
export function addSpeakerFlags(cmd: Command): Command {
  return cmd
    .option('--node-name <name>', 'this node (default $METALLB_NODE_NAME)')
    .option('--namespace <ns>', 'release namespace (default $METALLB_NAMESPACE, else the pod namespace, else metallb-system)')
    .option('--kubeconfig <path>', 'kubeconfig file (default: in-cluster, then $KUBECONFIG)')
    .option('--port <port>', 'metrics port, and /healthz and /readyz unless --health-probe-port is set (0 disables metrics)', '9120')
    .option('--host <address>', 'address the metrics and health endpoint binds (default $METALLB_HOST, the node IP the chart passes; empty: all addresses)')
    .option('--log-level <level>', `log level: ${LogLevels.join(', ')}`, 'info')
    .option('--lb-class <class>', 'handle only Services with this spec.loadBalancerClass', '')
    .option('--ignore-exclude-lb', 'ignore node.kubernetes.io/exclude-from-external-load-balancers', false)
    .option('--pod-name <name>', 'this pod (default $METALLB_POD_NAME)')
    .option('--l2-lease-duration <d>', 'per-VIP Lease duration', '30s')
    .option('--l2-renew-interval <d>', 'how often holders renew their Leases and presence', '10s')
    .option('--l2-probe-interval <d>', 'how often the first successor probes the holder', `${DEFAULT_ELECTION_TIMING.probeIntervalMs}ms`)
    .option('--l2-probe-misses <n>', 'missed probes that prove the holder dead', String(DEFAULT_ELECTION_TIMING.probeMisses))
    .option('--l2-rebalance', 'hand L2 VIPs back to their ranked owner, make-before-break (default $METALLB_L2_REBALANCE, else off)')
    .option('--l2-rebalance-batch <n>', 'VIPs a node hands back per --l2-rebalance-interval at most', String(DEFAULT_REBALANCE.batch))
    .option('--l2-rebalance-interval <d>', 'sliding window of --l2-rebalance-batch', `${DEFAULT_REBALANCE.intervalMs / 1000}s`)
    .option('--l2-rebalance-settle <d>', 'how long the ranked owner must have been live, and the VIP unmoved, before a hand-back', `${DEFAULT_REBALANCE.settleMs / 1000}s`)
    .option('--l2-garp-count <n>', 'gratuitous ARP / unsolicited NA rounds on takeover', String(DEFAULT_GARP_TIMING.burstCount))
    .option('--l2-garp-interval <d>', 'spacing of the rounds', `${DEFAULT_GARP_TIMING.burstIntervalMs}ms`)
    .option('--l2-refresh-interval <d>', 'periodic re-announcement so switch FDBs never age out (0 disables)', `${DEFAULT_GARP_TIMING.refreshIntervalMs / 1000}s`)
    .option('--exclude-interfaces-file <path>', 'upstream excludel2 YAML (announcedInterfacesToExclude)', EXCLUDE_L2_FILE)
    .option('--metrics-cert-dir <dir>', 'serve metrics over HTTPS with tls.crt/tls.key from this directory')
    .option('--tls-min-version <v>', 'VersionTLS12 or VersionTLS13', 'VersionTLS13')
    .option('--secure-metrics', 'authenticate /metrics scrapes with TokenReview and authorise them with SubjectAccessReview (get on /metrics); needs --metrics-cert-dir', false)
    .option('--health-probe-port <port>', 'plain-HTTP /healthz and /readyz port (0: served on --port)', '0')
    .option('--ml-bindaddr <addr>', 'accepted for compatibility; no memberlist')
    .option('--ml-bindport <port>', 'accepted for compatibility; no memberlist')
    .option('--ml-labels <labels>', 'accepted for compatibility; no memberlist')
    .option('--ml-namespace <ns>', 'accepted for compatibility; no memberlist')
    .option('--ml-secret-key-path <path>', 'accepted for compatibility; no memberlist')
    .option('--ml-wan-config', 'accepted for compatibility; no memberlist')
    .option('--enable-pprof', 'accepted for compatibility');
}

/** A flag's Go-style duration in milliseconds (parseGoDuration yields seconds). */
function duration(flag: string, v: unknown): number {
  const sec = parseGoDuration(String(v));
  const ms = sec === undefined ? undefined : Math.round(sec * 1000);
  if (ms === undefined || ms < 0) throw new MetalLbError(ErrorCode.Usage, `--${flag}: invalid duration ${JSON.stringify(v)} (use e.g. 250ms, 10s, 1m)`, { flag, value: v });
  return ms;
}

/**
 * Upstream's `--host`, default `$METALLB_HOST` (the chart sets it to the node IP): the address
 * the metrics and health endpoint binds. On the host network, all addresses would also expose
 * it on every other interface of the node. Unset or empty: all addresses, as before.
 */
function listenHost(flag: unknown, env: NodeJS.ProcessEnv): string {
  const fromFlag = typeof flag === 'string' && flag !== '';
  const v = fromFlag ? flag : env.METALLB_HOST ?? '';
  if (v === '') return '0.0.0.0';
  const source = fromFlag ? '--host' : 'METALLB_HOST (the default of --host)';
  if (isIP(v) === 0) throw new MetalLbError(ErrorCode.Usage, `${source}: ${JSON.stringify(v)} is not an IP address`, { flag: 'host', value: v });
  return v;
}

/** A boolean environment variable: `true`/`1` on, `false`/`0`/unset off, anything else an error. */
function boolEnv(name: string, env: NodeJS.ProcessEnv): boolean {
  const v = (env[name] ?? '').trim().toLowerCase();
  if (v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw new MetalLbError(ErrorCode.Usage, `${name}: invalid value ${JSON.stringify(env[name])} (use true or false)`, { env: name, value: env[name] });
}

function int(flag: string, v: unknown, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new MetalLbError(ErrorCode.Usage, `--${flag}: invalid value ${JSON.stringify(v)}`, { flag, value: v });
  return n;
}

/** Upstream's excludel2 file, when mounted; the built-in list otherwise. */
export function readExcludeList(path: string): readonly string[] {
  if (!existsSync(path)) return DEFAULT_EXCLUDED_INTERFACES;
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new MetalLbError(ErrorCode.Usage, `${path}: not YAML: ${(err as Error).message}`);
  }
  const list = (doc as { announcedInterfacesToExclude?: unknown } | null)?.announcedInterfacesToExclude;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    throw new MetalLbError(ErrorCode.Usage, `${path}: announcedInterfacesToExclude must be a list of regular expressions`);
  }
  for (const re of list) {
    try {
      new RegExp(re);
    } catch {
      throw new MetalLbError(ErrorCode.Usage, `${path}: invalid regular expression ${JSON.stringify(re)}`);
    }
  }
  return list;
}

/** Turn parsed flags into {@link SpeakerOptions}; every bad value is a Usage error naming the flag. */
export function speakerOptionsFrom(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): SpeakerOptions {
  const nodeName = typeof flags.nodeName === 'string' && flags.nodeName ? flags.nodeName : env.METALLB_NODE_NAME ?? '';
  if (!nodeName) throw new MetalLbError(ErrorCode.Usage, 'the node name is required: --node-name or METALLB_NODE_NAME');
  const level = String(flags.logLevel ?? 'info');
  if (!(LogLevels as readonly string[]).includes(level)) throw new MetalLbError(ErrorCode.Usage, `--log-level: invalid value ${level}`);
  const election: ElectionTiming = {
    ...DEFAULT_ELECTION_TIMING,
    leaseDurationMs: duration('l2-lease-duration', flags.l2LeaseDuration ?? '30s'),
    renewIntervalMs: duration('l2-renew-interval', flags.l2RenewInterval ?? '10s'),
    probeIntervalMs: duration('l2-probe-interval', flags.l2ProbeInterval ?? `${DEFAULT_ELECTION_TIMING.probeIntervalMs}ms`),
    probeMisses: int('l2-probe-misses', flags.l2ProbeMisses ?? DEFAULT_ELECTION_TIMING.probeMisses, 1),
  };
  if (election.renewIntervalMs >= election.leaseDurationMs) {
    throw new MetalLbError(ErrorCode.Usage, `--l2-renew-interval (${election.renewIntervalMs} ms) must be shorter than --l2-lease-duration (${election.leaseDurationMs} ms)`);
  }
  election.probeTimeoutMs = Math.max(50, Math.min(election.probeIntervalMs, 1000) - 20);
  const rebalance: RebalanceOptions = {
    enabled: flags.l2Rebalance === true || (flags.l2Rebalance === undefined && boolEnv('METALLB_L2_REBALANCE', env)),
    batch: int('l2-rebalance-batch', flags.l2RebalanceBatch ?? DEFAULT_REBALANCE.batch, 1),
    intervalMs: duration('l2-rebalance-interval', flags.l2RebalanceInterval ?? `${DEFAULT_REBALANCE.intervalMs}ms`),
    settleMs: duration('l2-rebalance-settle', flags.l2RebalanceSettle ?? `${DEFAULT_REBALANCE.settleMs}ms`),
  };
  if (rebalance.intervalMs === 0) throw new MetalLbError(ErrorCode.Usage, '--l2-rebalance-interval: must be longer than 0', { flag: 'l2-rebalance-interval', value: flags.l2RebalanceInterval });
  return {
    nodeName,
    namespace: typeof flags.namespace === 'string' && flags.namespace ? flags.namespace : defaultNamespace(env),
    kubeconfig: typeof flags.kubeconfig === 'string' && flags.kubeconfig ? flags.kubeconfig : undefined,
    port: int('port', flags.port ?? 9120, 0),
    host: listenHost(flags.host, env),
    logLevel: level as LogLevel,
    lbClass: typeof flags.lbClass === 'string' ? flags.lbClass : '',
    ignoreExcludeLB: flags.ignoreExcludeLb === true,
    podName: typeof flags.podName === 'string' && flags.podName ? flags.podName : env.METALLB_POD_NAME ?? '',
    election,
    rebalance,
    garp: {
      burstCount: int('l2-garp-count', flags.l2GarpCount ?? DEFAULT_GARP_TIMING.burstCount, 0),
      burstIntervalMs: duration('l2-garp-interval', flags.l2GarpInterval ?? `${DEFAULT_GARP_TIMING.burstIntervalMs}ms`),
      refreshIntervalMs: duration('l2-refresh-interval', flags.l2RefreshInterval ?? `${DEFAULT_GARP_TIMING.refreshIntervalMs}ms`),
    },
    excludeInterfaces: readExcludeList(typeof flags.excludeInterfacesFile === 'string' ? flags.excludeInterfacesFile : EXCLUDE_L2_FILE),
    metricsCertDir: typeof flags.metricsCertDir === 'string' && flags.metricsCertDir ? flags.metricsCertDir : undefined,
    tlsMinVersion: typeof flags.tlsMinVersion === 'string' ? flags.tlsMinVersion : undefined,
    ...metricsSecurity(flags),
  };
}
