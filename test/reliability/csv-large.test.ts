// A labelled CSV far larger than the argument limit of Math.max(...): 200,000 rows load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { UserError } from '../../src/core/model.js';
import { loadDataset, parseDataArg } from '../../src/data/index.js';
import { parseCsv } from '../../src/data/tables.js';

test('a labelled CSV with 200,000 rows loads (integer and named labels)', () => {
  const n = 200_000;
  const rows: string[] = ['a,b,label'];
  for (let i = 0; i < n; i++) rows.push(`${i % 97},${(i * 7) % 13},${i % 5}`);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gm-csv-')), 'big.csv');
  fs.writeFileSync(file, rows.join('\n') + '\n');
  const ds = loadDataset(parseDataArg(file, { label: 'label', testFraction: 0.1 }));
  assert.equal(ds.train.n + ds.test.n, n);
  assert.equal(ds.spec.numClasses, 5);
  let s = 0;
  for (const y of ds.train.y!) s += y;
  for (const y of ds.test.y!) s += y;
  assert.equal(s, (n / 5) * (0 + 1 + 2 + 3 + 4));
  const named = parseCsv(
    rows.map((r, i) => (i ? r.replace(/,(\d)$/, ',c$1') : r)).join('\n'),
    'x.csv',
    'label',
  );
  assert.deepEqual(named.classes, ['c0', 'c1', 'c2', 'c3', 'c4']);
  assert.equal(named.numClasses, 5);
});

test('CSV errors quote cells on one line, cut, and a FIFO is refused', () => {
  const e = (() => {
    try {
      parseCsv(`a,b\n1,"x\u001b[2J${'y'.repeat(300)}"\n`, 'f.csv');
    } catch (err) {
      return err;
    }
  })();
  assert.ok(e instanceof UserError);
  assert.ok(!/[\n\u001b]/.test(e.message) && e.message.length < 200, e.message);
  assert.throws(() => parseCsv('a,y\n1,99999999999\n', 'f.csv', 'y'), /label '99999999999' is more than/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gm-csv-'));
  const fifo = path.join(dir, 'pipe.csv');
  execFileSync('mkfifo', [fifo]);
  assert.throws(
    () => loadDataset(parseDataArg(fifo)),
    (err: unknown) => err instanceof UserError && /is a FIFO, not a regular file/.test(err.message),
  );
});
