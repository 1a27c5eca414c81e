/**
 * Sorting decoded manifest documents into `ConfigResources` (pure; the CLI does the file I/O).
 * Picks metallb.io objects plus the Secrets, Namespaces and Nodes they may refer to, remembers
 * where each came from, and flags what upstream's apiserver would refuse or warn about.
 */
import type { Admission } from './crd-admission';
import { asObject, readMeta, show } from './issues';
import type { ConfigResources } from './parse';

/** Where an object was read from. */
export interface Origin {
  readonly file: string;
  readonly line: number;
  /** 1-based position of the document in its file (every `---` document counts), when known. */
  readonly document?: number;
}

/** A note about a document that is not a config error of an object (unknown kind, ...). */
export interface ManifestNote {
  readonly origin: Origin;
  readonly severity: 'error' | 'warning';
  /** `<Kind>/<name>` of the document, or its position when it is not an object. */
  readonly subject: string;
  readonly message: string;
}

/** The resources collected from manifests, with an index back to their files. */
export interface CollectedManifests {
  readonly resources: Required<ConfigResources>;
  /** Key `<Kind>/<namespace>/<name>` → every place that object was defined. */
  readonly origins: ReadonlyMap<string, readonly Origin[]>;
  readonly notes: readonly ManifestNote[];
  /** Number of documents that were metallb.io objects. */
  readonly metallbObjects: number;
}

type Bucket = keyof ConfigResources;

const METALLB_KINDS: Readonly<Record<string, { bucket: Bucket | undefined; versions: readonly string[] }>> = {
  IPAddressPool: { bucket: 'pools', versions: ['v1beta1'] },
  L2Advertisement: { bucket: 'l2Advertisements', versions: ['v1beta1'] },
  BGPAdvertisement: { bucket: 'bgpAdvertisements', versions: ['v1beta1'] },
  BGPPeer: { bucket: 'peers', versions: ['v1beta1', 'v1beta2'] },
  Community: { bucket: 'communities', versions: ['v1beta1'] },
  BFDProfile: { bucket: 'bfdProfiles', versions: ['v1beta1'] },
  // Status kinds are written by MetalLB itself; they carry no configuration.
  ServiceL2Status: { bucket: undefined, versions: ['v1beta1'] },
  ServiceBGPStatus: { bucket: undefined, versions: ['v1beta1'] },
  BGPSessionState: { bucket: undefined, versions: ['v1beta1'] },
  ConfigurationState: { bucket: undefined, versions: ['v1beta1'] },
};

const CORE_KINDS: Readonly<Record<string, Bucket>> = { Secret: 'secrets', Namespace: 'namespaces', Node: 'nodes' };

/** `document 2 (line 7)`, or `line 7` when the caller did not number its documents. */
function placeOf(origin: Origin): string {
  return origin.document === undefined ? `line ${origin.line}` : `document ${origin.document} (line ${origin.line})`;
}

/**
 * True when a metallb.io kind carries an apiVersion that cannot be metallb.io's: missing, not a
 * string, without a group (`v1`, or `metallb.io` with no version) or a misspelt metallb group.
 * kubectl rejects all of these, so skipping them would let `validate` pass a pool it never read.
 * Another group (Calico's `projectcalico.org/v3` BGPPeer) is another product's object: ignored.
 */
function isMisversionedMetallbKind(kind: string, apiVersion: unknown): boolean {
  if (!Object.hasOwn(METALLB_KINDS, kind)) return false;
  if (typeof apiVersion !== 'string' || !apiVersion.includes('/')) return true;
  const group = apiVersion.slice(0, apiVersion.indexOf('/'));
  return group !== 'metallb.io' && group.toLowerCase().includes('metallb');
}

/** Key used in `origins` for an object (matches ConfigError kind/namespace/name). */
export function originKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/**
 * Collect decoded documents. `List` objects (kubectl output) are flattened. When `namespace`
 * is given, namespaced objects elsewhere are skipped with a warning, as upstream only watches
 * its own namespace; objects without a namespace are assumed to be applied into it. With
 * `admission`, every metallb.io object is also checked as the apiserver would check it on
 * create (schema, unknown fields, CEL rules); each refusal is an error note.
 */
export function collectManifests(
  docs: readonly { readonly value: unknown; readonly origin: Origin }[],
  namespace?: string,
  admission?: Admission,
): CollectedManifests {
  const resources = {
    pools: [] as unknown[],
    l2Advertisements: [] as unknown[],
    bgpAdvertisements: [] as unknown[],
    peers: [] as unknown[],
    communities: [] as unknown[],
    bfdProfiles: [] as unknown[],
    secrets: [] as unknown[],
    nodes: [] as unknown[],
    namespaces: [] as unknown[],
  };
  const origins = new Map<string, Origin[]>();
  const notes: ManifestNote[] = [];
  let metallbObjects = 0;
  const pending: Array<{ readonly value: unknown; readonly origin: Origin }> = [];
  const seenLists = new Set<object>();

  const add = (value: unknown, origin: Origin): void => {
    if (Array.isArray(value)) {
      // kubectl refuses a sequence where an object belongs; dropping it silently made `validate`
      // report "valid" for pools it never read. Scalars and nulls (empty documents) stay ignored.
      notes.push({
        origin,
        severity: 'error',
        subject: placeOf(origin),
        message: `a sequence is not a Kubernetes object (use one document per object, or kind: List): ${show(value)}`,
      });
      return;
    }
    const obj = asObject(value);
    if (!obj) return;
    const kind = typeof obj['kind'] === 'string' ? obj['kind'] : '';
    const apiVersion = typeof obj['apiVersion'] === 'string' ? obj['apiVersion'] : '';
    if (kind === 'List' && Array.isArray(obj['items'])) {
      // Queued, not recursed into: a List nested thousands deep (or, from another caller, one
      // that contains itself) must not overflow the stack. Reversed so items keep their order.
      if (seenLists.has(obj)) return;
      seenLists.add(obj);
      const items = obj['items'] as unknown[];
      for (let i = items.length - 1; i >= 0; i--) pending.push({ value: items[i], origin });
      return;
    }
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
    const meta = readMeta(obj);
    const subject = `${kind}/${meta.name}`;
    let bucket: Bucket | undefined;
    if (isMisversionedMetallbKind(kind, obj['apiVersion'])) {
      const raw = obj['apiVersion'];
      const problem = raw === undefined ? 'apiVersion is missing' : `apiVersion ${show(raw)} is not a metallb.io version`;
      const served = METALLB_KINDS[kind]?.versions.at(-1) ?? 'v1beta1';
      notes.push({ origin, severity: 'error', subject, message: `${placeOf(origin)}: ${problem} (use metallb.io/${served})` });
      return;
    }
    if (group === 'metallb.io') {
      metallbObjects++;
      const known = Object.hasOwn(METALLB_KINDS, kind) ? METALLB_KINDS[kind] : undefined;
      if (!known) {
        notes.push({ origin, severity: 'error', subject, message: `unknown metallb.io kind "${kind}" (no such CRD)` });
        return;
      }
      if (!known.versions.includes(version ?? '')) {
        notes.push({ origin, severity: 'error', subject, message: `apiVersion "${apiVersion}" is not served (use metallb.io/${known.versions.at(-1) ?? 'v1beta1'})` });
        return;
      }
      if (kind === 'BGPPeer' && version === 'v1beta1') {
        notes.push({ origin, severity: 'warning', subject, message: `metallb.io/v1beta1 BGPPeer is deprecated, please use v1beta2` });
      }
      // Checked even when it is in another namespace: kubectl apply would still be refused.
      for (const issue of admission?.check(obj) ?? []) {
        notes.push({ origin, severity: 'error', subject, message: issue.path === '' ? issue.message : `${issue.path}: ${issue.message}` });
      }
      bucket = known.bucket;
    } else if (group === '' && version === 'v1' && Object.hasOwn(CORE_KINDS, kind)) {
      bucket = CORE_KINDS[kind];
    } else if (group === '' && version === 'v1' && kind === 'ConfigMap' && typeof asObject(obj['data'])?.['config'] === 'string') {
      const text = asObject(obj['data'])?.['config'] as string;
      if (/address-pools|peers:/.test(text)) {
        notes.push({
          origin,
          severity: 'warning',
          subject,
          message: `looks like a pre-0.13 MetalLB ConfigMap configuration, which MetalLB (and metallb-ts) no longer reads; convert it to metallb.io resources`,
        });
      }
    }
    if (bucket === undefined) return;
    const namespaced = bucket !== 'nodes' && bucket !== 'namespaces';
    if (namespaced && namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
      notes.push({ origin, severity: 'warning', subject, message: `ignored, it is in namespace "${meta.namespace}" and MetalLB only reads "${namespace}"` });
      return;
    }
    resources[bucket].push(obj);
    const key = originKey(kind, meta.namespace, meta.name);
    origins.set(key, [...(origins.get(key) ?? []), origin]);
  };

  for (const d of docs) {
    pending.push(d);
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) add(next.value, next.origin);
  }
  return { resources, origins, notes, metallbObjects };
}
