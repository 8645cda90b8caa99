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
// node-gyp needs Node's C headers. Use the ones installed with this node (Debian and nodesource packages:
// /usr/include/node; nvm and release tarballs: <prefix>/include/node), else npm's `nodedir` if it has them,
// else let node-gyp use its cache or download them from nodejs.org. (node-gyp lets npm_config_* variables
// override its command line, so the choice goes into the environment.)
const env = { ...process.env };
if (env.npm_config_loglevel === 'silent') env.npm_config_loglevel = 'error'; // `npm run --silent`: keep errors
const hasHeaders = (dir) => !!dir && existsSync(path.join(dir, 'include', 'node', 'node_api.h'));
const prefix = path.resolve(path.dirname(process.execPath), '..');
let noHeaders = false;
if (hasHeaders(prefix)) env.npm_config_nodedir = prefix;
else if (!hasHeaders(env.npm_config_nodedir)) {
  noHeaders = true;
  if (env.npm_config_nodedir)
    console.log(`note: npm's nodedir ${env.npm_config_nodedir} has no include/node/node_api.h; ignoring it`);
  delete env.npm_config_nodedir;
  console.log(
    `note: Node's C headers are not in ${prefix}/include/node; node-gyp will use its cache or download them`,
  );
}
const r = spawnSync(process.execPath, args, { cwd: path.join(root, 'native'), stdio: 'inherit', env });
if (r.status !== 0) {
  console.error('torch addon build failed (the library will fall back to wasm, then cpu).');
  if (noHeaders)
    console.error(
      `Node's C headers were missing: install the ones of node ${process.version} under ${prefix}/include/node ` +
        '(Debian/nodesource nodejs packages ship them) or point npm_config_nodedir at them, then run `npm run build:native`.',
    );
  process.exit(r.status ?? 1);
}
console.log('torch addon built: ' + path.join(root, 'native', 'build', 'Release', 'torch_addon.node'));
