// Self-test of lab teardown (docs/architecture.md §9.1): destroy() leaves no namespace, process or
// temp dir behind, even with daemons running and a background process nobody tracked; the exit hook
// does the same after an uncaught exception and on SIGTERM; sweepStaleLabs() clears what a
// SIGKILLed run left. Assertions use `ip netns list` and `ip netns pids`.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createLab, sweepStaleLabs, waitFor } from '../harness/lab';
import { execCommand, pidAlive } from '../harness/lab-exec';
import { labOwnerPid, parseNetnsList, parsePids, pidsInNamespaces } from '../harness/lab-cleanup';
import { startFrr } from '../harness/routers/frr';
import { startGobgp } from '../harness/routers/gobgp';

async function netnsList(): Promise<string[]> {
  return parseNetnsList((await execCommand(['ip', 'netns', 'list'])).stdout);
}

async function pidsIn(namespaces: readonly string[]): Promise<number[]> {
  const all = await Promise.all(namespaces.map((ns) => execCommand(['ip', 'netns', 'pids', ns])));
  return all.flatMap((r) => parsePids(r.stdout));
}

async function assertGone(t: Test, namespaces: readonly string[], pids: readonly number[], dir: string): Promise<void> {
  const listed = await netnsList();
  t.same(
    namespaces.filter((ns) => listed.includes(ns)),
    [],
    'no lab namespace left in ip netns list',
  );
  for (const ns of namespaces) {
    const r = await execCommand(['ip', 'netns', 'pids', ns]);
    t.not(r.code, 0, `ip netns pids ${ns} fails: the namespace is gone`);
  }
  // PIDs can take a moment to be reaped by init after SIGKILL.
  await waitFor('every lab process to be gone', () => pids.every((p) => !pidAlive(p)), { timeoutMs: 5000 });
  t.pass(`all ${pids.length} processes gone`);
  t.notOk(existsSync(dir), 'temp dir removed');
}

t.test('destroy() with FRR, GoBGP, a tracked and an untracked process', async (t) => {
  const lab = await createLab({ nodes: 2, client: true, name: 'teardown' });
  const node = lab.nodes[0];
  if (node === undefined) throw new Error('no node');
  await startFrr(lab, { asn: 64501, routerId: lab.router.ipv4, neighbors: [{ address: node.ipv4, remoteAs: 64500 }] });
  await startGobgp(lab, { ns: node.ns, asn: 64500, routerId: node.ipv4, neighbors: [{ address: lab.router.ipv4, remoteAs: 64501 }] });
  lab.spawn(lab.client ?? node, ['sleep', '300']);
  await lab.exec(lab.router, ['sh', '-c', 'sleep 300 > /dev/null 2>&1 &']);
  const pids = await pidsIn(lab.namespaces);
  t.ok(pids.length >= 5, `processes running in the lab (${pids.length})`);
  const byNum = (a: number, b: number): number => a - b;
  t.same(pidsInNamespaces(lab.namespaces).sort(byNum), [...pids].sort(byNum), 'the /proc scan finds what ip netns pids finds');
  const namespaces = [...lab.namespaces];
  await lab.destroy();
  await assertGone(t, namespaces, pids, lab.dir);
  await lab.destroy();
  t.pass('destroy() twice is fine');
});

/** Start the child lab; resolve with its namespaces, dir and the PIDs inside, plus the child. */
async function childLab(mode: 'uncaught' | 'wait') {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../harness/lab-selftest-child.ts'), mode], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stderr.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before printing its lab`)));
  });
  const info = JSON.parse(line) as { namespaces: string[]; dir: string };
  const pids = await pidsIn(info.namespaces);
  // Never hang the suite on a child that ignores its fate: SIGKILL it after 15 s.
  const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
  void exited.then(() => clearTimeout(guard));
  return { child, exited, pids, ...info };
}

t.test('exit hook tears down after an uncaught exception', async (t) => {
  const c = await childLab('uncaught');
  t.ok(c.pids.length >= 2, 'child lab has processes');
  c.child.stdin.write('go\n');
  const { code } = await c.exited;
  t.equal(code, 1, 'child died of its exception');
  await assertGone(t, c.namespaces, c.pids, c.dir);
});

t.test('signal hook tears down on SIGTERM and the child still dies of it', async (t) => {
  const c = await childLab('wait');
  c.child.kill('SIGTERM');
  const { signal } = await c.exited;
  t.equal(signal, 'SIGTERM', 'signal re-raised');
  await assertGone(t, c.namespaces, c.pids, c.dir);
});

t.test('sweepStaleLabs() clears what a SIGKILLed run left', async (t) => {
  const c = await childLab('wait');
  c.child.kill('SIGKILL');
  await c.exited;
  const listed = await netnsList();
  t.ok(c.namespaces.every((ns) => listed.includes(ns)), 'SIGKILL left the namespaces behind');
  t.equal(labOwnerPid(c.namespaces[0] ?? ''), c.child.pid, 'names encode the dead owner pid');
  const removed = await sweepStaleLabs();
  t.ok(c.namespaces.every((ns) => removed.includes(ns)), 'sweep reports them');
  await assertGone(t, c.namespaces, c.pids, c.dir);
});

t.test('sweepStaleLabs() leaves live labs alone', async (t) => {
  const lab = await createLab({ nodes: 1, name: 'live' });
  t.teardown(() => lab.destroy());
  await sweepStaleLabs();
  const listed = await netnsList();
  t.ok(lab.namespaces.every((ns) => listed.includes(ns)), 'own namespaces still there');
});
