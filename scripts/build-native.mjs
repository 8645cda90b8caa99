#!/usr/bin/env node
// Build the libtorch addon (native/ -> native/build/Release/torch_addon.node).
// Uses Debian's libtorch-dev by default, or the libtorch at $LIBTORCH (include/ + lib/, rpath set).
// Without libtorch this prints one line and exits 0: the library then falls back to wasm/cpu.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const libtorch = process.env.LIBTORCH;
const header = libtorch
  ? path.join(libtorch, 'include', 'ATen', 'ATen.h')
  : '/usr/include/ATen/ATen.h';
if (!existsSync(header)) {
  console.log(
    libtorch
      ? `torch addon not built: ${header} not found (LIBTORCH must point at an unpacked libtorch).`
      : 'torch addon not built: libtorch missing; install it with `apt-get install -y libtorch-dev libopenblas0-openmp` (or set LIBTORCH=/path/to/libtorch).',
  );
  process.exit(0);
}
const require = createRequire(import.meta.url);
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  console.log('torch addon not built: node-gyp missing; run `npm install` first.');
  process.exit(0);
}
const args = [gyp, 'rebuild', '-j', '2'];
if (existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
const r = spawnSync(process.execPath, args, { cwd: path.join(root, 'native'), stdio: 'inherit', env: process.env });
if (r.status !== 0) {
  console.error('torch addon build failed (the library will fall back to wasm/cpu).');
  process.exit(r.status ?? 1);
}
console.log('torch addon built: ' + path.join(root, 'native', 'build', 'Release', 'torch_addon.node'));
