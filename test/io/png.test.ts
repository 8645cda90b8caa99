import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { imageGrid, savePng } from '../../src/io/png.js';

const decode = (buf: Buffer) => PNG.sync.read(buf);
const px = (p: PNG, x: number, y: number) =>
  Array.from(p.data.subarray((y * p.width + x) * 4, (y * p.width + x) * 4 + 4));

test('image grid places each image at its cell with the right pixel values', () => {
  const n = 5;
  const H = 3;
  const W = 2;
  const x = new Float32Array(n * H * W);
  for (let i = 0; i < n; i++) for (let j = 0; j < H * W; j++) x[i * H * W + j] = (i + j / 10) / 5;
  x[0] = 2; // clipped to 1
  x[1] = -1; // clipped to 0
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gm-png-'));
  const file = path.join(dir, 'grid.png');
  savePng(file, imageGrid(x, [n, H, W, 1], { nrow: 3, padding: 1, padValue: 0, scale: 2 }));
  const p = decode(fs.readFileSync(file));
  assert.equal(p.width, 3 * (W * 2 + 1) + 1);
  assert.equal(p.height, 2 * (H * 2 + 1) + 1);
  assert.deepEqual(px(p, 0, 0), [0, 0, 0, 255]); // padding
  assert.deepEqual(px(p, 1, 1), [255, 255, 255, 255]); // image 0, pixel (0,0) = 2 -> 1
  assert.deepEqual(px(p, 3, 2), [0, 0, 0, 255]); // image 0, pixel (0,1) = -1 -> 0
  // image 4 (row 1, col 1), pixel (y=2, x=1): value (4 + 0.5)/5
  const v = Math.round(255 * Math.fround(4.5 / 5));
  const X = 1 + 1 * (W * 2 + 1) + 1 * 2;
  const Y = 1 + 1 * (H * 2 + 1) + 2 * 2;
  assert.deepEqual(px(p, X + 1, Y + 1), [v, v, v, 255]);
  // RGB images keep their channels
  const rgb = imageGrid(new Float32Array([1, 0, 0.5]), [1, 1, 1, 3], { padding: 0, scale: 1 });
  assert.deepEqual(px(decode(rgb.encode()), 0, 0), [255, 0, 128, 255]);
  assert.throws(() => imageGrid(new Float32Array(5), [1, 2, 2, 1]), /values for shape/);
});
