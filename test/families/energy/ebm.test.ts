import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../../src/core/model.js';
import '../../../src/families/energy/index.js';
import { EBM } from '../../../src/families/energy/ebm.js';
import { gridDensity } from '../../../src/families/energy/grid.js';
import { ReplayBuffer, sgld } from '../../../src/families/energy/sgld.js';
import { loadCheckpoint } from '../../../src/train/checkpoint.js';
import { makeTrainConfig, train, type StepRecord } from '../../../src/train/loop.js';
import { fakeDataset } from '../../train/tiny.js';
import { useCpu } from './helpers.js';

await useCpu();

const VEC2 = { kind: 'vector' as const, shape: [2], domain: 'real' as const };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gm-ebm-'));
const quiet = { progress: 'none' as const, log: () => {}, images: false };

test('SGLD on a Gaussian energy: mean mu and the unadjusted-Langevin variance s^2 / (1 - eta / (2 s^2))', () => {
  const mu = [1, -2];
  const s = [1, 0.5];
  // E(x) = sum_d (x_d - mu_d)^2 / (2 s_d^2); x' = x - eta dE + sqrt(2 eta) xi is an AR(1) per dimension with
  // stationary variance 2 eta / (1 - (1 - eta / s^2)^2) = s^2 / (1 - eta / (2 s^2))
  const energy = (x: tf.Tensor) =>
    tf.tidy(() => tf.sum(tf.div(tf.square(tf.sub(x, mu)), tf.mul(2, tf.square(s))), 1) as tf.Tensor1D);
  const M = 10000;
  for (const eta of [0.02, 0.1]) {
    const x = sgld(energy, tf.zeros([M, 2]), {
      steps: 400,
      stepSize: eta,
      noise: Math.sqrt(2 * eta),
      seed: 4,
    });
    const { mean, variance } = tf.moments(x, 0);
    const m = mean.arraySync() as number[];
    const v = variance.arraySync() as number[];
    for (let d = 0; d < 2; d++) {
      const want = s[d]! ** 2 / (1 - eta / (2 * s[d]! ** 2));
      // 4 standard errors: se(mean) = sqrt(v / M), se(var) = v sqrt(2 / M)
      assert.ok(Math.abs(m[d]! - mu[d]!) < 4 * Math.sqrt(want / M), `eta ${eta} mean[${d}] ${m[d]}`);
      assert.ok(
        Math.abs(v[d]! - want) < 4 * want * Math.sqrt(2 / M),
        `eta ${eta} var[${d}] ${v[d]} vs ${want}`,
      );
    }
    // at eta = 0.1 the discretization bias of dimension 2 (s = 0.5: 0.3125 vs 0.25) is visible
    if (eta === 0.1) assert.ok(v[1]! > 0.25 + 6 * 0.3125 * Math.sqrt(2 / M));
    tf.dispose([x, mean, variance]);
  }
});

test('SGLD negatives are constants to the outer gradient, and the EBM step keeps the tensor count flat', () => {
  const m = new EBM({ hidden: [16], bufferSize: 64, sgldSteps: 3 }, VEC2, 1);
  const x = tf.randomNormal([16, 2], 0, 1, 'float32', 2);
  const [obj] = m.objectives();
  const seeds = [11, 12];
  let i = 0;
  const ctx = { step: 0, epoch: 0, seed: () => seeds[i++ % 2]!, training: true };
  const before = m.buffer.data.clone();
  const { grads } = tf.variableGrads(() => obj!.loss({ x }, ctx).loss, obj!.variables());
  // the same negatives by hand: draw + chain with the same seeds from the same buffer
  const buf = new ReplayBuffer(64, [2], (n, s) => m.fresh(n, s), 0);
  buf.data.assign(before);
  const { idx, x: x0 } = buf.draw(16, m.cfg.restart, 11);
  const xNeg = m.chain(x0, 3, 12);
  const alpha = m.cfg.alpha;
  const f = () => {
    const eP = m.energy(x);
    const eN = m.energy(xNeg);
    return tf.add(
      tf.sub(tf.mean(eP), tf.mean(eN)),
      tf.mul(alpha, tf.add(tf.mean(tf.square(eP)), tf.mean(tf.square(eN)))),
    ) as tf.Scalar;
  };
  const want = tf.variableGrads(f, obj!.variables()).grads;
  for (const k of Object.keys(want))
    assert.ok(tf.max(tf.abs(tf.sub(grads[k]!, want[k]!))).dataSync()[0]! < 1e-5, k);
  // the buffer rows drawn now hold the chain's end points, the others are unchanged
  const after = m.buffer.data.arraySync() as number[][];
  const negRows = xNeg.arraySync() as number[][];
  const old = before.arraySync() as number[][];
  const drawn = new Set(idx);
  idx.forEach((r, j) => assert.deepEqual(after[r], negRows[j]));
  for (let r = 0; r < 64; r++) if (!drawn.has(r)) assert.deepEqual(after[r], old[r]);
  tf.dispose([...Object.values(grads), ...Object.values(want), before, x0, xNeg]);
  buf.data.dispose();
  const n0 = tf.memory().numTensors;
  for (let t = 0; t < 3; t++) {
    const r = tf.variableGrads(() => obj!.loss({ x }, ctx).loss, obj!.variables());
    tf.dispose([r.value, ...Object.values(r.grads)]);
  }
  assert.equal(tf.memory().numTensors, n0);
  m.dispose();
});

test('replay buffer: distinct rows, restart fraction, all draws from the seed', () => {
  const buf = new ReplayBuffer(1000, [3], (n, s) => tf.randomUniform([n, 3], 5, 6, 'float32', s), 1);
  buf.data.assign(tf.zeros([1000, 3]));
  const a = buf.draw(500, 0.2, 9);
  assert.equal(new Set(a.idx).size, 500);
  const rows = a.x.arraySync() as number[][];
  const fresh = rows.filter((r) => r[0]! >= 5).length;
  // Binomial(500, 0.2): mean 100, sd ~8.9
  assert.ok(Math.abs(fresh - 100) < 4 * 8.95, `fresh ${fresh}`);
  assert.ok(rows.every((r) => r[0] === 0 || (r[0]! >= 5 && r.every((v) => v >= 5))));
  const b = buf.draw(500, 0.2, 9);
  assert.deepEqual(Array.from(b.idx), Array.from(a.idx));
  assert.deepEqual(b.x.arraySync(), rows);
  tf.dispose([a.x, b.x]);
  buf.data.dispose();
});

test("sampleInit 'buffer': chains start at distinct buffer rows (cycling past bufferSize), buffer unchanged", () => {
  const m = new EBM({ hidden: [8], bufferSize: 5, sampleInit: 'buffer' }, VEC2, 3);
  const rows = [0, 1, 2, 3, 4].map((i) => [10 * i + 1, -10 * i - 1]);
  m.buffer.data.assign(tf.tensor2d(rows));
  const key = (r: number[]) => r.join(',');
  const stored = new Set(rows.map(key));
  // 0 steps: the samples are the chains' starting points
  const x = m.sample(12, { steps: 0, seed: 4 });
  const got = (x.arraySync() as number[][]).map(key);
  assert.ok(
    got.every((r) => stored.has(r)),
    'every start is a buffer row',
  );
  for (const block of [got.slice(0, 5), got.slice(5, 10)])
    assert.equal(new Set(block).size, 5, 'distinct per block');
  assert.deepEqual(m.buffer.data.arraySync(), rows, 'sampling leaves the buffer as it was');
  // with steps, SGLD moves them (the default noise init would not start at the rows at all)
  const moved = m.sample(5, { steps: 3, seed: 4 }).arraySync() as number[][];
  assert.ok(moved.every((r) => !stored.has(key(r))));
  const noise = new EBM({ hidden: [8], bufferSize: 5 }, VEC2, 3);
  noise.buffer.data.assign(tf.tensor2d(rows));
  const y = noise.sample(5, { steps: 0, seed: 4 }).arraySync() as number[][];
  assert.ok(
    y.every((r) => !stored.has(key(r))),
    "sampleInit 'noise' (the default) starts from fresh noise",
  );
  x.dispose();
  m.dispose();
  noise.dispose();
});

test('resume with a replay buffer gives the identical loss curve and buffer', async () => {
  const ds = fakeDataset(40, 16, 2);
  const cfg = makeTrainConfig({ epochs: 2, batchSize: 4, lr: 0.01, seed: 5, logEvery: 1 });
  const opts = { hidden: [16, 16], bufferSize: 32, sgldSteps: 4 };
  const a = tmp();
  const m1 = new EBM(opts, ds.spec, cfg.seed);
  await train({ model: m1, dataset: ds, outDir: a, config: { ...cfg, maxSteps: 4 }, ...quiet });
  const fullBuffer = m1.buffer.data.arraySync();
  m1.dispose();

  const b = tmp();
  const m2 = new EBM(opts, ds.spec, cfg.seed);
  await train({ model: m2, dataset: ds, outDir: b, config: { ...cfg, maxSteps: 2 }, ...quiet });
  m2.dispose();
  const ck = loadCheckpoint(b);
  await train({
    model: ck.model,
    dataset: ds,
    outDir: b,
    config: { ...cfg, maxSteps: 4 },
    resume: ck,
    ...quiet,
  });
  const resumedBuffer = (ck.model as EBM).buffer.data.arraySync();
  ck.model.dispose();

  const losses = (dir: string) =>
    fs
      .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as StepRecord)
      .filter((r) => r.type === 'train')
      .map((r) => r.losses.cd);
  const la = losses(a);
  assert.equal(la.length, 4);
  assert.deepEqual(losses(b), la);
  assert.deepEqual(resumedBuffer, fullBuffer);
  // the buffer matters: a run whose buffer starts elsewhere has another curve
  const c = tmp();
  const m3 = new EBM({ ...opts, noiseRange: [-1, 1] }, ds.spec, cfg.seed);
  await train({ model: m3, dataset: ds, outDir: c, config: { ...cfg, maxSteps: 4 }, ...quiet });
  m3.dispose();
  assert.notDeepEqual(losses(c), la);
});

test('grid density: exp(-E) normalized on the grid integrates to 1 and matches N(0, I) for E = |x|^2 / 2', () => {
  const g = gridDensity(
    (x) => tf.tidy(() => tf.mul(0.5, tf.sum(tf.square(x), 1)) as tf.Tensor1D),
    [-6, 6],
    [-6, 6],
    120,
  );
  const cell = (12 / 120) ** 2;
  assert.ok(Math.abs(g.density.reduce((s, p) => s + p, 0) * cell - 1) < 1e-4);
  assert.ok(Math.abs(g.logZ - Math.log(2 * Math.PI)) < 1e-3);
  // the cell at (0.05, 0.05): row j = 60, column i = 60
  const p = g.density[60 * 120 + 60]!;
  assert.ok(Math.abs(p - Math.exp(-0.0025) / (2 * Math.PI)) < 1e-4);
  // the EBM's own grid density has the same normalization
  const m = new EBM({ hidden: [8] }, VEC2, 3);
  const mg = m.gridDensity([-2, 2], [-1, 3], 50);
  assert.ok(Math.abs(mg.density.reduce((s, q) => s + q, 0) * (16 / 2500) - 1) < 1e-4);
  m.dispose();
});

test('EBM samples by SGLD with progress; bad SGLD options are one-line UserErrors', () => {
  const m = new EBM({ hidden: [8], sampleSteps: 7 }, VEC2, 3);
  const seen: number[] = [];
  const x = m.sample(5, { seed: 1, onStep: (i, total) => seen.push(i * 100 + total) });
  assert.deepEqual(x.shape, [5, 2]);
  assert.deepEqual(seen, [107, 207, 307, 407, 507, 607, 707]);
  assert.equal(m.energy(x).shape[0], 5);
  x.dispose();
  m.dispose();
  const oneLine = (re: RegExp) => (e: Error) =>
    e instanceof UserError && re.test(e.message) && !e.message.includes('\n');
  assert.throws(() => new EBM({ stepSize: -0.1 }, VEC2, 1), oneLine(/step size/));
  assert.throws(() => new EBM({ noise: -1 }, VEC2, 1), oneLine(/noise/));
  assert.throws(() => new EBM({ arch: 'conv' }, VEC2, 1), oneLine(/conv/));
  assert.throws(
    () =>
      sgld((v) => tf.sum(v, 1) as tf.Tensor1D, tf.zeros([1, 2]), {
        steps: 1,
        stepSize: -1,
        noise: 0,
        seed: 0,
      }),
    oneLine(/step size/),
  );
});

test('conv energy on images: shapes, clamped SGLD samples in [0, 1]', () => {
  const spec = { kind: 'image' as const, shape: [8, 8, 1], domain: 'unit' as const };
  const m = new EBM({ channels: [4, 8], sgldSteps: 2, sampleSteps: 3, bufferSize: 16 }, spec, 1);
  assert.equal(m.cfg.arch, 'conv');
  const x = m.sample(3, { seed: 2 });
  assert.deepEqual(x.shape, [3, 8, 8, 1]);
  const v = x.dataSync();
  assert.ok(v.every((p) => p >= 0 && p <= 1));
  x.dispose();
  m.dispose();
});
