/**
 * Controller flags: upstream's (`--port`, `--log-level`, `--lb-class`, `--namespace`,
 * `--kubeconfig`, `--health-probe-port`, TLS flags; docs/upstream-behaviour.md §7.3) plus
 * `--leader-elect`. Flags upstream has but that only concern webhooks, memberlist secrets or pprof
 * are accepted and ignored, so a Deployment written for upstream's controller still starts.
 */
import type { Command } from 'commander';
import { LogLevels, type LogLevel } from '../util/log';
import { ErrorCode, MetalLbError } from '../util/errors';
import { LEADER_DEFAULTS } from '../k8s/leader-elector';
import { parseGoDuration } from '../config/duration';
import { defaultNamespace } from '../k8s/release-namespace';
import { metricsSecurity } from '../k8s/health';

/** Everything `runController` needs. */
export interface ControllerOptions {
  /** Metrics port (and the probes without --health-probe-port); 0 disables metrics (as upstream). */
  readonly port: number;
  readonly host: string;
  readonly logLevel: LogLevel;
  /** `--lb-class`: '' handles Services without `spec.loadBalancerClass` only. */
  readonly lbClass: string;
  /** Release namespace: metallb.io objects, Secrets, Leases, ConfigurationState live here. */
  readonly namespace: string;
  readonly kubeconfig: string | undefined;
  readonly leaderElect: boolean;
  readonly leaseName: string;
  readonly leaseDurationSec: number;
  readonly renewDeadlineSec: number;
  readonly retryPeriodSec: number;
  /** Pod name (owner of ConfigurationState, Event `reportingInstance`, lease identity). */
  readonly podName: string;
  readonly metricsCertDir: string | undefined;
  readonly tlsMinVersion: string | undefined;
  /** Authenticate (TokenReview) and authorise (SubjectAccessReview) every scrape; needs a cert dir. */
  readonly secureMetrics: boolean;
  /** Plain-HTTP /healthz and /readyz port; 0: they share the metrics port. */
  readonly healthProbePort: number;
  /** Concurrent Service reconciles (status writes in flight). */
  readonly workers: number;
}

/** Register the controller flags on a commander command. */
export function addControllerFlags(cmd: Command): Command {
  return cmd
    .option('--port <port>', 'metrics port, and /healthz and /readyz unless --health-probe-port is set (0 disables metrics)', '9120')
    .option('--host <address>', 'address the metrics endpoint binds', '0.0.0.0')
    .option('--log-level <level>', `log level: ${LogLevels.join(', ')}`, 'info')
    .option('--lb-class <class>', 'handle only Services with this spec.loadBalancerClass', '')
    .option('--namespace <ns>', 'release namespace (default $METALLB_NAMESPACE, else the pod namespace, else metallb-system)')
    .option('--kubeconfig <path>', 'kubeconfig file (default: in-cluster, then $KUBECONFIG)')
    .option('--leader-elect', 'run as one of several replicas; only the Lease holder allocates', false)
    .option('--leader-elect-lease-name <name>', 'Lease used for leader election', 'metallb-controller')
    .option('--leader-elect-lease-duration <duration>', 'lease duration (Go duration, e.g. 6s)', `${LEADER_DEFAULTS.leaseDurationSec}s`)
    .option('--leader-elect-renew-deadline <duration>', 'renew deadline (shorter than the lease)', `${LEADER_DEFAULTS.renewDeadlineSec}s`)
    .option('--leader-elect-retry-period <duration>', 'retry period', `${LEADER_DEFAULTS.retryPeriodSec}s`)
    .option('--pod-name <name>', 'this pod (default $METALLB_POD_NAME)')
    .option('--metrics-cert-dir <dir>', 'serve metrics over HTTPS with tls.crt/tls.key from this directory')
    .option('--tls-min-version <v>', 'VersionTLS12 or VersionTLS13', 'VersionTLS13')
    .option('--secure-metrics', 'authenticate /metrics scrapes with TokenReview and authorise them with SubjectAccessReview (get on /metrics); needs --metrics-cert-dir', false)
    .option('--health-probe-port <port>', 'plain-HTTP /healthz and /readyz port (0: served on --port)', '0')
    .option('--workers <n>', 'concurrent Service reconciles', '8')
    .option('--webhook-mode <mode>', 'accepted for compatibility; metallb-ts runs no webhooks')
    .option('--disable-cert-rotation', 'accepted for compatibility')
    .option('--cert-dir <dir>', 'accepted for compatibility')
    .option('--cert-service-name <name>', 'accepted for compatibility')
    .option('--webhook-secret <name>', 'accepted for compatibility')
    .option('--ml-secret-name <name>', 'accepted for compatibility')
    .option('--deployment <name>', 'accepted for compatibility')
    .option('--pprof-bind-address <addr>', 'accepted for compatibility')
    .option('--tls-cipher-suites <list>', 'accepted for compatibility')
    .option('--tls-curve-preferences <list>', 'accepted for compatibility');
}

function int(name: string, v: unknown, min: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new MetalLbError(ErrorCode.Usage, `--${name}: invalid value ${String(v)}`, { flag: name, value: v });
  return n;
}

/** A Go-style duration (`6s`, `1500ms`) or bare seconds, in seconds. */
function seconds(name: string, v: unknown): number {
  const text = String(v);
  const sec = /^\d+(\.\d+)?$/.test(text) ? Number(text) : parseGoDuration(text);
  if (sec === undefined || !(sec > 0)) throw new MetalLbError(ErrorCode.Usage, `--${name}: invalid duration ${text}`, { flag: name, value: v });
  return sec;
}

/** Turn parsed commander flags into {@link ControllerOptions}. */
export function controllerOptionsFrom(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): ControllerOptions {
  const level = String(flags.logLevel ?? 'info');
  if (!(LogLevels as readonly string[]).includes(level)) throw new MetalLbError(ErrorCode.Usage, `--log-level: invalid value ${level}`, { flag: 'log-level', value: level });
  const podName = typeof flags.podName === 'string' && flags.podName ? flags.podName : env.METALLB_POD_NAME ?? '';
  const lease = seconds('leader-elect-lease-duration', flags.leaderElectLeaseDuration ?? LEADER_DEFAULTS.leaseDurationSec);
  const renew = seconds('leader-elect-renew-deadline', flags.leaderElectRenewDeadline ?? LEADER_DEFAULTS.renewDeadlineSec);
  if (renew >= lease) throw new MetalLbError(ErrorCode.Usage, `--leader-elect-renew-deadline (${renew}) must be shorter than the lease duration (${lease})`);
  return {
    port: int('port', flags.port ?? 9120, 0),
    host: typeof flags.host === 'string' ? flags.host : '0.0.0.0',
    logLevel: level as LogLevel,
    lbClass: typeof flags.lbClass === 'string' ? flags.lbClass : '',
    namespace: typeof flags.namespace === 'string' && flags.namespace ? flags.namespace : defaultNamespace(env),
    kubeconfig: typeof flags.kubeconfig === 'string' && flags.kubeconfig ? flags.kubeconfig : undefined,
    leaderElect: flags.leaderElect === true,
    leaseName: typeof flags.leaderElectLeaseName === 'string' ? flags.leaderElectLeaseName : 'metallb-controller',
    leaseDurationSec: lease,
    renewDeadlineSec: renew,
    retryPeriodSec: seconds('leader-elect-retry-period', flags.leaderElectRetryPeriod ?? LEADER_DEFAULTS.retryPeriodSec),
    podName,
    metricsCertDir: typeof flags.metricsCertDir === 'string' && flags.metricsCertDir ? flags.metricsCertDir : undefined,
    tlsMinVersion: typeof flags.tlsMinVersion === 'string' ? flags.tlsMinVersion : undefined,
    ...metricsSecurity(flags),
    workers: int('workers', flags.workers ?? 8, 1),
  };
}
