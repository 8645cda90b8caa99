// CSV parsing errors, seeded splits, standardization fitted on train and restored from a config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../src/core/model.js';
import { loadDataset, parseDataArg } from '../../src/data/index.js';
import { parseCsv, readTableFor, splitIndices, tableDecoder } from '../../src/data/tables.js';

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

test('CSV via csv-parse: quoted fields with commas, quotes and newlines, CRLF, BOM, line numbers', () => {
  const text =
    '\uFEFF"a","b, with comma",label\r\n1,"2",x\r\n\r\n"3","4","y\r\nz"\r\n5,6,"say ""hi"""\r\n7,oops\r\n';
  // the last row has too few cells: its line number counts the quoted newline above
  assert.throws(() => parseCsv(text, 'q.csv', 'label'), userError(/^q\.csv:7: expected 3 columns, got 2$/));
  const t = parseCsv(text.replace('7,oops\r\n', ''), 'q.csv', 'label');
  assert.deepEqual(t.columns, ['a', 'b, with comma']);
  assert.deepEqual(Array.from(t.x), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(t.classes, ['say "hi"', 'x', 'y\r\nz']);
  assert.deepEqual(Array.from(t.y!), [1, 2, 0]);
  assert.throws(() => parseCsv('a,b\n1,"2\n', 'u.csv'), userError(/^u\.csv: Quote Not Closed/));
  // a bad cell after a multi-line record names the line it is on
  assert.throws(
    () => parseCsv('a,b\n"x\ny",1\n2,zz\n3,4\n', 'm.csv', undefined, undefined, { categorical: ['a'] }),
    userError(/^m\.csv:4: column 'b': 'zz' is not a number$/),
  );
});

test('categorical columns: one-hot, not standardized, dequantized, decoded back to their strings', () => {
  const colors = ['red', 'green, dark', 'blue'];
  const rows = Array.from(
    { length: 120 },
    (_, i) => `${i},"${colors[i % 3]}",${i % 2 ? 'yes' : 'no'},${(i * 7) % 5}`,
  );
  const f = write('cat.csv', 'x,color,flag,target\n' + rows.join('\n') + '\n');
  const ds = loadDataset(parseDataArg(f, { label: 'target', categorical: 'flag' }));
  assert.deepEqual(ds.columns, ['x', 'color=blue', 'color=green, dark', 'color=red', 'flag=no', 'flag=yes']);
  assert.equal(ds.spec.shape[0], 6);
  const st = ds.describe().stats!;
  assert.deepEqual((st['std'] as number[]).slice(1), [1, 1, 1, 1, 1]);
  assert.deepEqual((st['mean'] as number[]).slice(1), [0, 0, 0, 0, 0]);
  const z = ds.prepare(ds.test.x, { split: 'test', epoch: 0, seed: 0, offset: 0 });
  const z2 = ds.prepare(ds.test.x, { split: 'test', epoch: 0, seed: 0, offset: 0 });
  assert.deepEqual(z, z2);
  for (let i = 0; i < z.length; i++) {
    if (i % 6 === 0) continue;
    const raw = ds.test.x[i]!;
    // one-hot values with uniform noise in [-1/2, 1/2): still a continuous value per cell
    assert.ok(z[i]! >= raw - 0.5 && z[i]! < raw + 0.5 && z[i] !== raw);
  }
  const decode = tableDecoder(ds.describe(), 6);
  const back = decode(z, ds.test.n);
  const want = ds.test.x;
  back.forEach((r, i) => {
    assert.ok(Math.abs(Number(r[0]) - want[i * 6]!) < 1e-3);
    const c = [1, 2, 3].findIndex((j) => want[i * 6 + j] === 1);
    assert.equal(r[1], ['blue', 'green, dark', 'red'][c]);
    assert.equal(r[2], want[i * 6 + 4] === 1 ? 'no' : 'yes');
  });
  assert.deepEqual(st['schema'], [
    { name: 'x', kind: 'numeric' },
    { name: 'color', kind: 'categorical', categories: ['blue', 'green, dark', 'red'] },
    { name: 'flag', kind: 'categorical', categories: ['no', 'yes'] },
  ]);
});

test('a CSV read against a stored schema: same columns in any order, others refused on one line', () => {
  const f = write('s.csv', 'x,color,y\n1,red,0\n2,blue,1\n3,red,0\n4,blue,1\n');
  const ds = loadDataset(parseDataArg(f, { label: 'y' }));
  const cfg = ds.describe();
  const g = write('s2.csv', 'color,x\r\nblue,10\r\nred,20\r\n');
  const rows = readTableFor(g, cfg, 3);
  assert.equal(rows.n, 2);
  assert.equal(rows.y, undefined);
  const [m, s] = [cfg.stats!['mean'] as number[], cfg.stats!['std'] as number[]];
  assert.ok(Math.abs(rows.x[0]! - (10 - m[0]!) / s[0]!) < 1e-5);
  assert.ok(rows.x[1]! > 0.5 && rows.x[2]! < 0.5); // blue is category 0
  assert.throws(
    () => readTableFor(write('s3.csv', 'x,colour\n1,red\n'), cfg, 3),
    userError(/columns differ from the model's training table \(missing 'color'; unexpected 'colour'\)/),
  );
  assert.throws(
    () => readTableFor(write('s4.csv', 'x,color\n1,green\n'), cfg, 3),
    userError(/s4\.csv:2: column 'color': unknown category 'green' \(known: blue, red\)/),
  );
  assert.throws(() => readTableFor(g, cfg, 5), userError(/stored column schema does not match/));
  // a checkpoint's dataset reloaded after its file changed columns
  fs.writeFileSync(f, 'x,shade,y\n1,red,0\n2,blue,1\n');
  assert.throws(() => loadDataset(cfg), userError(/missing 'color'; unexpected 'shade'/));
});
