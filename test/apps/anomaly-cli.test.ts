// genmodels anomaly as a child process: a tiny MAF trained on breast-cancer scores its test split (CSV
// id,score,flag,label; AUROC with an interval; ROC and histogram PNGs), a CSV of the same rows gives the same
// scores, --calibrate stores a threshold that a later run flags with (at most the target share of normals),
// and bad input gets one-line errors with exit 2.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBreastCancer } from '../../src/data/index.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const env = { ...process.env, GENMODELS_BACKEND: 'cpu' };
const cli = (args: string[]) =>
  spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', cwd: os.tmpdir(), env, timeout: 300_000 });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gm-anomaly-'));
const run = path.join(dir, 'maf');
const f = (n: string) => path.join(dir, n);

function oneLineError(r: ReturnType<typeof cli>, re: RegExp): void {
  assert.equal(r.status, 2, `exit status (stderr: ${r.stderr})`);
  const lines = r.stderr.split('\n').filter((l) => l.length);
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^genmodels: error: /);
  assert.match(lines[0]!, re);
}

function readScores(file: string): { id: string; score: number; flag: string; label?: string }[] {
  const [head, ...rows] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const cols = head!.split(',');
  return rows.map((r) => {
    const c = r.split(',');
    return { id: c[0]!, score: Number(c[1]), flag: c[2]!, ...(cols[3] ? { label: c[3]! } : {}) };
  });
}

before(() => {
  const r = cli([
    'train',
    'maf',
    '--data',
    'breast-cancer',
    '--epochs',
    '3',
    '--set',
    'layers=2',
    '--set',
    'hidden=16',
    '--out',
    run,
  ]);
  assert.equal(r.status, 0, r.stderr);
});

test('scores with labels: CSV, AUROC with an interval, PNGs; a CSV input of the same rows scores the same', () => {
  const r = cli(['anomaly', run, '--anomaly-class', '0', '--out', f('s.csv'), '--boot', '200']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /AUROC 0\.\d+ \[0\.\d+, [01]\.\d+\], AUPRC/);
  const rows = readScores(f('s.csv'));
  assert.equal(rows.length, 114); // 20% of 569
  assert.equal(rows[0]!.id, 'breast-cancer:test:0');
  assert.ok(
    rows.every((x) => Number.isFinite(x.score) && x.flag === '' && (x.label === '0' || x.label === '1')),
  );
  for (const p of ['s-roc.png', 's-hist.png'])
    assert.deepEqual([...fs.readFileSync(f(p)).subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"

  // the test rows as a CSV with the training table's columns (and its label column 'target')
  const t = readBreastCancer();
  const ids = rows.map((_, i) => i);
  const testRows = new Set<number>();
  // reproduce the split by matching feature rows: the CSV holds all 569 rows, in file order
  const lines = [[...t.columns.map((c) => `"${c}"`), 'target'].join(',')];
  for (let i = 0; i < t.n; i++) lines.push([...t.x.subarray(i * 30, (i + 1) * 30), t.y![i]].join(','));
  fs.writeFileSync(f('all.csv'), lines.join('\n') + '\n');
  const c = cli([
    'anomaly',
    run,
    '--data',
    f('all.csv'),
    '--labels',
    'target',
    '--anomaly-class',
    '0',
    '--out',
    f('c.csv'),
  ]);
  assert.equal(c.status, 0, c.stderr);
  const all = readScores(f('c.csv'));
  assert.equal(all.length, 569);
  // every test-split score is the score of one CSV row (same standardization, same model)
  const byScore = new Map(all.map((x) => [x.score.toPrecision(6), x]));
  for (const x of rows) {
    const m = byScore.get(x.score.toPrecision(6));
    assert.ok(m, `test row ${x.id} not among the CSV scores`);
    assert.equal(m.label, x.label);
    testRows.add(Number(m.id.split(':')[1]));
  }
  assert.equal(testRows.size, ids.length);
});

test('--calibrate stores a threshold beside the checkpoint; later runs flag with it', () => {
  const r = cli([
    'anomaly',
    run,
    '--normal-class',
    '1',
    '--calibrate',
    '--fpr',
    '0.1',
    '--out',
    f('cal.csv'),
  ]);
  assert.equal(r.status, 0, r.stderr);
  const cal = JSON.parse(fs.readFileSync(path.join(run, 'anomaly.json'), 'utf8'));
  const entry = cal.thresholds['nll|nll'];
  assert.equal(entry.fpr, 0.1);
  const rows = readScores(f('cal.csv'));
  const normal = rows.filter((x) => x.label === '0');
  assert.equal(entry.n, normal.length);
  const fp = normal.filter((x) => x.flag === '1').length;
  assert.equal(fp, Math.floor(0.1 * normal.length));
  assert.ok(rows.every((x) => x.flag === (x.score > entry.threshold ? '1' : '0')));
  // a later run without labels, on the training split, flags with the stored threshold
  const later = cli(['anomaly', run, '--split', 'train', '--out', f('later.csv')]);
  assert.equal(later.status, 0, later.stderr);
  const lr = readScores(f('later.csv'));
  assert.equal(lr.length, 455);
  assert.ok(lr.every((x) => x.flag === (x.score > entry.threshold ? '1' : '0')));
});

test('bad input: one-line errors, exit 2', () => {
  oneLineError(cli(['anomaly', run, '--score', 'ratio']), /--score ratio needs a background model/);
  oneLineError(cli(['anomaly', run, '--score', 'complexity']), /complexity needs images/);
  oneLineError(
    cli(['anomaly', run, '--data', 'mnist-fixture']),
    /trained on vector data of shape \[30\]; dataset 'mnist-fixture' has shape \[28, 28, 1\]/,
  );
  oneLineError(cli(['anomaly', run, '--data', 'digits']), /shape \[30\].*shape \[64\]/);
  fs.writeFileSync(f('other.csv'), 'a,b\n1,2\n');
  oneLineError(
    cli(['anomaly', run, '--data', f('other.csv')]),
    /columns differ from the training table's 30 columns/,
  );
  fs.writeFileSync(f('empty.csv'), '');
  oneLineError(cli(['anomaly', run, '--data', f('empty.csv')]), /empty/);
  const t = readBreastCancer();
  fs.writeFileSync(f('header.csv'), t.columns.map((c) => `"${c}"`).join(',') + '\n');
  oneLineError(cli(['anomaly', run, '--data', f('header.csv')]), /no data rows/);
  oneLineError(cli(['anomaly', run, '--fpr', '2', '--calibrate']), /--fpr must be in \[0, 1\)/);
  oneLineError(cli(['anomaly', run, '--score', 'zzz']), /--score must be one of nll, ratio, complexity/);
  oneLineError(cli(['anomaly', path.join(dir, 'nope')]), /no checkpoint/);
  oneLineError(cli(['anomaly', run, '--ood', 'digits', '--anomaly-class', '1']), /shape/);
  oneLineError(
    cli(['anomaly', run, '--split', 'train', '--labels', 'x']),
    /--labels names a column of a CSV input|no label column/,
  );
});
