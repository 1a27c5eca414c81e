import t from 'tap';
import {
  DEFAULT_EXCLUDED_INTERFACES,
  IfFlags,
  SkipReason,
  eligibleInterfaces,
  parseIfInet6,
  selectInterfaces,
  type InterfaceDescription,
} from '../../src/arp/interfaces';

const UP_BCAST = IfFlags.Up | IfFlags.Broadcast | 0x1000; /* IFF_MULTICAST */
function nic(name: string, over: Partial<InterfaceDescription> = {}): InterfaceDescription {
  return { name, mac: '02:00:00:00:00:01', flags: UP_BCAST, hwType: 1, enslaved: false, hasIpv6LinkLocal: true, ...over };
}

const node = [
  nic('lo', { flags: IfFlags.Up | IfFlags.Loopback, hwType: 772, mac: '00:00:00:00:00:00' }),
  nic('eth0'),
  nic('eth1', { hasIpv6LinkLocal: false }),
  nic('eth2', { flags: IfFlags.Broadcast }),
  nic('bond0'),
  nic('ens1f0', { enslaved: true }),
  nic('br-lan'),
  nic('veth1234'),
  nic('cali0a1b'),
  nic('kube-ipvs0', { flags: IfFlags.Up | IfFlags.Broadcast | IfFlags.NoArp }),
  nic('wg0', { flags: IfFlags.Up | IfFlags.NoArp | 0x10 /* POINTOPOINT */, hwType: 65534, mac: '00:00:00:00:00:00' }),
  nic('ipoib0', { hwType: 32 }),
  nic('tap0', { flags: IfFlags.Up | IfFlags.Broadcast | IfFlags.NoArp }),
];

t.test('upstream eligibility rules with the chart default exclusions', async (t) => {
  const scan = eligibleInterfaces(node);
  t.same(
    scan.eligible.map((e) => [e.name, e.arp, e.ndp]),
    [
      ['eth0', true, true],
      ['eth1', true, false],
      ['bond0', true, true],
      ['br-lan', true, true],
    ],
  );
  t.same(Object.fromEntries(scan.skipped.map((s) => [s.name, s.reason])), {
    lo: SkipReason.Excluded,
    eth2: SkipReason.Down,
    ens1f0: SkipReason.Enslaved,
    veth1234: SkipReason.Excluded,
    cali0a1b: SkipReason.Excluded,
    'kube-ipvs0': SkipReason.Excluded,
    wg0: SkipReason.NotEthernet,
    ipoib0: SkipReason.NotEthernet,
    tap0: SkipReason.NoArp,
  });
  t.notOk(scan.present.includes('lo'));
  t.ok(scan.present.includes('eth2'), 'down interfaces are still present (upstream lists up or down)');
});

t.test('no exclusions: lo is skipped as loopback, veth becomes eligible', async (t) => {
  const scan = eligibleInterfaces(node, []);
  t.same(scan.skipped.find((s) => s.name === 'lo'), { name: 'lo', reason: SkipReason.Loopback });
  t.ok(scan.eligible.some((e) => e.name === 'veth1234'));
  t.ok(DEFAULT_EXCLUDED_INTERFACES.includes('^lo$'));
});

t.test('selectInterfaces: all, named, missing, per family', async (t) => {
  const scan = eligibleInterfaces(node);
  t.same(selectInterfaces(scan, 'all', 4), { ok: true, interfaces: ['eth0', 'eth1', 'bond0', 'br-lan'] });
  t.same(selectInterfaces(scan, [], 6), { ok: true, interfaces: ['eth0', 'bond0', 'br-lan'] }, 'empty list means all, as in the CRD');
  t.same(selectInterfaces(scan, ['eth1', 'nope'], 4), { ok: true, interfaces: ['eth1'] });
  t.same(selectInterfaces(scan, ['eth1'], 6), { ok: true, interfaces: [] }, 'present but no link-local: nothing serves IPv6');
  t.same(selectInterfaces(scan, ['eth2'], 4), { ok: true, interfaces: [] }, 'down: announced, serves nothing until it comes up');
  t.same(selectInterfaces(scan, ['nope', 'veth1234'], 4), { ok: false, reason: 'no-such-interface', requested: ['nope', 'veth1234'] });
});

t.test('parseIfInet6 picks the first link-local address per interface', async (t) => {
  const text = [
    'fd000077000000000000000000000011 02 40 00 80     eth0',
    'fe80000000000000a8bbccfffedd0011 02 40 20 80     eth0',
    'fe800000000000000000000000000002 02 40 20 80     eth0',
    '00000000000000000000000000000001 01 80 10 80       lo',
    'garbage',
    '',
  ].join('\n');
  t.same([...parseIfInet6(text)], [['eth0', 'fe80::a8bb:ccff:fedd:11']]);
});
