/**
 * Last-resort teardown for test processes: synchronous handlers that run on normal exit, on an
 * uncaught exception and on SIGINT/SIGTERM, so a failed or interrupted test never leaves an
 * apiserver, etcd or daemon running. Tests still tear down properly through t.teardown first;
 * these handlers only kill what is left.
 */
type SyncCleanup = () => void;

const handlers = new Set<SyncCleanup>();
let installed = false;

function runAll(): void {
  for (const h of [...handlers].reverse()) {
    try {
      h();
    } catch {
      // Best effort: one failing handler must not stop the others.
    }
  }
  handlers.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      runAll();
      process.exit(130);
    });
  }
}

/** Register a synchronous cleanup; returns a function that unregisters it. */
export function onProcessExit(fn: SyncCleanup): () => void {
  install();
  handlers.add(fn);
  return () => handlers.delete(fn);
}

/** Kill a process (and its process group when it leads one) without throwing. */
export function killQuietly(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!pid) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
