// The speaker's ConfigurationState writer: only a changed verdict is written, one write at a time,
// a verdict that changes during a write is written right after it, a failed write is retried.
import t from 'tap';
import type { ApiRequest, KubeClient } from '../../src/k8s/client';
import { ConfigurationStatePublisher, speakerState } from '../../src/k8s/configuration-state';
import { ConditionReason, type ConfigVerdict } from '../../src/config/verdict';
import { silentLogger } from '../../src/util/log';

/** A client whose status PATCHes wait for the test to settle them (GETs find the object). */
function pausingClient() {
  const patches: { verdict: unknown; settle: (err?: Error) => void }[] = [];
  const client = {
    request: (req: ApiRequest) => {
      if (req.method !== 'PATCH') return Promise.resolve({});
      return new Promise((resolve, reject) => {
        const body = req.body as { status: { result: string; errorSummary: string } };
        patches.push({ verdict: body.status, settle: (err) => (err ? reject(err) : resolve({})) });
      });
    },
  } as unknown as KubeClient;
  return { client, patches };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

const VALID: ConfigVerdict = { valid: true };
const BROKEN: ConfigVerdict = { valid: false, reason: ConditionReason.ConfigurationError, summary: 'IPAddressPool/a: invalid CIDR' };

t.test('writes a changed verdict once, the newest after an in-flight write, and retries failures', async (t) => {
  const { client, patches } = pausingClient();
  const publisher = new ConfigurationStatePublisher({ client, namespace: 'metallb-system', target: speakerState('node1'), owner: async () => undefined, log: silentLogger(), retryMs: 1 });
  publisher.publish(VALID);
  await until('the first write', () => patches.length === 1);
  publisher.publish(BROKEN);
  publisher.publish(VALID);
  publisher.publish(BROKEN);
  await new Promise((r) => setImmediate(r));
  t.equal(patches.length, 1, 'one write at a time');
  patches[0]?.settle();
  await until('the newest verdict', () => patches.length === 2);
  t.match(patches[1]?.verdict, { result: 'Invalid', errorSummary: 'configuration error: IPAddressPool/a: invalid CIDR' }, 'only the newest of the verdicts given meanwhile');
  patches[1]?.settle(new Error('apiserver unavailable'));
  await until('the retry', () => patches.length === 3);
  t.match(patches[2]?.verdict, { result: 'Invalid' }, 'a failed write is retried');
  patches[2]?.settle();
  await new Promise((r) => setImmediate(r));
  publisher.publish(BROKEN);
  await new Promise((r) => setImmediate(r));
  t.equal(patches.length, 3, 'the verdict already written is not written again');
  publisher.publish(VALID);
  await until('the next change', () => patches.length === 4);
  t.match(patches[3]?.verdict, { result: 'Valid' }, 'and the next change is');
});
