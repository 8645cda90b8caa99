import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { makeTrainConfig, NonFiniteLossError, train, type StepRecord } from '../../src/train/loop.js';
import { DiagGauss, fakeDataset, VEC_SPEC } from './tiny.js';

await tf.setBackend('cpu');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gm-loop-'));
const quiet = { progress: 'none' as const, log: () => {} };
const readJsonl = (f: string) =>
  fs
    .readFileSync(f, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('resume continues the same run: 2 steps + resume 2 steps == 4 uninterrupted steps', async () => {
  const ds = fakeDataset(40, 16);
  // 10 batches per epoch; 4 steps stays inside epoch 1, so resume happens mid-epoch (data order + RNG + Adam state)
  const cfg = makeTrainConfig({
    epochs: 2,
    batchSize: 4,
    lr: 0.05,
    seed: 7,
    logEvery: 1,
    ema: 0.9,
    clipNorm: 1,
  });
  const a = tmp();
  const m1 = new DiagGauss(VEC_SPEC, { jitter: 0.05 }, cfg.seed);
  const full = await train({ model: m1, dataset: ds, outDir: a, config: { ...cfg, maxSteps: 4 }, ...quiet });
  assert.equal(full.stopped, 'maxSteps');
  assert.equal(full.step, 4);
  const fullMu = Array.from(m1.mu.dataSync());
  m1.dispose();

  const b = tmp();
  const m2 = new DiagGauss(VEC_SPEC, { jitter: 0.05 }, cfg.seed);
  const half = await train({ model: m2, dataset: ds, outDir: b, config: { ...cfg, maxSteps: 2 }, ...quiet });
  assert.equal(half.step, 2);
  m2.dispose();
  // a stray metrics line from after the checkpoint (as after a crash) must be dropped on resume
  fs.appendFileSync(
    path.join(b, 'metrics.jsonl'),
    JSON.stringify({ type: 'train', step: 3, losses: { nll: 123 } }) + '\n',
  );
  const ck = loadCheckpoint(b);
  assert.equal(ck.config.state.step, 2);
  assert.equal(ck.config.state.stepInEpoch, 2);
  const rest = await train({
    model: ck.model,
    dataset: ds,
    outDir: b,
    config: { ...cfg, maxSteps: 4 },
    resume: ck,
    ...quiet,
  });
  assert.equal(rest.step, 4);
  const resumedMu = Array.from((ck.model as DiagGauss).mu.dataSync());
  ck.model.dispose();

  const la = readJsonl(path.join(a, 'metrics.jsonl')).filter(
    (r) => r.type === 'train',
  ) as unknown as StepRecord[];
  const lb = readJsonl(path.join(b, 'metrics.jsonl')).filter(
    (r) => r.type === 'train',
  ) as unknown as StepRecord[];
  assert.deepEqual(
    lb.map((r) => r.step),
    [1, 2, 3, 4],
  );
  assert.deepEqual(
    lb.map((r) => r.losses.nll),
    la.map((r) => r.losses.nll),
  );
  assert.deepEqual(resumedMu, fullMu);
  // the loss must actually depend on the RNG for this to mean anything: a different seed gives other losses
  const c = tmp();
  const m3 = new DiagGauss(VEC_SPEC, { jitter: 0.05 }, cfg.seed);
  const other = await train({
    model: m3,
    dataset: ds,
    outDir: c,
    config: { ...cfg, seed: 8, maxSteps: 4 },
    ...quiet,
  });
  m3.dispose();
  assert.notDeepEqual(
    other.history.map((r) => r.losses.nll),
    la.map((r) => r.losses.nll),
  );
});

test('resume across an epoch boundary matches the uninterrupted run, including evaluation', async () => {
  const ds = fakeDataset(12, 8);
  const cfg = makeTrainConfig({
    epochs: 3,
    batchSize: 4,
    lr: 0.05,
    seed: 3,
    logEvery: 1,
    schedule: 'cosine',
    warmupSteps: 2,
  });
  const a = tmp();
  const m1 = new DiagGauss(VEC_SPEC, {}, cfg.seed);
  const full = await train({ model: m1, dataset: ds, outDir: a, config: cfg, ...quiet });
  m1.dispose();
  assert.equal(full.stopped, 'done');
  assert.equal(full.epoch, 3);
  const b = tmp();
  const m2 = new DiagGauss(VEC_SPEC, {}, cfg.seed);
  await train({ model: m2, dataset: ds, outDir: b, config: { ...cfg, maxSteps: 5 }, ...quiet });
  m2.dispose();
  const ck = loadCheckpoint(b);
  const rest = await train({ model: ck.model, dataset: ds, outDir: b, config: cfg, resume: ck, ...quiet });
  ck.model.dispose();
  assert.equal(rest.step, 9);
  const strip = (rs: Record<string, unknown>[]) => rs.map(({ time: _t, ...r }) => r);
  assert.deepEqual(
    strip(readJsonl(path.join(b, 'metrics.jsonl'))),
    strip(readJsonl(path.join(a, 'metrics.jsonl'))),
  );
  const evals = readJsonl(path.join(a, 'metrics.jsonl')).filter((r) => r.type === 'eval');
  assert.equal(evals.length, 3);
  assert.ok(fs.existsSync(path.join(a, 'loss.png')));
});

test('tensor count stays flat over many steps', async () => {
  const before = tf.memory().numTensors;
  const m = new DiagGauss(VEC_SPEC, {}, 0);
  const counts: number[] = [];
  const cfg = makeTrainConfig({ epochs: 2, batchSize: 2, seed: 0, ema: 0.99, clipNorm: 0.5, sampleN: 0 });
  const res = await train({
    model: m,
    dataset: fakeDataset(200, 8),
    outDir: tmp(),
    config: cfg,
    images: false,
    onStep: () => counts.push(tf.memory().numTensors),
    ...quiet,
  });
  assert.equal(res.step, 200);
  assert.equal(counts.length, 200);
  assert.equal(
    Math.max(...counts) - Math.min(...counts),
    0,
    `tensor count varied: ${Math.min(...counts)}..${Math.max(...counts)}`,
  );
  m.dispose();
  assert.equal(tf.memory().numTensors, before, 'optimizer / EMA state must be released at the end');
});

test('a non-finite loss stops training naming the step, without saving a NaN checkpoint', async () => {
  const ds = fakeDataset(40, 8);
  const dir = tmp();
  const cfg = makeTrainConfig({ epochs: 2, batchSize: 10, seed: 1 });
  // epoch 1 (4 steps) completes and is checkpointed; step 6 produces NaN
  const m = new DiagGauss(VEC_SPEC, { nanAt: 6 }, 1);
  await assert.rejects(
    train({ model: m, dataset: ds, outDir: dir, config: cfg, ...quiet }),
    (e: Error) => e instanceof NonFiniteLossError && /step 6\b/.test(e.message),
  );
  m.dispose();
  const ck = loadCheckpoint(dir);
  assert.equal(ck.config.state.step, 4);
  assert.ok(Array.from((ck.model as DiagGauss).mu.dataSync()).every(Number.isFinite));
  ck.model.dispose();
});

test('abort finishes the current step, saves a checkpoint and reports interrupted', async () => {
  const ds = fakeDataset(400, 8);
  const dir = tmp();
  const ctl = new AbortController();
  const m = new DiagGauss(VEC_SPEC, {}, 2);
  const res = await train({
    model: m,
    dataset: ds,
    outDir: dir,
    config: makeTrainConfig({ epochs: 1, batchSize: 4, seed: 2 }),
    signal: ctl.signal,
    onStep: (r) => {
      if (r.step === 3) ctl.abort();
    },
    ...quiet,
  });
  const mu = Array.from(m.mu.dataSync());
  m.dispose();
  assert.equal(res.interrupted, true);
  assert.equal(res.step, 3);
  const ck = loadCheckpoint(dir);
  assert.equal(ck.config.state.step, 3);
  assert.deepEqual(Array.from((ck.model as DiagGauss).mu.dataSync()), mu);
  ck.model.dispose();
});

test('an existing run is never overwritten without resume', async () => {
  const ds = fakeDataset(8, 4);
  const dir = tmp();
  const m = new DiagGauss(VEC_SPEC, {}, 0);
  await train({
    model: m,
    dataset: ds,
    outDir: dir,
    config: makeTrainConfig({ epochs: 1, batchSize: 4 }),
    ...quiet,
  });
  const before = fs.readFileSync(path.join(dir, 'checkpoint', 'model.safetensors'));
  await assert.rejects(
    train({
      model: m,
      dataset: ds,
      outDir: dir,
      config: makeTrainConfig({ epochs: 1, batchSize: 4 }),
      ...quiet,
    }),
    /already holds a run/,
  );
  assert.deepEqual(fs.readFileSync(path.join(dir, 'checkpoint', 'model.safetensors')), before);
  m.dispose();
});

test('makeTrainConfig rejects bad values with one-line UserErrors', () => {
  assert.throws(() => makeTrainConfig({ epochs: 0 }), /epochs must be an integer >= 1/);
  assert.throws(() => makeTrainConfig({ lr: -1 }), /lr must be a positive number/);
  assert.throws(() => makeTrainConfig({ schedule: 'exp' }), /schedule must be/);
  assert.throws(() => makeTrainConfig({ bogus: 1 } as never), /unknown training option 'bogus'/);
});
