/**
 * Process helpers for the network lab: run a command (optionally inside a network namespace)
 * and collect its output, and poll a condition with a deadline. Tests never sleep to wait for
 * something; they call `waitFor` with a deadline and a message that says what was awaited.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { MetalLbError, ErrorCode } from '../../src/util/errors';

/** What a finished command produced. `code` is -1 when it was killed by a signal or timed out. */
export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for {@link execCommand}. */
export interface ExecOptions {
  /** Kill the command after this long (default 20 s) so a hung tool never hangs a test. */
  readonly timeoutMs?: number;
  /** Throw a MetalLbError(Lab) when the exit code is not 0 (default false). */
  readonly check?: boolean;
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Text written to the command's stdin. */
  readonly input?: string;
}

/** argv prefix that runs a command inside namespace `ns` (`ip netns exec` execs, so PIDs match). */
export function inNs(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

/** Run argv[0] with the remaining arguments and resolve with its exit code and output. */
export function execCommand(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (file === undefined) {
    return Promise.reject(new MetalLbError(ErrorCode.Lab, 'execCommand: empty argv'));
  }
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        timeout: opts.timeoutMs ?? 20_000,
        maxBuffer: 64 * 1024 * 1024,
        env: opts.env ? { ...process.env, ...opts.env } : process.env,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        const result: ExecResult = { code, stdout, stderr };
        if (err !== null && typeof err.code === 'string') {
          // ENOENT and friends: the tool itself is missing, which no caller can handle.
          reject(new MetalLbError(ErrorCode.Lab, `cannot run ${argv.join(' ')}: ${err.message}`));
          return;
        }
        if (opts.check === true && code !== 0) {
          reject(
            new MetalLbError(
              ErrorCode.Lab,
              `command failed (exit ${code}): ${argv.join(' ')}: ${stderr.trim() || stdout.trim()}`,
              { argv: [...argv], code, stderr },
            ),
          );
          return;
        }
        resolve(result);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Options for {@link waitFor}. */
export interface WaitOptions {
  /** Give up after this long. */
  readonly timeoutMs: number;
  /** Poll interval (default 50 ms). */
  readonly intervalMs?: number;
}

/**
 * Thrown by a waitFor probe to stop waiting at once (a daemon died, a tool is missing): waitFor
 * rethrows `error` instead of polling on until the deadline.
 */
export class GiveUp {
  constructor(readonly error: Error) {}
}

/**
 * Poll `probe` until it returns a value other than undefined/false, or throw a Timeout error
 * naming `what` and the last probe error. Probe errors count as "not yet", except {@link GiveUp}.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 50;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      if (err instanceof GiveUp) throw err.error;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new MetalLbError(ErrorCode.Timeout, `timed out after ${opts.timeoutMs} ms waiting for ${what}${why}`, {
        what,
      });
    }
    await delay(interval);
  }
}

/** Resolve after `ms`; only for poll intervals and kill grace periods, never to await a condition. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * True when a process with this PID exists and is not a zombie. A zombie has exited already;
 * daemons that forked are reparented to PID 1, which may reap them late.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM means it exists but belongs to someone else: still alive.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // /proc/PID/stat is "pid (comm) S ..."; comm may contain spaces, so split after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Send a signal, ignoring "no such process". */
export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Stop PIDs: SIGTERM, wait up to `graceMs` for them to exit, then SIGKILL and wait again.
 * FRR's daemons take up to ~1 s after SIGTERM (docs/architecture.md §9.1), hence the default grace.
 */
export async function stopPids(pids: readonly number[], graceMs = 1500): Promise<void> {
  const live = pids.filter(pidAlive);
  if (live.length === 0) return;
  for (const pid of live) signalPid(pid, 'SIGTERM');
  const termDeadline = Date.now() + graceMs;
  while (Date.now() < termDeadline && live.some(pidAlive)) await delay(25);
  const stubborn = live.filter(pidAlive);
  for (const pid of stubborn) signalPid(pid, 'SIGKILL');
  const killDeadline = Date.now() + 2000;
  while (Date.now() < killDeadline && stubborn.some(pidAlive)) await delay(25);
}
