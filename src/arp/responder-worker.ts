/**
 * The ARP/NDP responder thread (docs/l2.md §1, docs/architecture.md §6.1): a worker_thread that
 * owns the announcer's packet sockets and answers requests itself, from the table of announced
 * IPs the main thread posts whenever it changes. The main thread's event loop can then be busy
 * for tens of milliseconds (a BGP flood decoded, 20,000 routes re-planned, a large configuration
 * reloaded, a major GC of its heap) without an ARP reply or NA waiting behind it: this thread has
 * its own loop and its own heap.
 *
 * Every frame still goes to the main thread, batched once per turn of this loop, marked with
 * whether it was answered here, so the announcer keeps its counters, conflict events and probes
 * exactly as before; it sends a reply itself only for a frame this thread did not answer (a
 * VIP announced a moment ago, whose table is still on its way here).
 *
 * Started by responder-thread.ts; talks only through the messages below.
 */
import { parentPort } from 'node:worker_threads';
import { openPacketSocket, type PacketSocket } from '../native';
import { decodeFrame, encodeFrame } from './frame';
import { respond, type Announcement, type ResponderContext } from './responder';

/** What the main thread asks of this one. Sockets are numbered by the main thread. */
export type ToResponder =
  | { op: 'open'; id: number; ifname: string; mac: string }
  | { op: 'close'; id: number }
  | { op: 'send'; id: number; frame: Uint8Array }
  | { op: 'membership'; id: number; join: boolean; mac: Uint8Array }
  /** The whole table each time: announced IP -> 'all' or interface names; this node's MACs. */
  | { op: 'table'; announced: Array<[string, 'all' | string[]]>; ownMacs: string[] };

/** One received frame as the main thread gets it. */
export interface ReceivedFrame {
  id: number;
  frame: Uint8Array;
  pktType: number;
  /** Undefined: not answered here. true: the reply went out; false: sending it failed. */
  answered?: boolean;
}

/** What this thread tells the main one. */
export type FromResponder =
  | { kind: 'ready' }
  | { kind: 'frames'; frames: ReceivedFrame[] }
  | { kind: 'error'; id: number; message: string; errno?: string };

interface OpenSocket {
  sock: PacketSocket;
  ctx: ResponderContext;
}

function run(port: NonNullable<typeof parentPort>): void {
  const sockets = new Map<number, OpenSocket>();
  let announced = new Map<string, Announcement>();
  let ownMacs = new Set<string>();
  let batch: ReceivedFrame[] = [];

  const post = (m: FromResponder): void => port.postMessage(m);
  const fail = (id: number, err: unknown): void => {
    const e = err as Error & { details?: { errno?: string } };
    post({ kind: 'error', id, message: e.message ?? String(err), ...(e.details?.errno === undefined ? {} : { errno: e.details.errno }) });
  };
  const flush = (): void => {
    const frames = batch;
    batch = [];
    post({ kind: 'frames', frames });
  };

  const onFrame = (id: number, frame: Buffer, pktType: number): void => {
    const s = sockets.get(id);
    if (s === undefined) return;
    let answered: boolean | undefined;
    try {
      const d = respond(s.ctx, decodeFrame(frame), pktType);
      if (d.kind === 'reply') {
        try {
          s.sock.send(encodeFrame(d.frame));
          answered = true;
        } catch {
          answered = false;
        }
      }
    } catch {
      // Undecodable: the main thread decodes it again and counts why.
    }
    if (batch.length === 0) setImmediate(flush);
    batch.push({ id, frame, pktType, ...(answered === undefined ? {} : { answered }) });
  };

  port.on('message', (m: ToResponder) => {
    try {
      switch (m.op) {
        case 'open': {
          const ctx: ResponderContext = { announced, iface: { name: m.ifname, mac: m.mac }, ownMacs };
          const sock = openPacketSocket({
            ifname: m.ifname,
            filter: 'arp-ns',
            onFrame: (frame, info) => onFrame(m.id, frame, info.pktType),
            onError: (err) => fail(m.id, err),
          });
          sockets.set(m.id, { sock, ctx });
          return;
        }
        case 'close':
          sockets.get(m.id)?.sock.close();
          sockets.delete(m.id);
          return;
        case 'send':
          sockets.get(m.id)?.sock.send(Buffer.from(m.frame.buffer, m.frame.byteOffset, m.frame.byteLength));
          return;
        case 'membership': {
          const s = sockets.get(m.id);
          const mac = Buffer.from(m.mac.buffer, m.mac.byteOffset, m.mac.byteLength);
          if (m.join) s?.sock.addMembership(mac);
          else s?.sock.dropMembership(mac);
          return;
        }
        case 'table':
          announced = new Map(m.announced.map(([ip, ifs]) => [ip, { interfaces: ifs === 'all' ? 'all' : new Set(ifs) }]));
          ownMacs = new Set(m.ownMacs);
          for (const s of sockets.values()) s.ctx = { ...s.ctx, announced, ownMacs };
          return;
      }
    } catch (err) {
      fail('id' in m ? m.id : 0, err);
    }
  });
}

if (parentPort !== null) {
  run(parentPort);
  parentPort.postMessage({ kind: 'ready' } satisfies FromResponder);
}
