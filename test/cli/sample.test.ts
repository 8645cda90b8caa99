// Sampling and interpolation in batches with bounded output (src/api/sample.ts, interpolate.ts, render.ts):
// a cap on what one call may produce fails at once; the output format follows --out's extension; a CSV-trained
// model samples in the CSV's units after the CSV is gone; the model is called batch by batch (a counting fake),
// a failing batch leaves no file, and the PNG grid painted per batch equals the one-shot grid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  GridBuilder,
  LIMITS,
  UserError,
  imageGrid,
  initBackend,
  interpolate,
  interpolateBatches,
  loadDataset,
  parseDataArg,
  writeSamples,
  type GenerativeModel,
  type DataSpec,
} from '../../src/index.js';
import { NonFiniteSampleError } from '../../src/train/loop.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const env = { ...process.env, GENMODELS_BACKEND: 'cpu', GENMODELS_THREADS: '1' };
const cli = (args: string[], timeout = 300_000) =>
  spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', cwd: os.tmpdir(), env, timeout });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gm-sample-'));

function oneLineError(r: ReturnType<typeof cli>, re: RegExp, code = 2): void {
  assert.equal(r.status, code, `exit status (stderr: ${r.stderr})`);
  const lines = r.stderr.split('\n').filter((l) => l.length);
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^genmodels: error: /);
  assert.match(lines[0]!, re);
}

/** CSV text -> rows of numbers (every cell must parse as a finite number) */
function parseRows(text: string): number[][] {
  return text
    .trim()
    .split('\n')
    .map((l) =>
      l.split(',').map((c) => {
        const v = Number(c);
        assert.ok(c.trim() !== '' && Number.isFinite(v), `not a number: '${c}' in '${l}'`);
        return v;
      }),
    );
}

const tiny = ['--epochs', '1', '--limit', '256', '--batch-size', '64', '--set', 'evalLimit=100'];

test('sample: caps fail at once (exit 2), the format follows the extension, .csv on 2-D data is CSV', () => {
  const root = tmp();
  const run = path.join(root, 'moons');
  const t = cli(['train', 'vae', '--data', 'moons', ...tiny, '--out', run]);
  assert.equal(t.status, 0, t.stderr);

  const t0 = Date.now();
  const big = cli(['sample', run, '--n', '1000000000'], 60_000);
  oneLineError(big, /at most 200000 points/);
  const big2 = cli(['sample', run, '--n', '1000000000', '--out', path.join(root, 'big.csv')], 60_000);
  oneLineError(big2, /at most 10000000 CSV rows/);
  assert.ok(Date.now() - t0 < 30_000, `the cap must fail before any sampling (${Date.now() - t0} ms)`);
  assert.ok(!fs.existsSync(path.join(root, 'big.csv')));

  oneLineError(cli(['sample', run, '--out', path.join(root, 's.txt')]), /unknown extension '\.txt'/);
  oneLineError(cli(['sample', run, '--out', path.join(root, 's')]), /unknown extension/);
  oneLineError(cli(['sample', run, '--out', path.join(root, 'no', 's.png')]), /no does not exist/);

  const csv = path.join(root, 's.csv');
  const s = cli(['sample', run, '--n', '300', '--batch-size', '64', '--out', csv]);
  assert.equal(s.status, 0, s.stderr);
  const bytes = fs.readFileSync(csv);
  assert.notDeepEqual([...bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'PNG bytes in a .csv file');
  const rows = parseRows(bytes.toString('utf8'));
  assert.equal(rows.length, 300);
  for (const r of rows) assert.equal(r.length, 2);
  // 300 samples in 5 batches: not one batch repeated (each batch has its own seed)
  const firsts = [0, 64, 128, 192, 256].map((i) => rows[i]!.join(','));
  assert.equal(new Set(firsts).size, 5);
  // same seed and batch size: the same file; a .png of the same run is a PNG
  const again = path.join(root, 'again.csv');
  assert.equal(cli(['sample', run, '--n', '300', '--batch-size', '64', '--out', again]).status, 0);
  assert.deepEqual(fs.readFileSync(again), bytes);
  const png = path.join(root, 's.png');
  assert.equal(cli(['sample', run, '--n', '300', '--out', png]).status, 0);
  assert.deepEqual([...fs.readFileSync(png).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  fs.rmSync(root, { recursive: true, force: true });
});

test('a CSV-trained model samples in the CSV units after the CSV is deleted; no PNG for 3-D rows', () => {
  const root = tmp();
  const file = path.join(root, 'table.csv');
  const mu = [100, -50, 7];
  const sd = [2, 5, 0.1];
  const lines = ['a,b,c'];
  let seed = 12345;
  const u = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
  for (let i = 0; i < 400; i++) {
    const g = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
    lines.push(mu.map((m, j) => (m + sd[j]! * g()).toFixed(4)).join(','));
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const run = path.join(root, 'run');
  const t = cli(['train', 'vae', '--data', file, ...tiny, '--out', run]);
  assert.equal(t.status, 0, t.stderr);
  fs.rmSync(file);

  oneLineError(cli(['sample', run, '--out', path.join(root, 'x.png')]), /3-D samples go to a \.csv/);
  const out = path.join(root, 'x.csv');
  const s = cli(['sample', run, '--n', '400', '--out', out]);
  assert.equal(s.status, 0, s.stderr);
  const rows = parseRows(fs.readFileSync(out, 'utf8'));
  assert.equal(rows.length, 400);
  for (let j = 0; j < 3; j++) {
    const m = rows.reduce((a, r) => a + r[j]!, 0) / rows.length;
    // standardized model space would put these near 0, many std away from the data's mean
    assert.ok(Math.abs(m - mu[j]!) < 2 * sd[j]!, `column ${j}: mean ${m}, data mean ${mu[j]}`);
  }
  // stdout CSV when no --out is given
  const so = cli(['sample', run, '--n', '5']);
  assert.equal(so.status, 0, so.stderr);
  assert.equal(parseRows(so.stdout).length, 5);
  fs.rmSync(root, { recursive: true, force: true });
});

/** A 2-D "model" whose sample() records the batch sizes asked for (values: the running sample index). */
function countingModel(poisonCall = -1): GenerativeModel & { calls: number[] } {
  const calls: number[] = [];
  let next = 0;
  const spec: DataSpec = { kind: 'vector', shape: [2], domain: 'real' };
  return {
    kind: 'counting',
    spec,
    taxonomy: { family: 'latent', density: 'none', sampling: 'one-shot', latent: false, conditional: false },
    config: {},
    calls,
    variables: () => new Map(),
    objectives: () => [],
    sample(n: number) {
      calls.push(n);
      const v = new Float32Array(2 * n);
      for (let i = 0; i < n; i++) v.set([next + i, 2 * (next + i)], 2 * i);
      next += n;
      if (calls.length - 1 === poisonCall) v[3] = NaN;
      return tf.tensor2d(v, [n, 2]);
    },
    dispose: () => {},
  } as unknown as GenerativeModel & { calls: number[] };
}

test('writeSamples calls the model in batches, streams every row, leaks no tensor; a NaN batch writes nothing', async () => {
  await initBackend('cpu', { quiet: true });
  const root = tmp();
  const m = countingModel();
  const out = path.join(root, 'rows.csv');
  const before = tf.memory().numTensors;
  await writeSamples(m, { n: 1050, batchSize: 100, out });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(m.calls, [...Array<number>(10).fill(100), 50]);
  const rows = parseRows(fs.readFileSync(out, 'utf8'));
  assert.equal(rows.length, 1050);
  rows.forEach((r, i) => assert.deepEqual(r, [i, 2 * i]));

  const bad = countingModel(3);
  const out2 = path.join(root, 'bad.csv');
  await assert.rejects(writeSamples(bad, { n: 1050, batchSize: 100, out: out2 }), NonFiniteSampleError);
  assert.deepEqual(bad.calls, [100, 100, 100, 100], 'stops at the bad batch');
  assert.deepEqual(fs.readdirSync(root), ['rows.csv'], 'no file and no temp file left');
  await assert.rejects(writeSamples(m, { n: LIMITS.csvRows + 1, out: out2 }), UserError);
  assert.equal(m.calls.length, 11, 'over the cap: the model is not called');
  fs.rmSync(root, { recursive: true, force: true });
});

test('GridBuilder fed batch by batch paints the same pixels as imageGrid at once', () => {
  for (const shape of [
    [5, 4, 1],
    [3, 6, 3],
  ]) {
    const n = 23;
    const D = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n * D }, (_, i) => ((i * 37) % 101) / 100 - 0.05);
    const whole = imageGrid(data, [n, ...shape], { nrow: 6 });
    const g = new GridBuilder(n, shape, { nrow: 6 });
    for (let i = 0; i < n; i += 7) {
      const k = Math.min(7, n - i);
      g.add(data.subarray(i * D, (i + k) * D), k);
    }
    assert.equal(g.canvas.width, whole.width);
    assert.equal(g.canvas.height, whole.height);
    assert.ok(Buffer.compare(g.canvas.png.data, whole.png.data) === 0, `shape ${shape}`);
  }
});

test('interpolate decodes the path in batches: x_a, z(t) decoded, x_b; --steps is capped', async () => {
  await initBackend('cpu', { quiet: true });
  const ds = loadDataset(parseDataArg('mnist-fixture', { binarize: 'none' }));
  const D = 28 * 28;
  const decodes: number[] = [];
  // encode: z = the mean pixel of x (one latent number); decode: an image filled with z
  const m = {
    kind: 'fake-ae',
    spec: ds.spec,
    taxonomy: { family: 'latent', density: 'bound', sampling: 'one-shot', latent: true, conditional: false },
    encode: (x: tf.Tensor) => tf.mean(tf.reshape(x, [x.shape[0]!, -1]), 1, true),
    decode: (z: tf.Tensor) => {
      decodes.push(z.shape[0]!);
      return tf.reshape(tf.tile(z, [1, D]), [z.shape[0]!, 28, 28, 1]);
    },
    dispose: () => {},
  } as unknown as GenerativeModel;
  const before = tf.memory().numTensors;
  const vals = await interpolate(m, ds, { a: 3, b: 7, steps: 50, batchSize: 16 });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(decodes, [16, 16, 16, 2]);
  assert.equal(vals.length, 52 * D);
  assert.deepEqual(vals.subarray(0, D), ds.test.x.subarray(3 * D, 4 * D));
  assert.deepEqual(vals.subarray(51 * D), ds.test.x.subarray(7 * D, 8 * D));
  const mean = (i: number) => ds.test.x.subarray(i * D, (i + 1) * D).reduce((a, v) => a + v, 0) / D;
  const [za, zb] = [mean(3), mean(7)];
  for (const i of [0, 17, 49]) {
    const want = za + (i / 49) * (zb - za);
    assert.ok(Math.abs(vals[(i + 1) * D]! - want) < 1e-5, `step ${i}: ${vals[(i + 1) * D]} vs ${want}`);
  }
  await assert.rejects(async () => {
    for await (const _ of interpolateBatches(m, ds, { steps: LIMITS.interpolateSteps + 1 })) void _;
  }, /--steps must be an integer in 2\.\.256/);
});

test('interpolate a VAE from the command: CSV rows x_a, path, x_b; PNG; caps and extensions', () => {
  const root = tmp();
  const run = path.join(root, 'v');
  const t = cli([
    'train',
    'vae',
    '--data',
    'mnist-fixture',
    '--epochs',
    '1',
    '--set',
    'latentDim=4',
    '--out',
    run,
  ]);
  assert.equal(t.status, 0, t.stderr);
  const csv = path.join(root, 'i.csv');
  const r = cli([
    'interpolate',
    run,
    '--a',
    '2',
    '--b',
    '5',
    '--steps',
    '12',
    '--batch-size',
    '5',
    '--out',
    csv,
  ]);
  assert.equal(r.status, 0, r.stderr);
  const rows = parseRows(fs.readFileSync(csv, 'utf8'));
  assert.equal(rows.length, 14);
  const ds = loadDataset(parseDataArg('mnist-fixture'));
  const D = 28 * 28;
  const close = (a: number[], b: Float32Array) => a.every((v, i) => Math.abs(v - b[i]!) < 1e-5);
  assert.ok(close(rows[0]!, ds.test.x.subarray(2 * D, 3 * D)), 'first row: test image a');
  assert.ok(close(rows[13]!, ds.test.x.subarray(5 * D, 6 * D)), 'last row: test image b');
  for (const row of rows) assert.equal(row.length, D);
  const png = path.join(root, 'i.png');
  assert.equal(cli(['interpolate', run, '--out', png]).status, 0);
  assert.deepEqual([...fs.readFileSync(png).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  oneLineError(
    cli(['interpolate', run, '--out', png, '--steps', '257']),
    /--steps must be an integer in 2\.\.256/,
  );
  oneLineError(cli(['interpolate', run, '--out', path.join(root, 'i.gif')]), /unknown extension '\.gif'/);
  fs.rmSync(root, { recursive: true, force: true });
});
