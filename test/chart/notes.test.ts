/**
 * NOTES.txt tells the user which of their upstream values are accepted but ignored, and which
 * keys nobody knows (typos): helm install --dry-run=client prints the rendered notes.
 */
import t from 'tap';
import { CHART_DIR, UPSTREAM_VALUES, helm, valueArgs, type TemplateOptions } from '../fixtures/chart/helm';

async function notes(opts: TemplateOptions = {}): Promise<string> {
  const res = await helm(['install', 'metallb', CHART_DIR, '--namespace', 'metallb-system', '--dry-run=client', ...valueArgs(opts)]);
  if (res.code !== 0) throw new Error(`helm install --dry-run failed: ${res.stderr}`);
  const at = res.stdout.indexOf('NOTES:');
  if (at < 0) throw new Error(`no NOTES in output:\n${res.stdout.slice(0, 400)}`);
  return res.stdout.slice(at);
}

/** The keys listed under a heading, in order. */
function listed(text: string, heading: RegExp): string[] {
  const m = heading.exec(text);
  if (!m) return [];
  const rest = text.slice(m.index + m[0].length).split('\n').slice(1);
  const out: string[] = [];
  for (const line of rest) {
    const item = /^ {2}- ([^:\s]+)/.exec(line);
    if (!item) break;
    out.push(item[1] as string);
  }
  return out;
}

const IGNORED = /These upstream MetalLB values were accepted and are ignored:/;
const UNKNOWN = /These values are not known to metallb-ts or upstream MetalLB/;

t.test('defaults: no ignored or unknown keys', async (t) => {
  const text = await notes();
  t.match(text, 'Deployment metallb-controller (1 replica)');
  t.match(text, 'DaemonSet metallb-speaker');
  t.notMatch(text, IGNORED);
  t.notMatch(text, UNKNOWN);
});

t.test('upstream 0.16.1 values: every FRR, frr-k8s, memberlist and webhook key is listed', async (t) => {
  const text = await notes({ valuesFiles: [UPSTREAM_VALUES['0.16.1']] });
  t.same(listed(text, IGNORED), [
    'controller.webhookMode',
    'speaker.memberlist',
    'speaker.startupProbe',
    'speaker.bgpDebounceTimeout',
    'speaker.frr',
    'speaker.reloader',
    'speaker.frrMetrics',
    'speaker.initContainers',
    'frrk8s',
    'frr-k8s',
    'crds.validationFailurePolicy',
    'tls.cipherSuites',
    'tls.curvePreferences',
    'controller.image',
    'speaker.image',
  ]);
  t.match(text, 'controller.image: quay.io/metallb/controller is upstream MetalLB\'s image; ghcr.io/metallb-ts/metallb-ts is used instead');
  t.notMatch(text, UNKNOWN, 'every key of the upstream file is known');
});

t.test('FRR backends asked for: the notes say BGP is native and which FRR features it serves', async (t) => {
  const upstream = await notes({ valuesFiles: [UPSTREAM_VALUES['0.16.1']] });
  t.match(upstream, 'BGP without FRR: you set frrk8s.enabled', "upstream 0.16.1's default frrk8s.enabled=true");
  for (const feature of ['BFD (BFDProfile)', 'dynamicASN', 'localASN', 'dualStackAddressFamily', 'per-peer isolation']) t.match(upstream, feature, feature);
  t.notMatch(upstream, 'frrk8s.external:', 'not external');
  const frr = await notes({ set: ['speaker.frr.enabled=true'] });
  t.match(frr, 'BGP without FRR: you set speaker.frr.enabled');
  const external = await notes({ set: ['frrk8s.enabled=true', 'frrk8s.external=true', 'frrk8s.namespace=frr-k8s-system'] });
  t.match(external, 'frrk8s.external: the frr-k8s in namespace frr-k8s-system is not used');
  const off = await notes({ set: ['frrk8s.enabled=false', 'speaker.frr.enabled=false'] });
  t.notMatch(off, 'BGP without FRR', 'neither backend asked for: nothing said');
  t.notMatch(await notes(), 'BGP without FRR', 'defaults: nothing said');
});

t.test('a readinessProbe.port other than the livenessProbe.port is listed: one port serves both', async (t) => {
  const text = await notes({ set: ['speaker.readinessProbe.port=1234'] });
  t.match(text, 'speaker.readinessProbe.port: the process serves /healthz and /readyz on one port, speaker.livenessProbe.port (17472)');
});

t.test('upstream 0.13.7 values: its own extra keys (kube-rbac-proxy) are listed too', async (t) => {
  const text = await notes({ valuesFiles: [UPSTREAM_VALUES['0.13.7']] });
  const keys = listed(text, IGNORED);
  for (const k of ['prometheus.rbacProxy', 'speaker.memberlist', 'speaker.frr', 'crds.validationFailurePolicy']) t.ok(keys.includes(k), `${k} listed`);
  t.notOk(keys.includes('controller.webhookMode'), '0.13.7 does not set webhookMode');
  t.notMatch(text, UNKNOWN);
});

t.test('misspelt keys are pointed out', async (t) => {
  const text = await notes({ set: ['speakr.enabled=true', 'controller.replica=2', 'prometheus.scrapeAnnotation=true'] });
  t.same(listed(text, UNKNOWN).sort(), ['controller.replica', 'prometheus.scrapeAnnotation', 'speakr']);
});

t.test('HA controller is described', async (t) => {
  t.match(await notes({ set: ['controller.replicas=2'] }), 'Deployment metallb-controller (2 replicas, Lease leader election)');
});

t.test('the default image repository is not published: the notes say to build and push it', async (t) => {
  const warning = /The image ghcr\.io\/metallb-ts\/metallb-ts:\S+ is not published to any registry yet: build and push it yourself/;
  t.match(await notes(), warning, 'default repository');
  t.match(await notes({ valuesFiles: [UPSTREAM_VALUES['0.16.1']] }), warning, "upstream values name upstream's images, so the default is used");
  t.notMatch(await notes({ set: ['image.repository=registry.example.com/metallb-ts', 'image.tag=0.1.0'] }), /not published/, 'a repository of your own');
});
