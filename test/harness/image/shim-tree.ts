/**
 * The processes one containerd started: its runc shims (`containerd-shim-runc-v2 ... -address
 * <socket>`) and everything below them (each container's init, exec'd processes). A containerd that
 * cannot delete a task leaves these running after it exits (the shim outlives containerd by
 * design), so teardown finds them from /proc rather than asking containerd.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** One process as /proc shows it. */
export interface ProcEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly argv: readonly string[];
}

/** The shims serving `socket` and all their descendants, deepest last. Pure. */
export function shimTree(procs: readonly ProcEntry[], socket: string): { shims: number[]; descendants: number[] } {
  const shims = procs
    .filter((p) => /containerd-shim/.test(p.argv[0] ?? '') && p.argv.some((a, i) => a === socket && p.argv[i - 1] === '-address'))
    .map((p) => p.pid);
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const descendants: number[] = [];
  const queue = [...shims];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      descendants.push(child);
      queue.push(child);
    }
  }
  return { shims, descendants };
}

/** Every process's pid, parent and argv from /proc (processes that exit meanwhile are skipped). */
export function readProcs(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) S ppid ...": comm may hold spaces, so split after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      out.push({ pid: Number(entry), ppid, argv });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
