/**
 * `runController`: the controller process. Builds the client, metrics registry, Event recorder
 * and HTTP endpoint, then either runs the reconcile loop at once or, with `--leader-elect`,
 * keeps warm informers as a standby and runs the loop only while holding the Lease.
 *
 * A leader that loses its Lease stops and `runController` resolves with `lostLeadership`; the
 * CLI exits non-zero and Kubernetes restarts the pod (client-go controllers do the same), so a
 * process never resumes allocating from a state another leader may have changed.
 */
import { hostname } from 'node:os';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../util/log';
import { errorMessage } from '../util/errors';
import { createKubeClient, loadKubeConfig } from '../k8s/client';
import { podOwnerSource } from '../k8s/pod-owner';
import { createEventRecorder } from '../k8s/events';
import { createKubeMetrics } from '../k8s/metrics';
import { createLeaderElector, type LeaderElector } from '../k8s/leader-elector';
import { createControllerLoop, type ControllerLoop } from './controller-loop';
import { watchForeignConfig } from './foreign-config';
import { watchFrrConfigurations } from './frr-config-notice';
import type { ControllerOptions } from './controller-options';
import { startProcessEndpoint } from '../k8s/health';
import { createControllerMetrics } from './metrics';

export type { ControllerOptions } from './controller-options';
export { addControllerFlags, controllerOptionsFrom } from './controller-options';

/** How the controller ended. */
export type ControllerExit = { readonly reason: 'stopped' } | { readonly reason: 'lostLeadership' };

/** A started controller: `done` settles when it ends; `stop()` ends it (a leader releases its Lease). */
export interface ControllerHandle {
  readonly done: Promise<ControllerExit>;
  /** The metrics/probe port actually bound (0 when disabled). */
  readonly port: number;
  readonly loop: ControllerLoop;
  readonly registry: Registry;
  stop(): Promise<void>;
}


/** Start the controller; resolves once it is running (informers syncing, endpoint listening). */
export async function startController(opts: ControllerOptions, log: Logger): Promise<ControllerHandle> {
  const clog = log.child({ component: 'controller' });
  const kc = loadKubeConfig(opts.kubeconfig);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const host = new URL(kc.getCurrentCluster()?.server ?? 'https://localhost').host;
  const kubeMetrics = createKubeMetrics(registry, host);
  const client = createKubeClient(kc, { observe: kubeMetrics.observeRequest, userAgent: 'metallb-ts-controller', maxSockets: Math.max(8, opts.workers * 2) });
  const metrics = createControllerMetrics(registry);
  const identity = opts.podName || `${hostname()}_${process.pid}`;
  const recorder = createEventRecorder({ client, log: clog, component: 'metallb-controller', instance: identity });
  const loop = createControllerLoop({
    client,
    log: clog,
    metrics,
    kubeMetrics,
    recorder,
    namespace: opts.namespace,
    lbClass: opts.lbClass,
    workers: opts.workers,
    standbyReady: opts.leaderElect,
    owner: podOwnerSource(client, opts.namespace, opts.podName, clog).get,
  });

  const foreign = watchForeignConfig({ client, log: clog, recorder, namespace: opts.namespace });
  const frrConfigs = watchFrrConfigurations({ client, log: clog, recorder });
  const startForeignWatch = (): void => {
    foreign.start().catch((err: unknown) => clog.warn({ event: 'foreignConfigWatchFailed', err: errorMessage(err) }, 'cannot watch for configuration outside the release namespace'));
    frrConfigs.start().catch((err: unknown) => clog.warn({ event: 'frrConfigurationWatchFailed', err: errorMessage(err) }, 'cannot watch frr-k8s FRRConfiguration objects'));
  };

  const endpoint = await startProcessEndpoint(opts, { registry, log: clog, loop, client });

  let finish!: (e: ControllerExit) => void;
  const done = new Promise<ControllerExit>((resolve) => (finish = resolve));
  let elector: LeaderElector | undefined;
  let stopping = false;
  const shutdown = async (exit: ControllerExit): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // Finish in-flight writes before releasing the Lease, so the next leader starts from them.
    await loop.stop();
    await foreign.stop();
    await frrConfigs.stop();
    await elector?.stop();
    await endpoint?.close();
    client.close();
    clog.info({ event: 'controllerStopped', reason: exit.reason }, 'controller stopped');
    finish(exit);
  };

  clog.info({ event: 'controllerStarting', namespace: opts.namespace, lbClass: opts.lbClass, leaderElect: opts.leaderElect, identity }, 'starting controller');
  if (opts.leaderElect) {
    elector = createLeaderElector({
      client,
      namespace: opts.namespace,
      name: opts.leaseName,
      identity,
      log: clog,
      leaseDurationSec: opts.leaseDurationSec,
      renewDeadlineSec: opts.renewDeadlineSec,
      retryPeriodSec: opts.retryPeriodSec,
      onStartedLeading: () => {
        startForeignWatch();
        // A consistent LIST after winning the Lease: the cache may lag the old leader's last writes.
        loop.run({ freshList: true }).catch((err: unknown) => {
          clog.error({ event: 'runFailed', err: errorMessage(err) }, 'controller loop failed');
          void shutdown({ reason: 'lostLeadership' });
        });
      },
      onStoppedLeading: (why) => {
        if (why === 'lost') void shutdown({ reason: 'lostLeadership' });
      },
    });
    // Standby keeps warm caches so a takeover needs no full relist before adoption.
    void loop.startInformers().then(() => elector?.start());
  } else {
    startForeignWatch();
    void loop.run().catch((err: unknown) => {
      clog.error({ event: 'runFailed', err: errorMessage(err) }, 'controller loop failed');
      void shutdown({ reason: 'stopped' });
    });
  }

  return { done, port: endpoint?.port ?? 0, loop, registry, stop: () => shutdown({ reason: 'stopped' }) };
}

/**
 * Run the controller until SIGTERM/SIGINT (then stop cleanly, releasing the Lease) or until
 * leadership is lost. Only the CLI turns the result into an exit code.
 */
export async function runController(opts: ControllerOptions, log: Logger): Promise<ControllerExit> {
  const handle = await startController(opts, log);
  const onSignal = (): void => void handle.stop();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    return await handle.done;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
