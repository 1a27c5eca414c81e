import t from 'tap';
import { BFD_PROFILE_DEFAULTS, sessionConfigFromProfile } from '../../src/bfd/profile';
import type { BfdProfile } from '../../src/config/types';

const empty: BfdProfile = {
  name: 'p',
  receiveIntervalMs: undefined,
  transmitIntervalMs: undefined,
  detectMultiplier: undefined,
  echoIntervalMs: undefined,
  echoMode: false,
  passiveMode: false,
  minimumTtl: undefined,
};
const peer = { peerAddress: '10.77.0.1', multihop: false };

t.test('an empty profile gets upstream/FRR defaults: 300 ms, 300 ms, x3, minimum TTL 254', async (t) => {
  t.same(sessionConfigFromProfile(empty, peer), {
    ok: true,
    config: { peerAddress: '10.77.0.1', multihop: false, params: { desiredMinTxMs: 300, requiredMinRxMs: 300, detectMult: 3, passive: false }, minimumTtl: 254 },
  });
  t.same(BFD_PROFILE_DEFAULTS, { receiveIntervalMs: 300, transmitIntervalMs: 300, detectMultiplier: 3, minimumTtl: 254 });
});

t.test('every field maps', async (t) => {
  const full: BfdProfile = { ...empty, receiveIntervalMs: 50, transmitIntervalMs: 60000, detectMultiplier: 255, passiveMode: true, minimumTtl: 1, echoIntervalMs: 10 };
  t.same(sessionConfigFromProfile(full, { peerAddress: 'fd00:77::1', localAddress: 'fd00:77::11', multihop: true }), {
    ok: true,
    config: {
      peerAddress: 'fd00:77::1',
      localAddress: 'fd00:77::11',
      multihop: true,
      params: { desiredMinTxMs: 60000, requiredMinRxMs: 50, detectMult: 255, passive: true },
      minimumTtl: 1,
    },
  });
});

t.test('echoMode is refused with a message naming the profile', async (t) => {
  const r = sessionConfigFromProfile({ ...empty, name: 'fast-echo', echoMode: true }, peer);
  t.equal(r.ok, false);
  if (!r.ok) t.match(r.reason, /^bfd profile fast-echo: echoMode is not supported by metallb-ts; set echoMode: false/);
});
