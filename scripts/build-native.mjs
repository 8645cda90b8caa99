#!/usr/bin/env node
// Build the libtorch addon (native/ -> native/build/Release/torch_addon.node).
// Uses Debian's libtorch-dev by default, or the libtorch at $LIBTORCH (include/ + lib/, rpath set).
// Without libtorch this prints one line and exits 0: the library then falls back to wasm/cpu.
// The build itself is packages/torch/build.mjs, shared with the @genmodels/torch package's install script.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAddon } from '../packages/torch/build.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const r = buildAddon({
  nativeDir: path.join(root, 'native'),
  rebuild: 'npm run build:native',
  allowHeaderDownload: true, // a developer's checkout may fetch Node's headers through node-gyp
});
if (r.ok) {
  console.log('torch addon built: ' + r.addon);
} else if (r.reason.startsWith('addon not built')) {
  console.log(`torch ${r.reason}; fix: ${r.fix}`);
} else {
  console.error(`torch ${r.reason} (the library will fall back to wasm, then cpu); fix: ${r.fix}`);
  process.exit(1);
}
