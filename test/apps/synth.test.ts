// The fidelity measures against scipy / numpy / scikit-learn (computed at test time by /usr/bin/python3), their
// limiting cases, and `genmodels synth` end to end on a small table with a categorical column.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/core/rng.js';
import { readDigits } from '../../src/data/sklearn.js';
import { fitStandardization, splitIndices } from '../../src/data/tables.js';
import {
  accuracy,
  correlationMatrix,
  correlationSimilarity,
  fitSoftmaxRegression,
  ksStatistic,
  nearestDistances,
  predictSoftmax,
} from '../../src/apps/synth-fidelity.js';
import { fidelity, synthLabels } from '../../src/apps/synth.js';

const py = (code: string, input: unknown): unknown =>
  JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', code], {
      input: JSON.stringify(input),
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    }),
  );

test('KS statistic and correlation matrix equal scipy and numpy', () => {
  const rng = new Rng(1);
  const a = Array.from({ length: 300 }, () => rng.normal());
  const b = Array.from({ length: 200 }, () => 0.3 + 1.2 * rng.normal());
  const ties = Array.from({ length: 100 }, (_, i) => i % 7);
  const ties2 = Array.from({ length: 80 }, (_, i) => (i * 3) % 5);
  const ref = py(
    'import json,sys; from scipy.stats import ks_2samp; import numpy as np; d=json.load(sys.stdin); ' +
      'print(json.dumps([ks_2samp(d["a"], d["b"]).statistic, ks_2samp(d["t"], d["u"]).statistic, np.corrcoef(np.array(d["m"]).reshape(-1, 3).T).tolist()]))',
    { a, b, t: ties, u: ties2, m: a.slice(0, 150) },
  ) as [number, number, number[][]];
  assert.ok(Math.abs(ksStatistic(a, b) - ref[0]) < 1e-12);
  assert.ok(Math.abs(ksStatistic(ties, ties2) - ref[1]) < 1e-12);
  const r = correlationMatrix(a.slice(0, 150), 50, 3);
  ref[2].flat().forEach((v, i) => assert.ok(Math.abs(r[i]! - v) < 1e-9));
  assert.equal(ksStatistic(a, a), 0);
  assert.equal(correlationSimilarity(r, r, 3, [0, 1, 2]), 1);
});

test('softmax regression: the minimizer of scikit-learn LogisticRegression(C=1) on the digits', () => {
  const t = readDigits();
  const { train, test: te } = splitIndices(t.n, 0.2, 0);
  const pick = (idx: Int32Array) => {
    const x = new Float32Array(idx.length * 64);
    const y = new Int32Array(idx.length);
    idx.forEach((r, i) => {
      x.set(t.x.subarray(r * 64, r * 64 + 64), i * 64);
      y[i] = t.y![r]!;
    });
    return { n: idx.length, x, y };
  };
  const [tr, ts] = [pick(train), pick(te)];
  const { mean, std } = fitStandardization(tr, 64);
  const z = (x: Float32Array) => Float64Array.from(x, (v, i) => (v - mean[i % 64]!) / std[i % 64]!);
  const [ztr, zts] = [z(tr.x), z(ts.x)];
  const m = fitSoftmaxRegression(ztr, tr.y, tr.n, 64, 10, { C: 1, iters: 1500 });
  const pred = predictSoftmax(m, zts, ts.n);
  const ref = py(
    'import json,sys; import numpy as np; from sklearn.linear_model import LogisticRegression; d=json.load(sys.stdin); ' +
      'X=np.array(d["x"]).reshape(-1,64); Z=np.array(d["z"]).reshape(-1,64); ' +
      'c=LogisticRegression(C=1.0, multi_class="multinomial", max_iter=5000, tol=1e-8).fit(X, d["y"]); ' +
      'print(json.dumps(c.predict(Z).tolist()))',
    { x: Array.from(ztr), y: Array.from(tr.y), z: Array.from(zts) },
  ) as number[];
  const agree = ref.filter((v, i) => v === pred[i]).length / ts.n;
  assert.ok(agree >= 0.99, `predictions agree with scikit-learn on ${agree}`);
  const acc = accuracy(pred, ts.y);
  const accRef = accuracy(Int32Array.from(ref), ts.y);
  assert.ok(Math.abs(acc - accRef) <= 0.01 && acc > 0.94, `accuracy ${acc} vs scikit-learn ${accRef}`);
});

test('fidelity limits: real rows as synthetic are copies (DCR 0), shuffled columns lose correlations', () => {
  const rng = new Rng(5);
  const n = 400;
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.normal();
    x[2 * i] = u;
    x[2 * i + 1] = 0.9 * u + 0.3 * rng.normal();
    y[i] = u > 0 ? 1 : 0;
  }
  const train = { n: 300, x: x.slice(0, 600), y: y.slice(0, 300) };
  const test = { n: 100, x: x.slice(600), y: y.slice(300) };
  const schema = [
    { name: 'a', kind: 'numeric' as const },
    { name: 'b', kind: 'numeric' as const },
  ];
  const norm = { mean: [0, 0], std: [1, 1] };
  const same = fidelity(train, train, test, schema, norm, 2);
  assert.equal(same.columnShapes, 1);
  assert.equal(same.correlationSimilarity, 1);
  assert.equal(same.dcr.syntheticMedian, 0);
  assert.equal(same.dcr.copies, 300);
  assert.equal(same.tstr!.synthetic, same.tstr!.real);
  // column b shuffled among rows: same marginals, the correlation r ~ 0.95 gone
  const perm = new Rng(9).permutation(300);
  const shuffled = Float32Array.from(train.x);
  perm.forEach((r, i) => (shuffled[2 * i + 1] = train.x[2 * r + 1]!));
  const f = fidelity({ ...train, x: shuffled }, train, test, schema, norm, 2);
  assert.equal(f.columnShapes, 1);
  assert.ok(f.correlationSimilarity < 0.6 && f.correlationSimilarity > 0.45, `${f.correlationSimilarity}`);
  const d = nearestDistances(
    Float64Array.from([0, 0, 3, 4]),
    2,
    Float64Array.from([1, 0, 3, 5, 10, 10]),
    3,
    2,
  );
  assert.deepEqual(Array.from(d), [1, 1]);
  const bal = synthLabels(10, 'balanced', 3, y, 0);
  assert.deepEqual(Array.from(bal), [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
  const fr = synthLabels(20000, 'train', 2, Int32Array.from([0, 0, 0, 1]), 1);
  const ones = fr.reduce((a, v) => a + v, 0) / fr.length;
  assert.ok(Math.abs(ones - 0.25) < 0.015, `share of class 1: ${ones}`);
});

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const env = { ...process.env, GENMODELS_THREADS: '1' };
const cli = (args: string[]) =>
  spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env, timeout: 300_000 });

function oneLineError(r: ReturnType<typeof cli>, re: RegExp): void {
  assert.equal(r.status, 2, `exit status (stderr: ${r.stderr})`);
  const lines = r.stderr.split('\n').filter((l) => l.length);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, re);
}

test('genmodels synth: rows with categorical strings and labels, fidelity report, changed columns exit 2', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gm-synth-'));
  const rng = new Rng(2);
  const lines = ['size,"shop, city",count,kind'];
  const shops = ['north', 'south, old', 'east'];
  for (let i = 0; i < 500; i++) {
    const c = i % 2;
    const s = shops[(i + c) % 3]!;
    lines.push(`${(c ? 2 : -1) + 0.5 * rng.normal()},"${s}",${(i * 7) % 4},${c ? 'big' : 'small'}`);
  }
  const csv = path.join(dir, 'shops.csv');
  fs.writeFileSync(csv, lines.join('\r\n') + '\r\n');
  const run = path.join(dir, 'run');
  const tr = cli([
    'train',
    'maf',
    '--data',
    csv,
    '--set',
    'data.label=kind',
    '--set',
    'data.dequantize=true',
    '--set',
    'conditional=true',
    '--epochs',
    '6',
    '--out',
    run,
  ]);
  assert.equal(tr.status, 0, tr.stderr);
  const out = path.join(dir, 'rows.csv');
  const r = cli(['synth', run, '--n', '300', '--out', out, '--labels', 'balanced']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /column shapes .* \| 0\.\d{3} \|/);
  assert.match(r.stdout, /train on synthetic \/ test on real \| \d+\.\d%/);
  const text = fs.readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(text[0], 'size,"shop, city",count,kind');
  assert.equal(text.length, 301);
  const seen = new Set<string>();
  for (const row of text.slice(1)) {
    const m = /^(-?[\d.e+-]+),("south, old"|north|east),(-?\d+),(big|small)$/.exec(row);
    assert.ok(m, `row '${row}'`);
    seen.add(m![2]!);
  }
  assert.equal(seen.size, 3, 'every category is generated');
  const labels = text.slice(1).map((l) => l.split(',').pop());
  assert.equal(labels.filter((l) => l === 'big').length, 150); // balanced: 2 classes
  const rep = JSON.parse(fs.readFileSync(path.join(dir, 'rows.fidelity.json'), 'utf8'));
  assert.equal(rep.columns.length, 3);
  assert.deepEqual(
    rep.columns.map((c: { metric: string }) => c.metric),
    ['KS complement', 'TV complement', 'KS complement'],
  );
  assert.ok(rep.tstr.real > 0.9 && rep.tstr.synthetic > 0.6, JSON.stringify(rep.tstr));
  assert.ok(rep.dcr.holdoutMedian > 0 && rep.dcr.syntheticMedian > 0);
  // the training CSV changed its columns: refused on one line, nothing written
  fs.writeFileSync(csv, 'size,shop,count,kind\n1,north,2,big\n');
  const again = path.join(dir, 'again.csv');
  oneLineError(
    cli(['synth', run, '--n', '10', '--out', again]),
    /columns differ from the model's training table \(missing 'shop, city'; unexpected 'shop'\)/,
  );
  assert.ok(!fs.existsSync(again));
  oneLineError(cli(['synth', run, '--n', '10']), /synth needs --out/);
  oneLineError(cli(['synth', run, '--n', '10', '--out', path.join(dir, 'x.png')]), /go to a \.csv file/);
});
