/**
 * The container image without a container engine: scripts/image-rootfs.sh reproduces the
 * Dockerfile's runtime stage in a clean directory (production dependencies only, dist/src, the
 * compiled addon), and both entrypoints run from there for real against the test control plane,
 * installed by `helm install` with the chart's own defaults: the controller (uid 65534, no
 * capabilities, read-only root) becomes ready and allocates an IP; the speaker (root with NET_RAW
 * only) syncs, becomes ready, serves /healthz and answers ARP for the IP from inside the lab.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import t from 'tap';
import { waitFor } from '../harness/lab';
import { buildImageRootfs } from '../fixtures/chart/process';
import { installRelease } from '../fixtures/chart/installed';
import { assertNoForbidden, createWebService, L2_CONFIG, macsAnswering } from '../fixtures/chart/install-checks';

t.test('both entrypoints from a reproduced image root', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'mlb-image-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  // The controller runs as uid 65534: the image root must be traversable as in the image.
  chmodSync(base, 0o755);
  const app = await buildImageRootfs(join(base, 'root'));
  chmodSync(join(base, 'root'), 0o755);
  // Nothing above the image root may supply a module: resolution must end in app/node_modules.
  for (let dir = dirname(app), done = false; !done; done = dir === dirname(dir), dir = dirname(dir)) {
    t.notOk(existsSync(join(dir, 'node_modules')), `no ${join(dir, 'node_modules')}`);
  }

  const inst = await installRelease(t, { nodes: 1, appDir: app });
  const controller = await inst.startController();
  const speaker = await inst.startSpeaker(0);
  for (const p of [controller, speaker]) {
    t.equal(p.spec.argv[0], 'node', `${p.component}: the image's node`);
    t.ok(p.spec.argv[1]?.startsWith(`${app}${sep}dist${sep}src${sep}`), `${p.component} runs ${p.spec.argv[1]} from the image root`);
  }
  t.match(controller.confinement, { uid: 65534, capabilities: [], readOnlyRoot: true }, 'controller: uid 65534, no capabilities, read-only root');
  t.match(speaker.confinement, { uid: 0, capabilities: ['net_raw'], readOnlyRoot: true }, 'speaker: root with NET_RAW only, read-only root');

  await waitFor('controller readinessProbe 200', async () => ((await controller.probe('readinessProbe')) === 200 ? true : undefined), { timeoutMs: 60_000 });
  t.pass('controller ready');
  await waitFor('speaker livenessProbe (/healthz) 200', async () => ((await speaker.probe('livenessProbe')) === 200 ? true : undefined), { timeoutMs: 60_000 });
  t.pass('speaker serves /healthz');

  await inst.apply(L2_CONFIG);
  // Ready means: informers synced and a valid configuration parsed.
  await waitFor('speaker readinessProbe 200', async () => ((await speaker.probe('readinessProbe')) === 200 ? true : undefined), { timeoutMs: 60_000 });
  t.pass('speaker synced and ready');
  const vip = await createWebService(inst);
  t.match(vip, /^10\.77\.0\.1\d\d$/, `controller allocated ${vip}`);
  const macs = await waitFor(`the speaker answering ARP for ${vip}`, async () => {
    const seen = await macsAnswering(inst.lab, vip);
    return seen.length > 0 ? seen : undefined;
  }, { timeoutMs: 60_000 });
  t.same(macs, [inst.lab.nodes[0]?.mac], 'the node MAC, from the addon in the image root');

  const codes = await inst.stopAll();
  t.same(Object.values(codes), [0, 0], 'both exit 0 on SIGTERM');
  assertNoForbidden(t, inst.processes);
});
