/**
 * Default resources (docs/chart-reference.md §4, `controller.defaultResources` and
 * `speaker.defaultResources`): rendered while upstream's `resources` is empty, as in both upstream
 * values files; a non-empty `resources` replaces them whole; `defaultResources=null` renders none.
 */
import t from 'tap';
import { UPSTREAM_VALUES, at, container, find, render, type K8sObject } from '../fixtures/chart/helm';

const DEFAULTS = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } };

function resourcesOf(docs: readonly K8sObject[]): { controller: unknown; speaker: unknown } {
  return {
    controller: at(container(find(docs, 'Deployment', 'metallb-controller'), 'controller'), 'resources'),
    speaker: at(container(find(docs, 'DaemonSet', 'metallb-speaker'), 'speaker'), 'resources'),
  };
}

t.test('defaults render requests and a memory limit for both', async (t) => {
  t.same(resourcesOf(await render()), { controller: DEFAULTS, speaker: DEFAULTS });
});

t.test('an upstream values file (resources: {}) gets the defaults too', async (t) => {
  t.same(resourcesOf(await render({ valuesFiles: [UPSTREAM_VALUES['0.16.1']] })), { controller: DEFAULTS, speaker: DEFAULTS });
});

t.test("a user's resources replace the defaults whole", async (t) => {
  const r = resourcesOf(await render({ set: ['controller.resources.limits.memory=1Gi', 'speaker.resources.requests.cpu=50m'] }));
  t.same(r, { controller: { limits: { memory: '1Gi' } }, speaker: { requests: { cpu: '50m' } } });
});

t.test('defaultResources=null renders no resources', async (t) => {
  const r = resourcesOf(await render({ set: ['controller.defaultResources=null', 'speaker.defaultResources=null'] }));
  t.same(r, { controller: undefined, speaker: undefined });
});
