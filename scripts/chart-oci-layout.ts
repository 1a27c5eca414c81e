/**
 * `node --import tsx scripts/chart-oci-layout.ts CHART_DIR CHART_TGZ LAYOUT_DIR`: write the
 * packaged chart into an OCI image layout directory (image-spec `image-layout.md`) as the very
 * artifact `helm push` uploads, so `oras cp --from-oci-layout LAYOUT_DIR:<version> <registry ref>`
 * (or any OCI-layout-aware copier) publishes it without helm. Called by scripts/chart-package.sh.
 *
 * The artifact matches helm's `pkg/registry/client.go` (`Push`, `tagManifest`) and
 * `pkg/registry/chart.go` (`generateOCIAnnotations`) in helm/helm: config = the chart metadata as
 * Go's encoding/json marshals it, one layer = the .tgz, manifest annotations from the metadata.
 * Existing manifests of other versions stay listed in index.json, as index.yaml keeps them.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** Media types helm reserves for charts (`pkg/registry/constants.go` in helm/helm). */
export const HelmMediaType = {
  Config: 'application/vnd.cncf.helm.config.v1+json',
  ChartLayer: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
} as const;

/** OCI image-spec media types and annotation keys used here. */
export const OciMediaType = {
  Manifest: 'application/vnd.oci.image.manifest.v1+json',
  Index: 'application/vnd.oci.image.index.v1+json',
} as const;

const RefNameAnnotation = 'org.opencontainers.image.ref.name';

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** The layout's index.json. */
export interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

/** What buildChartArtifact returns: blobs by digest, and the manifest's descriptor for index.json. */
export interface ChartArtifact {
  blobs: Map<string, Buffer>;
  manifest: Descriptor;
}

/** `sha256:<hex>` of a blob. */
export function sha256Digest(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function descriptor(mediaType: string, data: Buffer): Descriptor {
  return { mediaType, digest: sha256Digest(data), size: data.length };
}

/** JSON as Go's encoding/json writes it: compact, with <, >, & and U+2028/9 escaped. */
function goJson(value: unknown): Buffer {
  const text = JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return Buffer.from(text, 'utf8');
}

/** Sort an object's keys: Go marshals map[string]string that way. */
function sortedMap(m: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// chart.Metadata's fields in declaration order (`pkg/chart/v2/metadata.go`), all omitempty.
const METADATA_FIELDS = [
  'name', 'home', 'sources', 'version', 'description', 'keywords', 'maintainers', 'icon', 'apiVersion',
  'condition', 'tags', 'appVersion', 'deprecated', 'annotations', 'kubeVersion', 'dependencies', 'type',
] as const;

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || v === false || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);
}

/** The config blob: Chart.yaml's metadata in helm's field order. */
export function chartConfig(meta: Record<string, unknown>): Buffer {
  const out: Record<string, unknown> = {};
  for (const f of METADATA_FIELDS) {
    const v = meta[f];
    if (isEmpty(v)) continue;
    out[f] = f === 'annotations' ? sortedMap(v as Record<string, string>) : v;
  }
  return goJson(out);
}

/** Manifest annotations as helm's generateOCIAnnotations computes them. */
export function chartAnnotations(meta: Record<string, unknown>, created: string): Record<string, string> {
  const str = (k: string): string => (typeof meta[k] === 'string' ? (meta[k] as string) : '');
  const out: Record<string, string> = {};
  const add = (k: string, v: string): void => {
    if (v.trim() !== '') out[k] = v;
  };
  add('org.opencontainers.image.description', str('description'));
  add('org.opencontainers.image.title', str('name'));
  add('org.opencontainers.image.version', str('version'));
  add('org.opencontainers.image.url', str('home'));
  add('org.opencontainers.image.created', created);
  const sources = meta['sources'];
  if (Array.isArray(sources) && typeof sources[0] === 'string') add('org.opencontainers.image.source', sources[0]);
  const maintainers = meta['maintainers'];
  if (Array.isArray(maintainers) && maintainers.length > 0) {
    const authors = (maintainers as Array<{ name?: string; email?: string }>).map((m) => `${m.name ?? ''}${m.email ? ` (${m.email})` : ''}`);
    add('org.opencontainers.image.authors', authors.join(', '));
  }
  // The chart's own annotations, except the two helm will not let a chart override.
  const chartOwn = (meta['annotations'] ?? {}) as Record<string, string>;
  for (const [k, v] of Object.entries(chartOwn)) {
    if (k !== 'org.opencontainers.image.version' && k !== 'org.opencontainers.image.title') out[k] = v;
  }
  return sortedMap(out);
}

/** The blobs and manifest descriptor of one packaged chart. `created` is RFC 3339. */
export function buildChartArtifact(meta: Record<string, unknown>, tgz: Buffer, created: string): ChartArtifact {
  const config = chartConfig(meta);
  const configDesc = descriptor(HelmMediaType.Config, config);
  const layerDesc = descriptor(HelmMediaType.ChartLayer, tgz);
  // helm's ocispec.Manifest leaves mediaType empty; image-spec says it SHOULD be set, and
  // registries that check it (or copy tools) then need no guessing.
  const manifest = goJson({ schemaVersion: 2, mediaType: OciMediaType.Manifest, config: configDesc, layers: [layerDesc], annotations: chartAnnotations(meta, created) });
  const manifestDesc = descriptor(OciMediaType.Manifest, manifest);
  const blobs = new Map<string, Buffer>([
    [configDesc.digest, config],
    [layerDesc.digest, tgz],
    [manifestDesc.digest, manifest],
  ]);
  const version = typeof meta['version'] === 'string' ? meta['version'] : '';
  return { blobs, manifest: { ...manifestDesc, annotations: { [RefNameAnnotation]: version } } };
}

/** index.json with `entry` added, replacing any manifest tagged with the same ref name. */
export function mergeIndex(previous: OciIndex | undefined, entry: Descriptor): OciIndex {
  const ref = entry.annotations?.[RefNameAnnotation];
  const kept = (previous?.manifests ?? []).filter((m) => m.annotations?.[RefNameAnnotation] !== ref);
  return { schemaVersion: 2, mediaType: OciMediaType.Index, manifests: [...kept, entry] };
}

/** The creation time: SOURCE_DATE_EPOCH (reproducible builds) or now. */
function createdAt(env: NodeJS.ProcessEnv, now: Date): string {
  const epoch = env['SOURCE_DATE_EPOCH'];
  const when = epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : now;
  return when.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function main(argv: string[]): number {
  const [chartDir, tgzPath, layoutDir] = argv;
  if (!chartDir || !tgzPath || !layoutDir) {
    process.stderr.write('usage: chart-oci-layout CHART_DIR CHART_TGZ LAYOUT_DIR\n');
    return 2;
  }
  const meta = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  const artifact = buildChartArtifact(meta, readFileSync(tgzPath), createdAt(process.env, new Date()));
  const blobDir = join(layoutDir, 'blobs', 'sha256');
  mkdirSync(blobDir, { recursive: true });
  for (const [digest, data] of artifact.blobs) writeFileSync(join(blobDir, digest.slice('sha256:'.length)), data);
  writeFileSync(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const indexPath = join(layoutDir, 'index.json');
  const previous = existsSync(indexPath) ? (JSON.parse(readFileSync(indexPath, 'utf8')) as OciIndex) : undefined;
  writeFileSync(indexPath, `${JSON.stringify(mergeIndex(previous, artifact.manifest), null, 2)}\n`);
  process.stderr.write(`OCI layout: ${layoutDir} (${String(meta['name'])}:${String(meta['version'])} ${artifact.manifest.digest})\n`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
