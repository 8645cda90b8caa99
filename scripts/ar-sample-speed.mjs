#!/usr/bin/env node
// Sampling speed of the autoregressive models on 28x28 binary images (default configs, random weights:
// speed does not depend on the weights). Usage: npm run build && node scripts/ar-sample-speed.mjs [n] [kinds...]
// Set BUILD=.build-NAME to use another compiled tree (default dist).
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const build = path.resolve(root, process.env.BUILD ?? 'dist');
const load = (p) => import(pathToFileURL(path.join(build, p)).href);
const { initBackend, backendInfo } = await load('src/backend/index.js');
const { modelEntry } = await load('src/core/model.js');
await load('src/families/index.js');

const n = Number(process.argv[2] ?? 16);
const kinds =
  process.argv.length > 3
    ? process.argv.slice(3)
    : ['nade', 'made', 'pixelcnn', 'gated-pixelcnn', 'transformer'];
await initBackend(undefined, { quiet: true });
const info = backendInfo();
const spec = { kind: 'image', shape: [28, 28, 1], domain: 'binary' };
console.log(`backend ${info.backend}, ${info.threads} thread(s), n = ${n} samples of 28x28`);
for (const kind of kinds) {
  const e = modelEntry(kind);
  const m = e.create({ ...e.defaults }, spec, 0);
  const t0 = performance.now();
  const x = m.sample(n, { seed: 1 });
  await x.data();
  const sec = (performance.now() - t0) / 1000;
  x.dispose();
  const { total } = m.parameterCount();
  console.log(
    `${kind.padEnd(16)} ${String(total).padStart(8)} params  ${sec.toFixed(2).padStart(7)} s  ${(n / sec).toFixed(2).padStart(7)} samples/s`,
  );
  m.dispose();
}
