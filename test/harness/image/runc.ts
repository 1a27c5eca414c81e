/**
 * Run a built image (./rootfs.ts) under runc directly, with a spec from ./oci.ts: no container
 * engine, no registry. Each run gets its own bundle directory and runc state root, so tests in
 * parallel never share a container id or runc's bookkeeping.
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../lab-exec';
import type { BuiltImage } from './rootfs';
import { runtimeSpec, type ContainerRequest } from './oci';

/** How a container ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A container started in the foreground of its runc process. */
export interface Container {
  id: string;
  spec: Record<string, unknown>;
  exited: Promise<Exit>;
  /** The container's init PID on this machine, once runc reports it running. */
  pid(): Promise<number>;
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Kill (if still running) and delete the container, then remove its bundle and state. */
  remove(): Promise<void>;
}

function runc(stateRoot: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('runc', ['--root', stateRoot, ...args], (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
  });
}

/** The primary group of `uid` in the image's /etc/passwd (undefined when absent). */
export function passwdGid(rootfs: string, uid: number): number | undefined {
  let passwd: string;
  try {
    passwd = readFileSync(join(rootfs, 'etc', 'passwd'), 'utf8');
  } catch {
    return undefined;
  }
  const line = passwd.split('\n').find((l) => l.split(':')[2] === String(uid));
  const gid = line?.split(':')[3];
  return gid === undefined ? undefined : Number(gid);
}

/** Start `image` as a container shaped by `req` (securityContext, command, env, network). */
export function startContainer(image: BuiltImage, req: Omit<ContainerRequest, 'image'> = {}): Container {
  const work = mkdtempSync(join(tmpdir(), 'mlb-runc-'));
  const stateRoot = join(work, 'state');
  const id = `mlb-${process.pid}-${work.slice(-6).toLowerCase()}`;
  const spec = runtimeSpec({ passwdGid: (uid) => passwdGid(image.rootfs, uid), ...req, image: image.config }, image.rootfs);
  writeFileSync(join(work, 'config.json'), JSON.stringify(spec, null, 2));
  const child = spawn('runc', ['--root', stateRoot, 'run', '--bundle', work, id], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  let done = false;
  void exited.then(() => (done = true));
  const state = async (): Promise<{ status: string; pid: number } | undefined> => {
    const r = await runc(stateRoot, ['state', id]);
    return r.code === 0 ? (JSON.parse(r.stdout) as { status: string; pid: number }) : undefined;
  };
  return {
    id,
    spec,
    exited,
    pid: () =>
      waitFor(`container ${id} running`, async () => {
        if (done) throw new Error(`container ${id} exited: ${stderr}`);
        const s = await state();
        return s?.status === 'running' ? s.pid : undefined;
      }, { timeoutMs: 30_000 }),
    kill: async (signal) => {
      const r = await runc(stateRoot, ['kill', id, signal]);
      if (r.code !== 0 && !done) throw new Error(`runc kill ${id} ${signal}: ${r.stderr}`);
    },
    remove: async () => {
      if (!done) await runc(stateRoot, ['kill', id, 'KILL']);
      await exited;
      await runc(stateRoot, ['delete', '--force', id]);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Run `image` to completion (a one-shot command) and return its exit and output. */
export async function runContainer(image: BuiltImage, req: Omit<ContainerRequest, 'image'> = {}): Promise<Exit> {
  const c = startContainer(image, req);
  try {
    return await c.exited;
  } finally {
    await c.remove();
  }
}
