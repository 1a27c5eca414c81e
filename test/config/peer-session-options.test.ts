// Session options of upstream's FRR mode, from its samples: connectTime and
// enableGracefulRestart.
import t from 'tap';
import { parseConfig } from '../../src/config/parse';
import { configOf } from '../fixtures/manifests/objects';
import { upstreamSample } from '../fixtures/config/load';

t.test("configsamples/bgppeer_with_session_options.yaml: connectTime 120s", async (t) => {
  const r = parseConfig(upstreamSample('bgppeer_with_session_options.yaml'));
  t.same(r.warnings, []);
  t.match(configOf(r).peers[0], { name: 'peer', connectTimeSec: 120 });
});

t.test('enableGracefulRestart (website sample)', async (t) => {
  t.match(configOf(parseConfig(upstreamSample('bgppeer_with_graceful_restart.yaml'))).peers[0], { name: 'example', enableGracefulRestart: true });
});
