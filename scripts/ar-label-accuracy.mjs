#!/usr/bin/env node
// How often samples of a requested digit are classified as that digit, by the project's MNIST classifier
// (src/eval/classifier.ts, the one the GAN metrics use), for a class-conditional checkpoint, at one or more
// sampling temperatures. `genmodels eval <ckpt> --samples N` reports the same share at temperature 1.
// Usage: npm run build && node scripts/ar-label-accuracy.mjs <run dir> [perDigit=50] [T1,T2,...=1] [seed=0]
// Set BUILD=.build-NAME to use another compiled tree (default dist).
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const build = path.resolve(root, process.env.BUILD ?? 'dist');
const load = (p) => import(pathToFileURL(path.join(build, p)).href);
const tf = await import('@tensorflow/tfjs-core');
const { initBackend } = await load('src/backend/index.js');
const { loadCheckpoint } = await load('src/train/checkpoint.js');
const { loadClassifier } = await load('src/eval/classifier.js');
await load('src/families/index.js');

const [dir, perArg, tArg, seedArg] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node scripts/ar-label-accuracy.mjs <run dir> [perDigit] [T1,T2,...] [seed]');
  process.exit(2);
}
const per = Number(perArg ?? 50);
const temps = (tArg ?? '1').split(',').map(Number);
const seed = Number(seedArg ?? 0);
await initBackend(undefined, { quiet: true });
const { model } = loadCheckpoint(dir, { useEma: true });
if (!model.taxonomy.conditional) throw new Error(`${dir}: model '${model.kind}' is not class-conditional`);
const clf = await loadClassifier('mnist');
const K = model.spec.numClasses;
console.log(
  `${model.kind} from ${dir}: ${per} samples per digit, classifier test accuracy ${(100 * clf.testAccuracy).toFixed(2)}%`,
);
for (const T of temps) {
  const labels = Array.from({ length: per * K }, (_, i) => Math.floor(i / per));
  const t0 = performance.now();
  const x = model.sample(labels.length, { label: labels, temperature: T, seed });
  const pred = tf.tidy(() => clf.predict(x).dataSync());
  const sec = (performance.now() - t0) / 1000;
  x.dispose();
  const hit = new Array(K).fill(0);
  labels.forEach((l, i) => (hit[l] += pred[i] === l ? 1 : 0));
  const total = hit.reduce((a, b) => a + b, 0) / labels.length;
  console.log(
    `T=${T}: ${(100 * total).toFixed(1)}% classified as the digit asked; per digit ${hit.map((h) => `${((100 * h) / per).toFixed(0)}`).join(' ')} (${sec.toFixed(0)} s)`,
  );
}
clf.dispose();
model.dispose();
