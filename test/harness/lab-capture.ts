/**
 * Packet capture inside a lab namespace: tcpdump writes a pcap file packet by packet (-U), and we
 * decode it with lab-frames. Start-up waits for tcpdump's "listening on" line on stderr, which it
 * prints after pcap_activate(), so frames sent after `capture()` resolves are really recorded.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetalLbError, ErrorCode } from '../../src/util/errors';
import { parsePcap, type Frame } from './lab-frames';
import { delay, GiveUp, waitFor } from './lab-exec';

/** A running capture. */
export interface Capture {
  /** Path of the pcap file being written. */
  readonly file: string;
  /** Frames recorded so far (re-reads the file; safe while tcpdump runs). */
  frames(): Frame[];
  /** Poll until a frame matches, then resolve with it; Timeout error otherwise. */
  waitFrame(predicate: (f: Frame) => boolean, timeoutMs: number, what?: string): Promise<Frame>;
  /** Stop tcpdump (flushes the file) and resolve with every frame recorded. Idempotent. */
  stop(): Promise<Frame[]>;
}

/** How the lab starts a tracked process; supplied by lab.ts so captures die with the lab. */
export type SpawnInNs = (argv: readonly string[], opts: { readonly pipe: true }) => ChildProcess;

/**
 * Start tcpdump on `iface` with BPF `filter`, writing `<dir>/<label>.pcap`, and resolve once it
 * is capturing (or reject after `startTimeoutMs` with tcpdump's stderr).
 */
export async function startCapture(
  spawnInNs: SpawnInNs,
  dir: string,
  label: string,
  iface: string,
  filter: string,
  startTimeoutMs = 5000,
): Promise<Capture> {
  const file = join(dir, `${label}.pcap`);
  // -U: flush after each packet so frames() sees them at once; -Z root: Debian's tcpdump would
  // otherwise drop to user tcpdump before opening the output file in our 0700 temp dir.
  const argv = ['tcpdump', '-n', '-U', '-Z', 'root', '-i', iface, '-w', file, ...(filter ? [filter] : [])];
  const child = spawnInNs(argv, { pipe: true });
  let stderr = '';
  let exited: number | null | undefined;
  child.stdout?.resume();
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code) => {
      exited = code;
      resolve();
    });
  });
  try {
    await waitFor(
      `tcpdump on ${iface} (${filter}) to start capturing`,
      () => {
        if (exited !== undefined) {
          throw new GiveUp(new MetalLbError(ErrorCode.Lab, `tcpdump exited with ${exited}: ${stderr.trim()}`));
        }
        return stderr.includes('listening on');
      },
      { timeoutMs: startTimeoutMs, intervalMs: 10 },
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }

  const read = (): Frame[] => {
    try {
      return parsePcap(readFileSync(file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  };
  let stopped: Promise<Frame[]> | undefined;
  return {
    file,
    frames: read,
    waitFrame: (predicate, timeoutMs, what = 'a matching frame') =>
      waitFor(`${what} on ${iface}`, () => read().find(predicate), { timeoutMs, intervalMs: 20 }),
    stop: () => {
      stopped ??= (async () => {
        if (exited === undefined) {
          // SIGINT makes tcpdump flush and close the file cleanly.
          child.kill('SIGINT');
          const done = await Promise.race([exitPromise.then(() => true), delay(2000).then(() => false)]);
          if (!done) child.kill('SIGKILL');
          await exitPromise;
        }
        return read();
      })();
      return stopped;
    },
  };
}
