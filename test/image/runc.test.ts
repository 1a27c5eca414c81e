/**
 * The lab's images, built without a container engine or a registry (scripts/image-build.ts), run
 * under runc directly, with OCI specs made from the rendered chart's securityContexts the way a
 * CRI runtime makes them: the speaker container's process really holds NET_RAW and nothing else,
 * as uid 0 with no_new_privs and a read-only root; the controller's holds no capability at all as
 * uid 65534; the image's own ENTRYPOINT and CMD run as its USER; the pause program stops cleanly
 * on SIGTERM; the backend answers HTTP with its pod and node name. (The specs carry no rlimits:
 * root on the lab machines lacks CAP_SYS_RESOURCE, see test/harness/image/oci.ts.)
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { waitFor } from '../harness/lab';
import { freePort } from '../harness/free-port';
import { at, container, find, render } from '../fixtures/chart/helm';
import { buildBackendImage, buildPauseImage, buildProductImage, type BuiltImage } from '../harness/image/rootfs';
import { capabilityNames, effectiveSecurityContext, type ContainerSecurityContext } from '../harness/image/oci';
import { runContainer, startContainer } from '../harness/image/runc';

/** Print the status lines that describe the process's privileges, from inside the container. */
const STATUS_PROBE = [
  'node',
  '-e',
  "const fs = require('fs');" +
    "const s = Object.fromEntries(fs.readFileSync('/proc/self/status', 'utf8').trim().split('\\n').map((l) => l.split(':\\t')));" +
    "let rootWritable = true; try { fs.writeFileSync('/app/probe', 'x'); } catch (e) { rootWritable = e.code !== 'EROFS'; }" +
    "process.stdout.write(JSON.stringify({ uid: s.Uid, gid: s.Gid, groups: s.Groups, capEff: s.CapEff, capPrm: s.CapPrm, capBnd: s.CapBnd, capAmb: s.CapAmb, noNewPrivs: s.NoNewPrivs, rootWritable }));",
];

interface Status {
  uid: string;
  gid: string;
  groups: string;
  capEff: string;
  capPrm: string;
  capBnd: string;
  capAmb: string;
  noNewPrivs: string;
  rootWritable: boolean;
}

const base = mkdtempSync(join(tmpdir(), 'mlb-images-'));
t.teardown(() => rmSync(base, { recursive: true, force: true }));
let product: BuiltImage;
t.before(async () => {
  product = await buildProductImage(join(base, 'product'));
});

t.test('the speaker container: NET_RAW only, as root, no privilege escalation, read-only root', async (t) => {
  const docs = await render();
  const ds = find(docs, 'DaemonSet', 'metallb-speaker');
  const speaker = container(ds, 'speaker');
  t.same(speaker['command'], product.config.entrypoint, 'the chart runs the image entrypoint');
  const sc = effectiveSecurityContext(
    at(ds, 'spec', 'template', 'spec', 'securityContext') as ContainerSecurityContext | undefined,
    speaker['securityContext'] as ContainerSecurityContext,
  );
  const hostNetwork = at(ds, 'spec', 'template', 'spec', 'hostNetwork') === true;
  t.ok(hostNetwork, 'the speaker pod uses the host network');
  const run = await runContainer(product, { securityContext: sc, hostNetwork, command: STATUS_PROBE });
  t.equal(run.code, 0, run.stderr);
  const s = JSON.parse(run.stdout) as Status;
  t.same(capabilityNames(s.capEff), ['CAP_NET_RAW'], `CapEff ${s.capEff} is NET_RAW only`);
  t.same(capabilityNames(s.capPrm), ['CAP_NET_RAW'], 'CapPrm');
  t.same(capabilityNames(s.capBnd), ['CAP_NET_RAW'], 'CapBnd: nothing else can be regained');
  t.same(capabilityNames(s.capAmb), [], 'CapAmb');
  t.match(s.uid, /^0\s+0\s+0\s+0$/, 'uid 0');
  t.equal(s.noNewPrivs, '1', 'allowPrivilegeEscalation: false is no_new_privs');
  t.equal(s.rootWritable, false, 'readOnlyRootFilesystem: writing under /app fails with EROFS');
});

t.test('the controller container: no capability at all, as uid 65534', async (t) => {
  const docs = await render();
  const deploy = find(docs, 'Deployment', 'metallb-controller');
  const controller = container(deploy, 'controller');
  const sc = effectiveSecurityContext(
    at(deploy, 'spec', 'template', 'spec', 'securityContext') as ContainerSecurityContext | undefined,
    controller['securityContext'] as ContainerSecurityContext,
  );
  const run = await runContainer(product, { securityContext: sc, command: STATUS_PROBE });
  t.equal(run.code, 0, run.stderr);
  const s = JSON.parse(run.stdout) as Status;
  t.same(capabilityNames(s.capEff), [], `CapEff ${s.capEff} is empty`);
  t.same(capabilityNames(s.capBnd), [], 'CapBnd is empty');
  t.match(s.uid, /^65534\s+65534\s+65534\s+65534$/, 'uid 65534');
  t.match(s.groups, /\b65534\b/, 'fsGroup among the supplementary groups');
  t.equal(s.noNewPrivs, '1');
  t.equal(s.rootWritable, false);
});

t.test("the image's own ENTRYPOINT, CMD and USER", async (t) => {
  t.same(readdirSync(join(product.rootfs, 'app')).sort(), ['charts', 'dist', 'native', 'node_modules', 'package.json']);
  const run = await runContainer(product);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /Usage: metallb-ts/, '`--help` from the entrypoint, as uid 65534');
  const version = await runContainer(product, { command: ['node', '--version'] });
  t.equal(version.stdout.trim(), `v${product.config.env['NODE_VERSION']}`, 'the image runs the pinned Node');
});

t.test('pause: a lone static binary that exits 0 on SIGTERM', async (t) => {
  const pause = await buildPauseImage(join(base, 'pause'));
  t.same(readdirSync(pause.rootfs), ['pause'], 'nothing but the program');
  const c = startContainer(pause);
  t.teardown(() => c.remove());
  const pid = await c.pid();
  // SIGTERM is only safe to send once the handler is installed (signal 15: bit 14 of SigCgt).
  await waitFor('pause handling SIGTERM', () => {
    const caught = /^SigCgt:\s+([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0';
    return (BigInt(`0x${caught}`) >> 14n) & 1n ? true : undefined;
  }, { timeoutMs: 10_000 });
  await c.kill('SIGTERM');
  const exit = await c.exited;
  t.equal(exit.code, 0, `exit ${exit.code} ${exit.stderr}`);
});

t.test('backend: answers HTTP with its pod and node name', async (t) => {
  const backend = await buildBackendImage(join(base, 'backend'));
  const port = await freePort();
  const c = startContainer(backend, { hostNetwork: true, env: { PORT: String(port), POD_NAME: 'web-0', NODE_NAME: 'node-a' } });
  t.teardown(() => c.remove());
  const body = await waitFor('the backend answering', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    return res.ok ? ((await res.json()) as unknown) : undefined;
  }, { timeoutMs: 30_000 });
  t.same(body, { pod: 'web-0', node: 'node-a' });
  await c.kill('SIGTERM');
  t.equal((await c.exited).code, 0, 'exits 0 on SIGTERM');
});
