/**
 * The lab's images reach a node's containerd without a registry: a containerd of the node's own
 * (own root, state and sockets; Debian's containerd 1.6) imports the product and pause images as
 * OCI image-layout tarballs, and runs the product image's ENTRYPOINT and CMD as its USER. The
 * CRI settings a kubelet relies on are checked in containerd's own merged config: the pause
 * image as the sandbox, the base runtime spec without rlimits, restricted oom_score_adj.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildPauseImage, buildProductImage } from '../harness/image/rootfs';
import { writeOciArchive } from '../harness/image/oci-archive';
import { startContainerd } from '../harness/image/containerd';

const PRODUCT_REF = 'docker.io/library/metallb-ts:lab';
const PAUSE_REF = 'registry.k8s.io/pause:lab';

t.test('import the images into a node containerd and run the product image', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'mlb-ctd-images-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const [product, pause] = await Promise.all([buildProductImage(join(base, 'product')), buildPauseImage(join(base, 'pause'))]);
  const archives = await Promise.all([
    writeOciArchive(product, PRODUCT_REF, join(base, 'product.tar')),
    writeOciArchive(pause, PAUSE_REF, join(base, 'pause.tar')),
  ]);

  const ctd = await startContainerd(PAUSE_REF);
  t.teardown(() => ctd.stop());
  const spec = JSON.parse(readFileSync(join(ctd.dir, 'base-spec.json'), 'utf8')) as { process: Record<string, unknown> };
  t.notOk('rlimits' in spec.process, 'the base runtime spec carries no rlimits');
  t.ok(Array.isArray(spec.process['args']) || spec.process['user'] !== undefined, "the rest of containerd's default spec is kept");

  for (const archive of archives) {
    const r = await ctd.ctr(['images', 'import', archive]);
    t.equal(r.code, 0, `import ${archive}: ${r.stderr}`);
  }
  const refs = (await ctd.ctr(['images', 'ls', '-q'])).stdout.split('\n');
  t.ok(refs.includes(PRODUCT_REF) && refs.includes(PAUSE_REF), `both images listed: ${refs.filter(Boolean).join(', ')}`);

  const help = await ctd.ctr(['run', '--rm', PRODUCT_REF, `mlb-help-${process.pid}`]);
  t.equal(help.code, 0, help.stderr);
  t.match(help.stdout, /Usage: metallb-ts/, 'ENTRYPOINT + CMD of the imported image');
  const id = await ctd.ctr(['run', '--rm', PRODUCT_REF, `mlb-id-${process.pid}`, 'id', '-u']);
  t.equal(id.stdout.trim(), '65534', 'as the image USER');

  const dump = await new Promise<string>((resolve, reject) => {
    execFile('containerd', ['--config', join(ctd.dir, 'config.toml'), 'config', 'dump'], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)));
  });
  t.match(dump, `sandbox_image = "${PAUSE_REF}"`, 'CRI sandbox image: ours');
  t.match(dump, `base_runtime_spec = "${join(ctd.dir, 'base-spec.json')}"`, 'CRI base runtime spec: the one without rlimits');
  t.match(dump, /restrict_oom_score_adj = true/, 'CRI oom_score_adj restricted');
});
