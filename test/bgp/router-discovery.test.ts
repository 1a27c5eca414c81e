/**
 * Router discovery for unnumbered peers: the pure choice of peer address from an RA, and the
 * watcher shell with a fake packet socket and timer (no sleeping).
 */
import t from 'tap';
import pino from 'pino';
import { encodeRouterAdvert, decodeRouterAdvert } from '../../src/arp/ra-codec';
import { RouterWatch, routerAddressFrom } from '../../src/bgp/router-discovery';
import type { PacketSocketOptions } from '../../src/native';

const log = pino({ level: 'silent' });
const OWN_MAC = '02:77:00:00:00:0b';
const routerRa = encodeRouterAdvert('02:77:00:00:00:01', 'fe80::77:ff:fe00:1');

t.test('routerAddressFrom: zoned address on news only, never our own', async (t) => {
  const ra = decodeRouterAdvert(routerRa)!;
  t.equal(routerAddressFrom(undefined, ra, 'eth0', OWN_MAC), 'fe80::77:ff:fe00:1%eth0');
  t.equal(routerAddressFrom('fe80::77:ff:fe00:1%eth0', ra, 'eth0', OWN_MAC), undefined, 'same router again');
  t.equal(routerAddressFrom('fe80::9%eth0', ra, 'eth0', OWN_MAC), 'fe80::77:ff:fe00:1%eth0', 'a new router');
  t.equal(routerAddressFrom(undefined, { ...ra, sourceMac: OWN_MAC }, 'eth0', OWN_MAC), undefined, 'our own RA');
});

t.test('RouterWatch: announces us at once and every interval, reports the router once', async (t) => {
  const sent: Buffer[] = [];
  let opts: PacketSocketOptions | undefined;
  let tick: (() => void) | undefined;
  let closed = false;
  const watch = new RouterWatch('eth0', {
    log,
    openSocket: (o) => {
      opts = o;
      return { mac: Buffer.from([2, 0x77, 0, 0, 0, 0x0b]), send: (f: Buffer) => void sent.push(f), close: () => void (closed = true) };
    },
    interfaces: () => ({
      eth0: [{ address: 'fe80::77:ff:fe00:b', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: OWN_MAC, internal: false, cidr: 'fe80::77:ff:fe00:b/64', scopeid: 2 }],
    }),
    setInterval: (fn, ms) => {
      t.equal(ms, 10_000, "FRR's interval by default");
      tick = fn;
      return { cancel: () => (tick = undefined) };
    },
  });
  const found: string[] = [];
  watch.on('router', (a: string) => found.push(a));
  watch.start();
  t.equal(opts?.filter, 'all');
  t.same(decodeRouterAdvert(sent[0]!), { source: 'fe80::77:ff:fe00:b', sourceMac: OWN_MAC, routerLifetimeSec: 0 }, 'our RA at start');
  tick!();
  t.equal(sent.length, 2, 'and on each tick');
  opts!.onFrame(routerRa, { pktType: 2 });
  opts!.onFrame(routerRa, { pktType: 2 });
  opts!.onFrame(Buffer.alloc(10), { pktType: 2 });
  t.same(found, ['fe80::77:ff:fe00:1%eth0'], 'reported once');
  t.equal(watch.router, 'fe80::77:ff:fe00:1%eth0');
  watch.stop();
  t.ok(closed, 'socket closed');
  t.equal(tick, undefined, 'timer cancelled');
});
