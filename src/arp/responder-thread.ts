/**
 * The L2 system with the ARP/NDP responder on its own thread (docs/l2.md §1, docs/architecture.md
 * §6.1): interface listing stays the default system's, but the packet sockets live in a
 * worker_thread (responder-worker.ts) that answers requests from the announcer's table without
 * waiting for this thread's event loop. What stays here: the IP-layer multicast joins (dgram
 * sockets of this thread), and the announcer itself, which still sees every frame for its
 * counters, conflicts and probes, a turn of each loop later.
 *
 * Sends from this side (gratuitous frames, probes, a reply the worker could not give) are posted
 * to the worker, so they cannot fail synchronously: a failure comes back through onError.
 * If the worker dies (a bug), it is restarted a second later with the same sockets, memberships
 * and table.
 */
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { macToString } from './addr';
import { both, defaultL2System, ipMembership, type L2Socket, type L2System } from './l2-system';
import type { Announcement } from './responder';
import type { FromResponder, ToResponder } from './responder-worker';
import { interfaceInfo } from '../native';
import { ErrorCode, MetalLbError } from '../util/errors';

interface ThreadSocket {
  ifname: string;
  mac: string;
  onFrame: (frame: Buffer, pktType: number, answered?: boolean) => void;
  onError: (err: Error) => void;
  /** Joined multicast MACs (hex), replayed into a restarted worker. */
  groups: Set<string>;
}

/** Options for {@link threadedL2System}. */
export interface ThreadedL2Options {
  /** Interface listing; the real system by default. */
  base?: Pick<L2System, 'listInterfaces' | 'linkLocalAddresses' | 'hasCarrier'>;
}

/** Start the worker; from the TypeScript sources (tests, tsx) it must first load tsx itself. */
function startWorker(): Worker {
  const entry = join(__dirname, `responder-worker${extname(__filename)}`);
  if (entry.endsWith('.ts')) {
    // Workers do not inherit the parent's module loader hooks, so a .ts entry would not load.
    const tsx = createRequire(__filename).resolve('tsx/cjs');
    return new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(entry)});`, { eval: true });
  }
  return new Worker(entry);
}

/**
 * An L2System whose packet sockets and responder run on a worker thread. The thread starts here,
 * not with the first socket: it takes tens of milliseconds to load (seconds from the TypeScript
 * sources), and requests that arrive before it has opened the socket go unheard, so the first
 * announce after a failover must not pay for it. Create this once per process, at start-up;
 * `ready()` resolves once the thread first listens (a test waits for it before sending requests).
 */
export function threadedL2System(opts: ThreadedL2Options = {}): L2System & { ready(): Promise<void> } {
  const base = opts.base ?? defaultL2System();
  const sockets = new Map<number, ThreadSocket>();
  let worker: Worker | undefined;
  let table: ToResponder | undefined;
  let nextId = 0;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const post = (m: ToResponder): void => {
    worker?.postMessage(m);
  };
  const onMessage = (m: FromResponder): void => {
    if (m.kind === 'ready') {
      markReady();
    } else if (m.kind === 'frames') {
      for (const f of m.frames) sockets.get(f.id)?.onFrame(Buffer.from(f.frame.buffer, f.frame.byteOffset, f.frame.byteLength), f.pktType, f.answered);
    } else {
      const s = sockets.get(m.id);
      s?.onError(new MetalLbError(ErrorCode.Native, `packet socket on ${s.ifname}: ${m.message}`, { errno: m.errno ?? 'EUNKNOWN' }));
    }
  };
  const ensureWorker = (): void => {
    if (worker !== undefined) return;
    const w = startWorker();
    worker = w;
    w.on('message', onMessage);
    w.on('error', (err) => {
      for (const s of sockets.values()) s.onError(err);
    });
    w.on('exit', () => {
      worker = undefined;
      // A second later, so a thread that cannot start at all does not spin.
      setTimeout(restart, 1000).unref();
    });
    // The thread never keeps the process alive by itself: it ends with the process. After the
    // listeners: adding a 'message' listener refs the worker's port again.
    w.unref();
    if (table !== undefined) post(table);
  };
  const restart = (): void => {
    ensureWorker();
    for (const [id, s] of sockets) {
      post({ op: 'open', id, ifname: s.ifname, mac: s.mac });
      for (const g of s.groups) post({ op: 'membership', id, join: true, mac: Buffer.from(g, 'hex') });
    }
  };

  ensureWorker();
  return {
    ready: () => ready,
    listInterfaces: () => base.listInterfaces(),
    linkLocalAddresses: () => base.linkLocalAddresses(),
    hasCarrier: (ifname: string) => base.hasCarrier?.(ifname),
    answer(announced: ReadonlyMap<string, Announcement>, ownMacs: ReadonlySet<string>) {
      table = {
        op: 'table',
        announced: [...announced].map(([ip, a]) => [ip, a.interfaces === 'all' ? 'all' : [...a.interfaces]]),
        ownMacs: [...ownMacs],
      };
      post(table);
    },
    openPacketSocket(ifname, onFrame, onError): L2Socket {
      // Resolved here, synchronously, so a missing interface throws to the caller as the native open does.
      const info = interfaceInfo(ifname);
      const id = ++nextId;
      const s: ThreadSocket = { ifname, mac: macToString(info.mac), onFrame, onError, groups: new Set() };
      sockets.set(id, s);
      ensureWorker();
      post({ op: 'open', id, ifname, mac: s.mac });
      const ip = ipMembership(ifname, onError);
      const membership = (join: boolean, mac: Buffer): void => {
        if (join) s.groups.add(mac.toString('hex'));
        else s.groups.delete(mac.toString('hex'));
        post({ op: 'membership', id, join, mac });
      };
      let closed = false;
      return {
        ifname,
        ifindex: info.index,
        send: (frame) => post({ op: 'send', id, frame }),
        addMembership: (mac, group) => both(() => membership(true, mac), () => ip.join(group)),
        dropMembership: (mac, group) => both(() => membership(false, mac), () => ip.leave(group)),
        close() {
          if (closed) return;
          closed = true;
          ip.close();
          sockets.delete(id);
          post({ op: 'close', id });
        },
      };
    },
  };
}
