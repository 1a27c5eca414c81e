/**
 * Naming and last-resort cleanup for lab namespaces.
 *
 * Names embed the owning PID (`mlb<pid>x<seq>…`), so concurrent runs never collide and a later
 * run can tell a namespace left by a dead run (PID gone) from a live one. Cleanup happens in three
 * layers: `lab.destroy()` (async, graceful, registered with `t.teardown`), a synchronous hook on
 * process 'exit' and on SIGINT/SIGTERM/SIGHUP for labs still alive then, and `sweepStaleLabs()`
 * for whatever a SIGKILLed run left behind.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execCommand, pidAlive, signalPid } from './lab-exec';

/** Prefix of every lab namespace name. */
export const LAB_NS_PREFIX = 'mlb';
/** Prefix of every lab temp directory under os.tmpdir(). */
export const LAB_DIR_PREFIX = 'mlb-lab-';

/** Where `ip netns add` bind-mounts named namespaces (/var/run is a link to /run). */
const NETNS_DIR = '/run/netns';
const NS_PATTERN = /^mlb(\d+)x(\d+)[a-z0-9]*$/;
const DIR_PATTERN = /^mlb-lab-(\d+)-/;

/** What the synchronous exit hook needs to know to tear a lab down without awaiting anything. */
export interface CleanupRecord {
  readonly namespaces: readonly string[];
  readonly dir: string;
  /** PIDs of processes the lab started (read at exit time, so it sees late additions). */
  readonly pids: () => readonly number[];
}

// Process-wide by nature: the exit and signal hooks are process-wide, and a lab's sequence number
// must be unique within the process. This is the only mutable state in the harness.
const live = new Set<CleanupRecord>();
let hooksInstalled = false;
let sequence = 0;

/** A fresh namespace-name prefix for this process, e.g. `mlb4242x1`. Kept short: names show in `ip`. */
export function nextLabPrefix(): string {
  sequence += 1;
  return `${LAB_NS_PREFIX}${process.pid}x${sequence}`;
}

/** The owning PID encoded in a lab namespace name, or undefined for other names. */
export function labOwnerPid(nsName: string): number | undefined {
  const m = NS_PATTERN.exec(nsName);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** Parse `ip netns list` output ("name (id: 3)" per line) into names. */
export function parseNetnsList(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name.length > 0);
}

/** Register a lab with the exit hook; returns the function that unregisters it. */
export function registerForExit(record: CleanupRecord): () => void {
  installHooks();
  live.add(record);
  return () => {
    live.delete(record);
  };
}

/** Synchronous teardown: SIGKILL everything, delete namespaces and the temp dir. Never throws. */
export function destroySync(record: CleanupRecord): void {
  for (const pid of record.pids()) signalPid(pid, 'SIGKILL');
  for (const pid of pidsInNamespaces(record.namespaces)) signalPid(pid, 'SIGKILL');
  try {
    execFileSync('ip', ['-force', '-batch', '-'], { input: deleteBatch(record.namespaces), stdio: ['pipe', 'ignore', 'ignore'] });
  } catch {
    // some were already gone; -force still tried every line
  }
  rmSync(record.dir, { recursive: true, force: true });
}

/** `ip -batch` input deleting `namespaces` (with -force, a missing one does not stop the rest). */
export function deleteBatch(namespaces: readonly string[]): string {
  return namespaces.map((ns) => `netns del ${ns}\n`).join('');
}

/**
 * PIDs of processes whose network namespace is one of the named ones: the same test as
 * `ip netns pids` (device and inode of /proc/PID/ns/net against /run/netns/NAME), but one /proc
 * scan for all names and no subprocess, so it also works in a synchronous exit hook.
 */
export function pidsInNamespaces(namespaces: readonly string[]): number[] {
  const ids = new Set<string>();
  for (const ns of namespaces) {
    try {
      const st = statSync(join(NETNS_DIR, ns));
      ids.add(`${st.dev}:${st.ino}`);
    } catch {
      // not there (any more)
    }
  }
  if (ids.size === 0) return [];
  const pids: number[] = [];
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const st = statSync(`/proc/${entry}/ns/net`);
      if (ids.has(`${st.dev}:${st.ino}`)) pids.push(Number(entry));
    } catch {
      // exited meanwhile, or a kernel thread
    }
  }
  return pids;
}

/** Parse whitespace-separated PIDs (the output of `ip netns pids`). */
export function parsePids(text: string): number[] {
  return text
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

function destroyAllSync(): void {
  for (const record of live) destroySync(record);
  live.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' also fires after an uncaught exception and after process.exit() (tap's own bail-out).
  process.on('exit', destroyAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // Clean up at once: another listener (tap's signal-exit, a demo waiting for Ctrl-C) may
      // keep the process alive, and a SIGKILL may follow the SIGTERM. lab.destroy() afterwards
      // is harmless.
      destroyAllSync();
      // Alone (signal-exit's listeners don't count: they defer to any other listener, so if we
      // deferred too nobody would exit), re-raise so the process still dies of the signal.
      // Otherwise another listener owns the decision (the demo's graceful Ctrl-C, another harness).
      if (process.listenerCount(signal) - 1 - signalExitListenerCount() <= 0) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

/**
 * How many signal listeners belong to signal-exit (loaded by tap into test processes): v4 keeps
 * its shared emitter on a global symbol, v3 on `process.__signal_exit_emitter__`; each counts
 * one listener per signal.
 */
function signalExitListenerCount(): number {
  const v4 = (globalThis as unknown as Record<symbol, { count?: unknown } | undefined>)[Symbol.for('signal-exit emitter')];
  const v3 = (process as unknown as { __signal_exit_emitter__?: { count?: unknown } }).__signal_exit_emitter__;
  return (typeof v4?.count === 'number' ? v4.count : 0) + (typeof v3?.count === 'number' ? v3.count : 0);
}

/**
 * Delete lab namespaces and temp dirs whose owning process is dead (SIGKILLed runs, crashed
 * daemons). Live runs, including concurrent ones, are left alone. Resolves with the names removed.
 */
export async function sweepStaleLabs(): Promise<string[]> {
  const removed: string[] = [];
  // `ip netns list` also asks the kernel for each namespace's id over netlink, which is slow when
  // other runs are busy creating and deleting namespaces; the names are just these files.
  const stale = safeReaddir(NETNS_DIR).filter((ns) => {
    const owner = labOwnerPid(ns);
    return owner !== undefined && !pidAlive(owner);
  });
  if (stale.length > 0) {
    for (const pid of pidsInNamespaces(stale)) signalPid(pid, 'SIGKILL');
    await execCommand(['ip', '-force', '-batch', '-'], { input: deleteBatch(stale) });
    const left = new Set(safeReaddir(NETNS_DIR));
    removed.push(...stale.filter((ns) => !left.has(ns)));
  }
  for (const entry of safeReaddir(tmpdir())) {
    const m = DIR_PATTERN.exec(entry);
    if (m?.[1] === undefined || pidAlive(Number(m[1]))) continue;
    rmSync(join(tmpdir(), entry), { recursive: true, force: true });
    removed.push(join(tmpdir(), entry));
  }
  return removed;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
