// The router configs the harness generates, with every option switched on, pass each daemon's own
// checker (no namespace needed): FRR `bgpd -C`, BIRD `-p`, OpenBGPD `-n`, gobgpd `-d`, ExaBGP
// `--validate`. A failing product test should never be a harness config typo.
import t from 'tap';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execCommand } from '../harness/lab-exec';
import type { PeerSpec } from '../harness/routers/common';
import { frrBgpdConfig } from '../harness/routers/frr';
import { frrBfddConfig } from '../harness/routers/frr-bfd';
import { birdConfig } from '../harness/routers/bird';
import { openbgpdConfig } from '../harness/routers/openbgpd';
import { gobgpConfig } from '../harness/routers/gobgp';
import { exabgpConfig } from '../harness/routers/exabgp';

const dir = mkdtempSync(join(tmpdir(), 'mlb-router-configs-'));
// bgpd -C reads its config after dropping to user frr.
chmodSync(dir, 0o755);
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const peers: PeerSpec[] = [
  { address: '10.77.0.11', remoteAs: 64500, password: 'md5-key', multihop: 2, families: ['ipv4', 'ipv6'] },
  { address: 'fd00:77::11', remoteAs: 64500, passive: true },
  { address: '10.77.0.12', remoteAs: 64510, port: 1179 },
];

/** Write a config; OpenBGPD insists on 0600, FRR (running as frr) needs to read the others. */
function write(name: string, text: string, mode = 0o644): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode });
  return path;
}

t.test('FRR bgpd -C accepts both policy variants', async (t) => {
  for (const ebgpRequiresPolicy of [false, true]) {
    const conf = write(
      `frr-${ebgpRequiresPolicy}.conf`,
      frrBgpdConfig(
        {
          asn: 64501,
          routerId: '10.77.0.1',
          neighbors: peers,
          listenRanges: [
            { range: '10.77.0.0/24', remoteAs: 64500, password: 'range-key' },
            { range: 'fd00:77::/64', remoteAs: 64500 },
          ],
          ebgpRequiresPolicy,
          maximumPaths: 4,
          networks: ['10.77.0.200/32', 'fd00:77::200'],
          bgpExtra: ' bgp bestpath as-path multipath-relax',
          extraConfig: 'line vty\nexit',
        },
        join(dir, 'frr.log'),
      ),
    );
    const r = await execCommand(['/usr/lib/frr/bgpd', '-C', '-f', conf]);
    // bgpd -C exits 0 even for bad lines, so read its complaints; the log file line is expected
    // (-C drops to user frr, which cannot create files in this root-owned dir).
    const complaints = r.stderr.split('\n').filter((l) => /EC \d+/.test(l) && !/log file|logfile/.test(l));
    t.same(complaints, [], `ebgpRequiresPolicy=${ebgpRequiresPolicy}`);
    t.equal(r.code, 0, 'bgpd -C exit code');
  }
  // The checker catches a bad line (so the assertion above means something).
  const bad = await execCommand(['/usr/lib/frr/bgpd', '-C', '-f', write('frr-bad.conf', 'router bgp 1\n neighbor x bogus\n')]);
  t.match(bad.stderr, /No such command/, 'bgpd -C reports bad lines on stderr');
});

t.test('FRR bfdd -C accepts every BFD peer option', async (t) => {
  const conf = write(
    'bfdd.conf',
    frrBfddConfig(
      [
        { address: '10.77.0.11', localAddress: '10.77.0.1', receiveIntervalMs: 300, transmitIntervalMs: 300, detectMultiplier: 3 },
        { address: 'fd00:77::11', passive: true },
        { address: '10.77.5.5', multihop: true, localAddress: '10.77.0.1', minimumTtl: 250 },
      ],
      join(dir, 'bfdd.log'),
    ),
  );
  const r = await execCommand(['/usr/lib/frr/bfdd', '-C', '-f', conf, '--bfdctl', join(dir, 'bfdd.sock')]);
  const complaints = r.stderr.split('\n').filter((l) => /EC \d+|Unknown command|No such command/.test(l) && !/log file|logfile/.test(l));
  t.same(complaints, []);
  t.equal(r.code, 0, 'bfdd -C exit code');
  const bad = await execCommand(['/usr/lib/frr/bfdd', '-C', '-f', write('bfdd-bad.conf', 'bfd\n peer 10.0.0.1\n  bogus-option 1\n'), '--bfdctl', join(dir, 'bfdd-bad.sock')]);
  t.match(`${bad.stdout}${bad.stderr}`, /Unknown command|No such command|EC \d+/, 'bfdd -C reports bad lines');
});

t.test('BIRD -p', async (t) => {
  const conf = write('bird.conf', birdConfig({ asn: 64501, routerId: '10.77.0.1', neighbors: peers, extraConfig: '# end' }, join(dir, 'bird.log')));
  const r = await execCommand(['bird', '-p', '-c', conf]);
  t.equal(r.code, 0, r.stderr);
});

t.test('OpenBGPD -n', async (t) => {
  const conf = write('obgpd.conf', openbgpdConfig({ asn: 64501, routerId: '10.77.0.1', neighbors: peers }, join(dir, 'bgpd.sock'), ['10.77.0.1']), 0o600);
  const r = await execCommand(['/usr/sbin/bgpd', '-n', '-f', conf]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr + r.stdout, /configuration OK/);
});

t.test('gobgpd -d', async (t) => {
  for (const listen of [true, false]) {
    const conf = write(
      `gobgpd-${listen}.toml`,
      gobgpConfig({ ns: 'unused', asn: 64500, routerId: '10.77.0.11', neighbors: peers, listen, localAddresses: ['10.77.0.11', 'fd00:77::11'] }),
    );
    const r = await execCommand(['gobgpd', '-d', '-f', conf]);
    t.equal(r.code, 0, `listen=${listen} ${r.stderr}`);
  }
});

t.test('ExaBGP --validate', async (t) => {
  const conf = write(
    'exabgp.conf',
    exabgpConfig({ asn: 64501, routerId: '10.77.0.1', neighbors: peers }, { ipv4: '10.77.0.1', ipv6: 'fd00:77::1' }, '/bin/cat'),
  );
  const r = await execCommand(['exabgp', '--validate', conf], { env: { 'exabgp.api.cli': 'false' } });
  t.equal(r.code, 0, r.stdout.split('\n').slice(-6).join('\n'));
});
