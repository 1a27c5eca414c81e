/**
 * The lab client's view of a lab cluster's Service (docs/lab-cluster.md): HTTP requests to the VIP
 * in a loop, each recorded with its start and end on the test process's clock, so a test can tell
 * how long the client went without an answer around a failure it caused; which MACs answer ARP
 * for the VIP; and which node the speakers say announces it.
 */
import type { ControlPlane } from './apiserver';
import type { Lab, LabHost } from './lab';
import { delay } from './lab-exec';

/** One request of the loop; `pod` and `node` are the backend's answer. */
export interface HttpAttempt {
  readonly s: number;
  readonly e: number;
  readonly ok: boolean;
  readonly pod?: string;
  readonly node?: string;
}

/** A running request loop. */
export interface HttpLoop {
  readonly attempts: readonly HttpAttempt[];
  /** Stop after the request in flight; resolves when the loop has ended. */
  stop(): Promise<void>;
}

/**
 * The longest time, within [fromMs, toMs], between two answers (or between `fromMs` and the first
 * answer after it, or the last one and `toMs`). Pure.
 */
export function longestGapMs(attempts: readonly HttpAttempt[], fromMs: number, toMs: number): number {
  const answers = attempts.filter((a) => a.ok && a.e > fromMs && a.e <= toMs).map((a) => a.e).sort((x, y) => x - y);
  let gap = 0;
  let last = fromMs;
  for (const e of [...answers, toMs]) {
    gap = Math.max(gap, e - last);
    last = e;
  }
  return gap;
}

/** Parse the backend's answer (`{"pod":…,"node":…}`); undefined when it is not one. Pure. */
export function parseBackendAnswer(body: string): { pod: string; node: string } | undefined {
  try {
    const v = JSON.parse(body) as { pod?: unknown; node?: unknown };
    return typeof v.pod === 'string' && typeof v.node === 'string' ? { pod: v.pod, node: v.node } : undefined;
  } catch {
    return undefined;
  }
}

/** Request `url` from `client` one after another, `timeoutMs` each, until stopped. */
export function startHttpLoop(lab: Lab, client: LabHost, url: string, timeoutMs = 1000): HttpLoop {
  const attempts: HttpAttempt[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const s = Date.now();
      const r = await lab.exec(client, ['curl', '-s', '--max-time', String(timeoutMs / 1000), url]);
      const answer = r.code === 0 ? parseBackendAnswer(r.stdout) : undefined;
      attempts.push({ s, e: Date.now(), ok: answer !== undefined, ...answer });
      // A failed request already waited; a successful one leaves room for the rest of the test.
      if (answer) await delay(20);
    }
  })();
  return {
    attempts,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** Every distinct MAC that answers ARP for `ip` from `client` (broadcast probes, so all stations see each). */
export async function arpingMacs(lab: Lab, client: LabHost, ip: string, count = 2): Promise<{ macs: string[]; output: string }> {
  const r = await lab.exec(client.ns, ['arping', '-b', '-c', String(count), '-w', String(count), '-I', client.iface, ip]);
  const macs = [...new Set([...r.stdout.matchAll(/\[([0-9A-Fa-f:]{17})\]/g)].map((m) => m[1]!.toLowerCase()))].sort();
  return { macs, output: `${r.stdout}${r.stderr}`.trim() };
}

/** The nodes whose speaker has a ServiceL2Status for `namespace/name` (sorted). */
export async function l2StatusNodes(cp: ControlPlane, releaseNs: string, namespace: string, name: string): Promise<string[]> {
  const r = await cp.kubectl([
    'get', 'servicel2statuses', '-n', releaseNs,
    '-l', `metallb.io/service-name=${name},metallb.io/service-namespace=${namespace}`,
    '-o', 'jsonpath={.items[*].metadata.labels.metallb\\.io/node}',
  ]);
  if (r.code !== 0) throw new Error(`kubectl get servicel2statuses: ${r.stderr}`);
  return r.stdout.split(/\s+/).filter(Boolean).sort();
}
