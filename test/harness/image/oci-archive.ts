/**
 * A built image (./rootfs.ts) as an OCI image-layout tarball (image-spec `image-layout.md`): one
 * uncompressed layer holding the whole root filesystem, the image config from image.json, a
 * manifest, and index.json naming it, which `ctr images import` takes as it is, so a node's
 * containerd gets our images with no registry involved.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageConfig } from './manifest';
import type { BuiltImage } from './rootfs';

function run(cmd: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], (err, _stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr}`)) : resolve()));
  });
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('data', (d) => hash.update(d)).on('error', reject).on('end', () => resolve(hash.digest('hex')));
  });
}

/** The OCI image config for a root filesystem whose single layer has `diffId`. Pure. */
export function ociImageConfig(config: ImageConfig, diffId: string): Record<string, unknown> {
  return {
    architecture: 'amd64',
    os: 'linux',
    config: {
      Env: Object.entries(config.env).map(([k, v]) => `${k}=${v}`),
      Entrypoint: config.entrypoint,
      ...(config.cmd.length > 0 ? { Cmd: config.cmd } : {}),
      User: config.user,
      WorkingDir: config.workdir,
    },
    rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
  };
}

/** Write `image` as an OCI image-layout tarball at `out`, named `ref` (e.g. docker.io/library/x:tag). */
export async function writeOciArchive(image: BuiltImage, ref: string, out: string): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'mlb-oci-'));
  try {
    const blobs = join(work, 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    const putJson = (value: unknown): { digest: string; size: number } => {
      const bytes = Buffer.from(JSON.stringify(value));
      const hex = createHash('sha256').update(bytes).digest('hex');
      writeFileSync(join(blobs, hex), bytes);
      return { digest: `sha256:${hex}`, size: bytes.length };
    };
    const layer = join(work, 'layer.tar');
    await run('tar', ['--numeric-owner', '-C', image.rootfs, '-cf', layer, '.']);
    const layerHex = await sha256File(layer);
    const layerSize = statSync(layer).size;
    renameSync(layer, join(blobs, layerHex));
    const config = putJson(ociImageConfig(image.config, layerHex));
    const manifest = putJson({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerHex}`, size: layerSize }],
    });
    const tag = ref.slice(ref.lastIndexOf(':') + 1);
    writeFileSync(join(work, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...manifest,
        annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': tag },
      }],
    }));
    writeFileSync(join(work, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await run('tar', ['-C', work, '-cf', out, 'oci-layout', 'index.json', 'blobs']);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
