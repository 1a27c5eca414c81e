/**
 * Child process for test/lab/teardown.test.ts: builds a lab with a tracked process and an
 * untracked background process, prints the lab's namespaces and temp dir as one JSON line, then
 * dies the way argv[2] says once the parent writes a line to stdin:
 * `uncaught` throws, `wait` idles until the parent signals it.
 */
import { createLab } from './lab';

async function main(): Promise<void> {
  const mode = process.argv[2];
  const lab = await createLab({ nodes: 1, name: 'child' });
  const node = lab.nodes[0];
  if (node === undefined) throw new Error('no node');
  lab.spawn(node, ['sleep', '300']);
  // Untracked: only the `ip netns pids` sweep can find this one.
  await lab.exec(lab.router, ['sh', '-c', 'sleep 300 > /dev/null 2>&1 &']);
  process.stdout.write(`${JSON.stringify({ namespaces: lab.namespaces, dir: lab.dir })}\n`);
  process.stdin.once('data', () => {
    if (mode === 'uncaught') throw new Error('deliberate uncaught exception');
  });
  // Keep the event loop alive until a signal or the exception ends the process.
  setInterval(() => undefined, 60_000);
}

void main();
