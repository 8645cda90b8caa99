// npm run build:web: the browser build. esbuild bundles src/browser/index.ts (the library, no Node
// imports) into dist/playground/genmodels.mjs, and web/playground.ts (the page) and web/sampler-worker.ts
// (its sampling worker), both importing the library as ./genmodels.mjs, beside it; copies the page,
// tfjs-backend-wasm's three .wasm binaries and 64 MNIST test digits (test/fixtures, for the interpolation
// and draw-a-digit panels), and writes build.json (sizes).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist/playground');
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const common = { bundle: true, platform: 'browser', format: 'esm', target: 'es2022', minify: true, logLevel: 'warning' };
const t0 = Date.now();
await esbuild.build({ ...common, entryPoints: [path.join(root, 'src/browser/index.ts')], outfile: path.join(out, 'genmodels.mjs') });
const libAsExternal = {
  name: 'genmodels-lib',
  setup(b) {
    b.onResolve({ filter: /src\/browser\/index\.js$/ }, () => ({ path: './genmodels.mjs', external: true }));
  },
};
for (const page of ['playground', 'sampler-worker'])
  await esbuild.build({
    ...common,
    entryPoints: [path.join(root, `web/${page}.ts`)],
    outfile: path.join(out, `${page}.js`),
    plugins: [libAsExternal],
  });
for (const f of ['index.html', 'style.css']) fs.copyFileSync(path.join(root, 'web', f), path.join(out, f));
const require = createRequire(import.meta.url);
const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'])
  fs.copyFileSync(path.join(wasmDir, f), path.join(out, f));
// 64 MNIST test digits: idx3 (16-byte header, uint8 pixels) and idx1 (8-byte header, uint8 labels)
const fx = path.join(root, 'test/fixtures/mnist-test-1000');
const n = 64;
const img = fs.readFileSync(path.join(fx, 't10k-images-idx3-ubyte')).subarray(16, 16 + n * 784);
const lab = fs.readFileSync(path.join(fx, 't10k-labels-idx1-ubyte')).subarray(8, 8 + n);
fs.writeFileSync(
  path.join(out, 'mnist-test.json'),
  JSON.stringify({ n, shape: [28, 28, 1], labels: [...lab], pixels: Buffer.from(img).toString('base64') }),
);
const size = (f) => fs.statSync(path.join(out, f)).size;
const info = {
  esbuild: esbuild.version,
  builtAt: new Date().toISOString(),
  seconds: (Date.now() - t0) / 1000,
  bytes: Object.fromEntries(fs.readdirSync(out).map((f) => [f, size(f)])),
};
fs.writeFileSync(path.join(out, 'build.json'), JSON.stringify(info, null, 2) + '\n');
const kb = (f) => `${(size(f) / 1024).toFixed(0)} KiB`;
process.stdout.write(
  `wrote ${path.relative(root, out)}/: genmodels.mjs ${kb('genmodels.mjs')}, playground.js ${kb('playground.js')}, ` +
    `wasm ${kb('tfjs-backend-wasm-simd.wasm')} (simd) in ${info.seconds.toFixed(1)} s\n`,
);
