/**
 * The speaker process: builds the client, metrics registry, Event recorder, the L2 announcer and
 * the HTTP endpoint, and runs the speaker loop (speaker-loop.ts: informers, recompute, election,
 * BGP sessions) until stopped. Only the CLI turns the outcome into an exit code.
 */
import { hostname } from 'node:os';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { L2Announcer } from '../arp/announcer';
import { threadedL2System } from '../arp/responder-thread';
import { createKubeClient, loadKubeConfig } from '../k8s/client';
import { DEFAULT_WRITE_BUDGET } from './lease-write-queue';
import { createEventRecorder } from '../k8s/events';
import { startProcessEndpoint } from '../k8s/health';
import { createKubeMetrics } from '../k8s/metrics';
import { podOwnerSource } from '../k8s/pod-owner';
import type { Logger } from '../util/log';
import type { L2Election } from './l2-election';
import { createSpeakerLoop } from './speaker-loop';
import type { SpeakerOptions } from './speaker-options';
import type { SpeakerPlan } from './speaker-plan';

export { addSpeakerFlags, speakerOptionsFrom, type SpeakerOptions } from './speaker-options';

/** A running speaker. */
export interface SpeakerHandle {
  readonly port: number;
  readonly done: Promise<void>;
  /** Graceful stop: hand VIPs over, close BGP sessions. */
  stop(): Promise<void>;
  /** Hard stop for tests: no handover. */
  kill(): Promise<void>;
  plan(): SpeakerPlan | undefined;
  election: L2Election;
}

/** Start the speaker; resolves once informers are started and the endpoint listens. */
export async function startSpeaker(opts: SpeakerOptions, log: Logger): Promise<SpeakerHandle> {
  const slog = log.child({ component: 'speaker', node: opts.nodeName });
  const kc = loadKubeConfig(opts.kubeconfig);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const host = new URL(kc.getCurrentCluster()?.server ?? 'https://localhost').host;
  const kubeMetrics = createKubeMetrics(registry, host);
  const client = createKubeClient(kc, { observe: kubeMetrics.observeRequest, userAgent: 'metallb-ts-speaker', maxSockets: 8 });
  // A socket per Lease write the queue lets fly, and one for the presence renewal.
  const leaseClient = createKubeClient(kc, { observe: kubeMetrics.observeRequest, userAgent: 'metallb-ts-speaker', maxSockets: DEFAULT_WRITE_BUDGET.maxInFlight + 1 });
  const recorder = createEventRecorder({ client, log: slog, component: 'metallb-speaker', instance: opts.nodeName });
  // ARP replies and NAs come from a worker thread, never from behind this loop (docs/architecture.md §6.1).
  const announcer = new L2Announcer({
    logger: slog.child({ component: 'l2' }),
    garp: opts.garp,
    excludeInterfaces: opts.excludeInterfaces,
    rescanIntervalMs: 10_000,
    system: threadedL2System(),
  });
  const ownerPod = podOwnerSource(client, opts.namespace, opts.podName, slog);
  // Looked up early and in the background: the Lease writes on the failover path read only
  // ownerPod.known() and never wait for it; get() handles its own failures (asks again later).
  void ownerPod.get();
  const loop = createSpeakerLoop({ client, leaseClient, log: slog, registry, recorder, announcer, ownerPod, opts });

  const endpoint = await startProcessEndpoint(opts, { registry, log: slog, loop, client });

  slog.info({ event: 'speakerStarting', namespace: opts.namespace, lbClass: opts.lbClass, identity: opts.podName || `${hostname()}_${process.pid}` }, 'starting speaker');
  await loop.start();

  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  let stopping = false;
  const shutdown = async (graceful: boolean): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await loop.stop(graceful);
    announcer.close();
    await recorder.flush().catch(() => undefined);
    await endpoint?.close();
    client.close();
    leaseClient.close();
    slog.info({ event: 'speakerStopped', graceful }, 'speaker stopped');
    finish();
  };
  return { port: endpoint?.port ?? 0, done, stop: () => shutdown(true), kill: () => shutdown(false), plan: () => loop.plan(), election: loop.election };
}

/** Run until SIGTERM/SIGINT, then hand VIPs over and stop. */
export async function runSpeaker(opts: SpeakerOptions, log: Logger): Promise<void> {
  // Last line of defence: log with the stack (the default printer loses it for errors raised
  // from native callbacks) and keep serving; announcements must not stop over one bad event.
  process.on('uncaughtException', (err) => log.error({ event: 'uncaughtException', err, stack: err.stack }, 'uncaught exception'));
  process.on('unhandledRejection', (err) => log.error({ event: 'unhandledRejection', err }, 'unhandled promise rejection'));
  const handle = await startSpeaker(opts, log);
  // A signal handler cannot wait; a failed stop reaches the unhandledRejection logger above.
  const onSignal = (): void => void handle.stop();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await handle.done;
}
