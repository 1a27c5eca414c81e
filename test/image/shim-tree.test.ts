import t from 'tap';
import { shimTree, type ProcEntry } from '../harness/image/shim-tree';

const SOCK = '/tmp/mlb-containerd-a/containerd.sock';
const shim = (pid: number, address: string): ProcEntry => ({
  pid,
  ppid: 1,
  argv: ['/usr/bin/containerd-shim-runc-v2', '-namespace', 'k8s.io', '-id', `c${pid}`, '-address', address],
});

t.test('finds the shims of one containerd and everything under them', async (t) => {
  const procs: ProcEntry[] = [
    shim(10, SOCK),
    shim(20, '/tmp/mlb-containerd-b/containerd.sock'),
    { pid: 11, ppid: 10, argv: ['/pause'] },
    { pid: 12, ppid: 10, argv: ['node', '/server.mjs'] },
    { pid: 13, ppid: 12, argv: ['cat', '/proc/1/status'] },
    { pid: 21, ppid: 20, argv: ['/pause'] },
    // Mentions the socket, but is no shim (ctr itself).
    { pid: 30, ppid: 1, argv: ['ctr', '--address', SOCK, 'tasks', 'ls'] },
  ];
  t.same(shimTree(procs, SOCK), { shims: [10], descendants: [11, 12, 13] });
  t.same(shimTree(procs, '/elsewhere.sock'), { shims: [], descendants: [] });
});
