import t, { Test } from 'tap';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { createTcpSocketFd, interfaceInfo, listInterfaces, openPacketSocket, setIpTtl, setTcpMd5 } from '../../src/native';
import { ErrorCode, MetalLbError } from '../../src/util/errors';

/** tap's t.throws matches objects, not predicates: assert the catalogue code and errno name. */
function throwsNative(t: Test, fn: () => unknown, errno: string): void {
  try {
    fn();
    t.fail(`expected MetalLbError with errno ${errno}`);
  } catch (err) {
    t.ok(err instanceof MetalLbError, 'is a MetalLbError');
    t.equal((err as MetalLbError).code, ErrorCode.Native);
    t.equal((err as MetalLbError).details.errno, errno);
  }
}

t.test('interface lookup', async (t) => {
  const lo = interfaceInfo('lo');
  t.ok(lo.index > 0, 'lo has an index');
  t.ok(lo.isLoopback, 'lo is flagged loopback');
  t.equal(lo.mac.length, 6);
  t.ok(listInterfaces().some((i) => i.name === 'lo'), 'listInterfaces includes lo');
  throwsNative(t, () => interfaceInfo('nosuchif0'), 'ENODEV');
  throwsNative(t, () => interfaceInfo('x'.repeat(40)), 'EINVAL');
});

t.test('TCP socket with TTL and source address connects over loopback', async (t) => {
  const server = net.createServer((s) => s.end('hi'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const fd = createTcpSocketFd({ family: 4, localAddress: '127.0.0.1', ttl: 1 });
  setIpTtl(fd, 4, 255);
  const sock = new net.Socket({ fd, readable: true, writable: true });
  const data = await new Promise<string>((resolve, reject) => {
    let got = '';
    sock.on('data', (d) => (got += d.toString()));
    sock.on('end', () => resolve(got));
    sock.on('error', reject);
    sock.connect(port, '127.0.0.1');
  });
  t.equal(data, 'hi');
  sock.destroy();
});

t.test('MD5 keys: set, remove, and bad input is a clear error', async (t) => {
  const fd = createTcpSocketFd({ family: 6, md5: [{ peer: '::1', key: 'k1' }] });
  setTcpMd5(fd, '::1', '');
  throwsNative(t, () => setTcpMd5(fd, 'not-an-ip', 'x'), 'EINVAL');
  t.throws(() => createTcpSocketFd({ family: 4, md5: [{ peer: '10.77.0.1', key: 'x'.repeat(81) }] }), /80 bytes/);
  t.throws(() => createTcpSocketFd({ family: 4, localAddress: '::1' }), /IPv4/);
  new net.Socket({ fd }).destroy();
});

t.test('packet socket: open, membership, close is idempotent, calls after close fail cleanly', async (t) => {
  const sock = openPacketSocket({ ifname: 'lo', filter: 'all', onFrame: () => undefined });
  sock.addMembership(Buffer.from('3333ff000001', 'hex'));
  sock.dropMembership(Buffer.from('3333ff000001', 'hex'));
  sock.close();
  sock.close();
  throwsNative(t, () => sock.send(Buffer.alloc(60)), 'EBADF');
  t.throws(() => openPacketSocket({ ifname: 'lo', filter: 'bogus' as 'all', onFrame: () => undefined }), /filter/);
});

t.test('process exits promptly with a packet socket open', async (t) => {
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/fixtures/native/open-and-exit.ts'], { timeout: 20_000, encoding: 'utf8' });
  t.equal(r.status, 0, `exit status (stderr: ${r.stderr})`);
  t.match(r.stdout, /^open \d+/);
  t.ok(Date.now() - started < 15_000, 'exited without hanging');
});
