// ConfigChangeFilter: which watch events may change a parse. Status writes (same generation) and
// Node heartbeats (same labels) do not; spec changes, label changes, Secret writes and deletes do.
import t from 'tap';
import { ConfigChangeFilter } from '../../src/k8s/config-change';
import { CONFIG_SOURCES, type ConfigSource } from '../../src/k8s/config-sources';

const source = (field: ConfigSource['field']): ConfigSource => {
  const s = CONFIG_SOURCES.find((x) => x.field === field);
  if (!s) throw new Error(`no source ${field}`);
  return s;
};
const pools = source('pools');
const nodes = source('nodes');
const secrets = source('secrets');

t.test('a pool counts when its generation changes, not on status writes', async (t) => {
  const f = new ConfigChangeFilter();
  const pool = (generation: number, resourceVersion: string): Record<string, unknown> => ({ metadata: { name: 'a', namespace: 'ns', generation, resourceVersion } });
  t.equal(f.changed(pools, 'add', pool(1, '10')), true, 'a new pool');
  t.equal(f.changed(pools, 'update', pool(1, '11')), false, 'a status write (same generation)');
  t.equal(f.changed(pools, 'update', pool(2, '12')), true, 'a spec change');
  t.equal(f.changed(pools, 'delete', pool(2, '12')), true, 'a delete');
  t.equal(f.changed(pools, 'add', pool(1, '13')), true, 'the same name re-created');
});

t.test('a Node counts when its labels change, not on heartbeats', async (t) => {
  const f = new ConfigChangeFilter();
  const node = (labels: Record<string, string>, resourceVersion: string): Record<string, unknown> => ({ metadata: { name: 'n1', labels, resourceVersion } });
  t.equal(f.changed(nodes, 'add', node({ zone: 'a' }, '1')), true);
  t.equal(f.changed(nodes, 'update', node({ zone: 'a' }, '2')), false, 'a status heartbeat');
  t.equal(f.changed(nodes, 'update', node({ zone: 'b' }, '3')), true, 'a label change');
});

t.test('a Secret counts on every write; kinds and names do not collide', async (t) => {
  const f = new ConfigChangeFilter();
  const obj = (resourceVersion: string): Record<string, unknown> => ({ metadata: { name: 'x', namespace: 'ns', resourceVersion } });
  t.equal(f.changed(secrets, 'add', obj('1')), true);
  t.equal(f.changed(secrets, 'update', obj('2')), true, 'Secrets have no generation: any write counts');
  t.equal(f.changed(pools, 'add', { metadata: { name: 'x', namespace: 'ns', generation: 1 } }), true, 'a pool named like the Secret is its own object');
});
