// CSV parsing errors, seeded splits, standardization fitted on train and restored from a config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../src/core/model.js';
import { loadDataset, parseDataArg } from '../../src/data/index.js';
import { parseCsv, splitIndices } from '../../src/data/tables.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'csv-'));
function write(name: string, text: string): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text);
  return f;
}

function userError(re: RegExp) {
  return (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n');
}

test('CSV errors name file, line and column', () => {
  const f = 'data.csv';
  assert.throws(() => parseCsv('a,b\n1,2\n3\n', f), userError(/^data\.csv:3: expected 2 columns, got 1$/));
  assert.throws(
    () => parseCsv('a,b\n1,2\n3,x\n', f),
    userError(/^data\.csv:3: column 'b': 'x' is not a number$/),
  );
  assert.throws(
    () => parseCsv('a,b\n1,NaN\n', f),
    userError(/^data\.csv:2: column 'b': 'NaN' is not a finite number$/),
  );
  assert.throws(() => parseCsv('a,b\n1,\n', f), userError(/^data\.csv:2: column 'b': '' is empty$/));
  assert.throws(() => parseCsv('a,b\n\n\n1,2\n4,inf\n', f), userError(/^data\.csv:5: column 'b'/));
  assert.throws(() => parseCsv('', f), userError(/empty CSV/));
  assert.throws(() => parseCsv('a,b\n', f), userError(/no data rows/));
  assert.throws(() => parseCsv('a,a\n1,2\n', f), userError(/duplicate column name 'a'/));
  assert.throws(() => parseCsv('a,b\n1,2\n', f, 'c'), userError(/no label column 'c'/));
  assert.throws(
    () => loadDataset(parseDataArg(path.join(tmp, 'missing.csv'))),
    userError(/cannot read .*missing\.csv \(ENOENT\)/),
  );
});

test('CSV label column: integer classes or sorted names', () => {
  const t = parseCsv('x,"kind",y\n1,b,2\n3,a,4\n5,b,6\n', 'f.csv', 'kind');
  assert.deepEqual(t.columns, ['x', 'y']);
  assert.deepEqual(Array.from(t.x), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(t.y!), [1, 0, 1]);
  assert.deepEqual(t.classes, ['a', 'b']);
  const u = parseCsv('x,c\n1.5,2\n-3e2,0\n', 'f.csv', 'c');
  assert.deepEqual(Array.from(u.y!), [2, 0]);
  assert.equal(u.numClasses, 3);
  assert.deepEqual(Array.from(u.x), [1.5, -300]);
});

test('split is deterministic by seed, disjoint and complete, honours testFraction', () => {
  const a = splitIndices(101, 0.2, 5);
  const b = splitIndices(101, 0.2, 5);
  const c = splitIndices(101, 0.2, 6);
  assert.deepEqual(a, b);
  assert.notDeepEqual(Array.from(a.test), Array.from(c.test));
  assert.equal(a.test.length, 20);
  const all = [...a.train, ...a.test].sort((x, y) => x - y);
  assert.deepEqual(
    all,
    Array.from({ length: 101 }, (_, i) => i),
  );
});

test('standardization fitted on train, stored in describe().stats and restored from the config', () => {
  const rows = Array.from({ length: 200 }, (_, i) => `${i},${(i * 7) % 13},${i % 3}`);
  const f = write('t.csv', 'a,b,label\n' + rows.join('\n') + '\n');
  const cfg = parseDataArg(f, { label: 'label', testFraction: 0.25, seed: 3 });
  assert.equal(cfg.name, 'csv');
  const ds = loadDataset(cfg);
  assert.deepEqual(ds.spec, { kind: 'vector', shape: [2], domain: 'real', numClasses: 3 });
  assert.equal(ds.train.n, 150);
  assert.equal(ds.test.n, 50);
  // train split prepared: mean 0, std 1 per column
  const z = ds.prepare(ds.train.x, { split: 'train', epoch: 0, seed: 0, offset: 0 });
  for (let j = 0; j < 2; j++) {
    let m = 0;
    let v = 0;
    for (let i = 0; i < 150; i++) m += z[2 * i + j]! / 150;
    for (let i = 0; i < 150; i++) v += (z[2 * i + j]! - m) ** 2 / 150;
    assert.ok(Math.abs(m) < 1e-5 && Math.abs(v - 1) < 1e-4, `column ${j}: mean ${m}, var ${v}`);
  }
  // toDisplay inverts prepare
  const back = ds.toDisplay(z);
  back.forEach((v, i) => assert.ok(Math.abs(v - ds.train.x[i]!) < 1e-3));
  // restored config -> identical data and preprocessing, even after the file changes
  const saved = JSON.parse(JSON.stringify(ds.describe()));
  assert.ok(Array.isArray(saved.stats.mean) && saved.stats.mean.length === 2);
  fs.writeFileSync(
    f,
    'a,b,label\n' + rows.map((r) => r.replace(/^(\d+)/, (d) => String(Number(d) * 2))).join('\n') + '\n',
  );
  const re = loadDataset(saved);
  const z2 = re.prepare(re.train.x, { split: 'train', epoch: 0, seed: 0, offset: 0 });
  // the data changed (column a doubled) but the stored mean/std were used, not refitted
  const meanA = saved.stats.mean[0] as number;
  const stdA = saved.stats.std[0] as number;
  assert.ok(Math.abs(z2[0]! - (re.train.x[0]! - meanA) / stdA) < 1e-6);
  assert.ok(Math.abs(z2[0]! - z[0]!) > 1e-3 || re.train.x[0] === 0);
  assert.throws(
    () => loadDataset({ ...saved, stats: { mean: [0], std: [1] } }),
    userError(/stored standardization/),
  );
});

test('sklearn digits and breast-cancer load with their odd headers', () => {
  const digits = loadDataset(parseDataArg('digits'));
  assert.equal(digits.train.n + digits.test.n, 1797);
  assert.deepEqual(digits.spec.shape, [64]);
  assert.equal(digits.spec.numClasses, 10);
  const img = loadDataset(parseDataArg('digits', { image: true }));
  assert.deepEqual(img.spec, {
    kind: 'image',
    shape: [8, 8, 1],
    domain: 'binary',
    levels: 17,
    numClasses: 10,
  });
  assert.ok(img.train.x.every((v) => v >= 0 && v <= 1));
  const bc = loadDataset(parseDataArg('breast-cancer'));
  assert.equal(bc.train.n + bc.test.n, 569);
  assert.equal(bc.columns!.length, 30);
  assert.equal(bc.columns![0], 'mean radius');
  assert.deepEqual(bc.describe().stats!['classes'], ['malignant', 'benign']);
  const labels = [...bc.train.y!, ...bc.test.y!];
  assert.ok(labels.includes(0) && labels.includes(1) && labels.every((l) => l === 0 || l === 1));
});
