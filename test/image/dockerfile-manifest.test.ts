/**
 * The product image built without a container engine (scripts/image-build.ts, from the manifest in
 * test/harness/image/manifest.ts) must be the Dockerfile's image: the same base, the same files
 * copied from the same stages to the same places, the same environment, user, working directory,
 * entrypoint and command. This reads the Dockerfile and compares, so editing one without the other
 * fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from '../harness/tools';
import { logicalLines, parseCopy, parseEnv, parseStages, stageRecipe } from '../harness/image/dockerfile';
import { BASE_IMAGE, NODE_PACKAGE, PRODUCT_IMAGE } from '../harness/image/manifest';
import { resolveCopy } from '../harness/image/rootfs';

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');

t.test('the reader: continuations, comments, stages and instruction forms', async (t) => {
  const text = '# syntax=docker/dockerfile:1\nARG X=1\nFROM a:1 AS one\nRUN apt-get update \\\n # note\n && true\nFROM --platform=$P b AS two\nCOPY --from=one --chown=1:1 /x /y ./\nENV A=1 B="two words"\nENV C 3\nUSER 7\n';
  t.same(logicalLines(text), ['ARG X=1', 'FROM a:1 AS one', 'RUN apt-get update && true', 'FROM --platform=$P b AS two', 'COPY --from=one --chown=1:1 /x /y ./', 'ENV A=1 B="two words"', 'ENV C 3', 'USER 7']);
  t.same(parseStages(text).map((s) => [s.name, s.base, s.instructions.length]), [['one', 'a:1', 1], ['two', 'b', 4]]);
  t.same(parseCopy('--from=one --chown=1:1 /x /y ./'), { from: 'one', sources: ['/x', '/y'], dest: './' });
  t.same(parseCopy('["a b", "c/"]'), { sources: ['a b'], dest: 'c/' });
  t.same(parseEnv('A=1 B="two words"'), { A: '1', B: 'two words' });
  t.same(parseEnv('C 3'), { C: '3' });
  t.same(stageRecipe(text, 'two'), { base: 'b', env: { A: '1', B: 'two words', C: '3' }, workdir: '/', user: '7', copies: [{ from: 'one', sources: ['/x', '/y'], dest: './' }], runs: [] });
});

t.test('the runtime stage is the manifest', async (t) => {
  const runtime = stageRecipe(dockerfile, 'runtime');
  const { config, copies } = PRODUCT_IMAGE.runtime;
  t.equal(runtime.base, BASE_IMAGE.dockerfileFrom, 'same base image');
  t.same(runtime.copies, copies, 'same COPY lines, in order, from the same stages');
  t.equal(runtime.user, config.user, 'USER');
  t.equal(runtime.workdir, config.workdir, 'WORKDIR');
  t.same(runtime.entrypoint, config.entrypoint, 'ENTRYPOINT');
  t.same(runtime.cmd, config.cmd, 'CMD');
  t.same(runtime.runs, [], 'the runtime stage runs nothing (the manifest has no step for it)');
  const { PATH: _path, NODE_VERSION: _node, ...own } = config.env;
  t.same(runtime.env, own, 'ENV: the runtime stage sets exactly what the manifest adds to the base');
});

t.test('the deps stage is the manifest', async (t) => {
  const deps = stageRecipe(dockerfile, 'deps');
  t.equal(deps.base, BASE_IMAGE.dockerfileFrom);
  t.equal(deps.workdir, PRODUCT_IMAGE.deps.workdir);
  t.equal(deps.workdir, PRODUCT_IMAGE.stageRoots.deps, 'COPY --from=deps paths are relative to its WORKDIR');
  t.same(deps.copies, PRODUCT_IMAGE.deps.copies);
  t.equal(deps.runs.length, 1);
  t.ok(deps.runs[0]?.startsWith(`${PRODUCT_IMAGE.deps.install.join(' ')} `), `RUN starts with ${PRODUCT_IMAGE.deps.install.join(' ')}`);
  t.equal(stageRecipe(dockerfile, 'build').workdir, PRODUCT_IMAGE.stageRoots.build, 'COPY --from=build paths are relative to its WORKDIR');
});

t.test('the base: Debian and Node versions', async (t) => {
  const nodeArg = logicalLines(dockerfile).find((l) => l.startsWith('ARG NODE_VERSION='));
  t.equal(nodeArg, `ARG NODE_VERSION=${NODE_PACKAGE.version.split('.')[0]}`, 'the Node major the Dockerfile pins');
  t.match(BASE_IMAGE.dockerfileFrom, `-${BASE_IMAGE.debianSuite}-slim`, 'the Debian suite of the base image');
  t.equal(BASE_IMAGE.env.NODE_VERSION, NODE_PACKAGE.version);
});

t.test('COPY steps land where the Dockerfile puts them', async (t) => {
  const roots = PRODUCT_IMAGE.stageRoots;
  const local = { context: '/repo', build: '/repo', deps: '/deps/app' };
  const resolved = PRODUCT_IMAGE.runtime.copies.flatMap((c) => resolveCopy(c, '/app', roots, local));
  t.same(resolved, [
    { from: '/deps/app/node_modules', to: '/app/node_modules' },
    { from: '/repo/package.json', to: '/app/package.json' },
    { from: '/repo/dist/src', to: '/app/dist/src' },
    { from: '/repo/charts/metallb-ts/files/crds', to: '/app/charts/metallb-ts/files/crds' },
    { from: '/repo/native/build/Release/metallb_native.node', to: '/app/native/build/Release/metallb_native.node' },
  ]);
  t.throws(() => resolveCopy({ from: 'build', sources: ['/etc/passwd'], dest: '/x' }, '/app', roots, local), /outside stage build/);
  t.throws(() => resolveCopy({ from: 'other', sources: ['/x'], dest: '/x' }, '/app', roots, local), /no local directory/);
});
