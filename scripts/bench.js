#!/usr/bin/env node
// `npm run bench -- <name> [args]`: runs bench/<name>.ts with tsx; the benchmark prints one JSON
// object as the last line of stdout.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const [name, ...rest] = process.argv.slice(2);
const file = name && join(__dirname, '..', 'bench', `${name}.ts`);
if (!file || !existsSync(file)) {
  process.stderr.write(`usage: npm run bench -- <name>; no bench/${name ?? ''}.ts\n`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);
