import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadCheckpoint, readCheckpointConfig } from '../../src/train/checkpoint.js';
import { UserError } from '../../src/core/model.js';
import type { DataSpec } from '../../src/data/spec.js';
import {
  exitCodeFor,
  makeTrainConfig,
  MAX_SAMPLE_N,
  NonFiniteLossError,
  train,
  TRAIN_DEFAULTS,
  TrainConfigSchema,
  type StepRecord,
} from '../../src/train/loop.js';
import { DiagGauss, fakeDataset, VEC_SPEC } from './tiny.js';

await tf.setBackend('cpu');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gm-loop-'));
const quiet = { progress: 'none' as const, log: () => {} };
const loadCheckpointEpoch = (dir: string) => readCheckpointConfig(dir).config.state.epoch;
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

test('evalEvery: evaluates every N epochs and after the last, checkpoints every epoch', async () => {
  const out = tmp();
  const m = new DiagGauss(VEC_SPEC, {}, 0);
  const cfg = makeTrainConfig({ epochs: 5, batchSize: 8, seed: 0, sampleN: 0, evalEvery: 2 });
  const epochsSaved: number[] = [];
  await train({
    model: m,
    dataset: fakeDataset(16, 8),
    outDir: out,
    config: cfg,
    images: false,
    onStep: () => {
      if (fs.existsSync(path.join(out, 'checkpoint'))) epochsSaved.push(loadCheckpointEpoch(out));
    },
    ...quiet,
  });
  m.dispose();
  const evals = readJsonl(path.join(out, 'metrics.jsonl')).filter((r) => r.type === 'eval');
  assert.deepEqual(
    evals.map((r) => r.epoch),
    [2, 4, 5],
  );
  assert.deepEqual([...new Set(epochsSaved)], [1, 2, 3, 4]); // seen during the next epoch's steps
  assert.throws(() => makeTrainConfig({ evalEvery: 0 }), UserError);
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

test('makeTrainConfig: one zod schema with defaults and descriptions; sampleN capped; unknown keys get the nearest name', () => {
  assert.deepEqual(makeTrainConfig(), TRAIN_DEFAULTS);
  for (const [k, f] of Object.entries(TrainConfigSchema.shape))
    assert.ok((f.description ?? '').length > 5, `${k} has no description`);
  assert.equal(makeTrainConfig({ sampleN: MAX_SAMPLE_N }).sampleN, MAX_SAMPLE_N);
  assert.throws(
    () => makeTrainConfig({ sampleN: MAX_SAMPLE_N + 1 }),
    (e: Error) =>
      e instanceof UserError &&
      e.message === `sampleN must be an integer in [0, ${MAX_SAMPLE_N}], got ${MAX_SAMPLE_N + 1}`,
  );
  assert.throws(() => makeTrainConfig({ sampleN: 1e9 }), /sampleN must be an integer in \[0, 1024\]/);
  assert.throws(
    () => makeTrainConfig({ epoch: 3 } as never),
    /unknown training option 'epoch' \(did you mean 'epochs'\?\)/,
  );
  assert.throws(() => makeTrainConfig({ batchsize: 3 } as never), /did you mean 'batchSize'/);
  assert.throws(
    () => makeTrainConfig({ zzzzzzzz: 3 } as never),
    (e: Error) => !/did you mean/.test(e.message),
  );
  assert.throws(() => makeTrainConfig({ epochs: 2.5 }), /epochs must be an integer >= 1, got 2.5/);
  assert.throws(() => makeTrainConfig({ lr: '1e-3' }), /lr must be a positive number, got "1e-3"/);
  assert.throws(() => makeTrainConfig({ ema: 1 }), /ema must be in \[0, 1\) \(0 = off\), got 1/);
  assert.throws(() => makeTrainConfig({ clipNorm: Infinity }), /clipNorm must be non-negative/);
});

const SPEC2: DataSpec = { kind: 'vector', shape: [2], domain: 'real' };

test('pictures come after the checkpoint: samples.png being a directory is a warning, the epoch is kept', async () => {
  const ds = fakeDataset(16, 8, 2);
  const dir = tmp();
  fs.mkdirSync(path.join(dir, 'samples.png'), { recursive: true }); // cannot be replaced by a file
  const m = new DiagGauss(SPEC2, {}, 4);
  const warnings: string[] = [];
  const res = await train({
    model: m,
    dataset: ds,
    outDir: dir,
    config: makeTrainConfig({ epochs: 2, batchSize: 4, seed: 4, sampleN: 16 }),
    progress: 'none',
    log: (l) => warnings.push(l),
  });
  m.dispose();
  assert.equal(res.stopped, 'done');
  assert.equal(res.epoch, 2);
  const ck = loadCheckpoint(dir);
  assert.equal(ck.config.state.epoch, 2);
  assert.equal(ck.config.state.step, 8);
  ck.model.dispose();
  const recs = readJsonl(path.join(dir, 'metrics.jsonl')).filter((r) => r.type === 'warning');
  assert.equal(recs.length, 2, JSON.stringify(recs));
  assert.match(String(recs[0]!.message), /samples\.png of epoch 1 not written/);
  assert.ok(warnings.some((w) => /^warning: samples\.png/.test(w)));
  // the other pictures are still written
  for (const f of ['density.png', 'loss.png']) assert.ok(fs.statSync(path.join(dir, f)).isFile(), f);
});

test('resume after maxSteps trains on: the limit belongs to one invocation', async () => {
  const ds = fakeDataset(12, 8);
  const cfg = makeTrainConfig({ epochs: 3, batchSize: 4, lr: 0.05, seed: 5, logEvery: 1 });
  const a = tmp();
  const m1 = new DiagGauss(VEC_SPEC, {}, cfg.seed);
  const full = await train({ model: m1, dataset: ds, outDir: a, config: cfg, ...quiet });
  m1.dispose();
  const b = tmp();
  const m2 = new DiagGauss(VEC_SPEC, {}, cfg.seed);
  const first = await train({ model: m2, dataset: ds, outDir: b, config: { ...cfg, maxSteps: 5 }, ...quiet });
  m2.dispose();
  assert.equal(first.stopped, 'maxSteps');
  const fresh = () => loadCheckpoint(b);
  let ck = fresh();
  assert.equal('maxSteps' in (ck.config.train as object), false, 'maxSteps must not be recorded');
  // as the CLI does: the recorded config, nothing else given -> trains to the end, same as uninterrupted
  const rest = await train({
    model: ck.model,
    dataset: ds,
    outDir: b,
    config: makeTrainConfig({ ...(ck.config.train as object) }),
    resume: ck,
    ...quiet,
  });
  ck.model.dispose();
  assert.equal(rest.stopped, 'done');
  assert.equal(rest.step, full.step);
  assert.deepEqual(
    rest.history.map((r) => r.losses.nll),
    full.history.map((r) => r.losses.nll),
  );

  // a checkpoint from before this change records maxSteps: the reached limit is dropped on resume
  const c = tmp();
  const m3 = new DiagGauss(VEC_SPEC, {}, cfg.seed);
  await train({ model: m3, dataset: ds, outDir: c, config: { ...cfg, maxSteps: 5 }, ...quiet });
  m3.dispose();
  ck = loadCheckpoint(c);
  const old = { ...ck, config: { ...ck.config, train: { ...(ck.config.train as object), maxSteps: 5 } } };
  const legacy = await train({
    model: ck.model,
    dataset: ds,
    outDir: c,
    config: makeTrainConfig({ ...(old.config.train as object) }),
    resume: old,
    ...quiet,
  });
  ck.model.dispose();
  assert.equal(legacy.step, full.step);

  // a new limit the run has already passed is a one-line error; a larger one stops there
  const d = tmp();
  const m4 = new DiagGauss(VEC_SPEC, {}, cfg.seed);
  await train({ model: m4, dataset: ds, outDir: d, config: { ...cfg, maxSteps: 5 }, ...quiet });
  m4.dispose();
  ck = loadCheckpoint(d);
  await assert.rejects(
    train({ model: ck.model, dataset: ds, outDir: d, config: { ...cfg, maxSteps: 3 }, resume: ck, ...quiet }),
    (e: Error) => e instanceof UserError && /already at step 5/.test(e.message),
  );
  const more = await train({
    model: ck.model,
    dataset: ds,
    outDir: d,
    config: { ...cfg, maxSteps: 7 },
    resume: ck,
    ...quiet,
  });
  ck.model.dispose();
  assert.equal(more.step, 7);
  assert.equal(more.stopped, 'maxSteps');
});

for (const [sig, code] of [
  ['SIGTERM', 143],
  ['SIGHUP', 129],
  ['SIGINT', 130],
] as const) {
  test(`${sig} stops like Ctrl-C: the step finishes, a checkpoint is saved, the result names the signal`, async () => {
    const ds = fakeDataset(400, 8);
    const dir = tmp();
    const listeners = process.listenerCount(sig);
    const m = new DiagGauss(VEC_SPEC, {}, 2);
    const res = await train({
      model: m,
      dataset: ds,
      outDir: dir,
      config: makeTrainConfig({ epochs: 1, batchSize: 4, seed: 2 }),
      handleSignals: true,
      onStep: (r) => {
        if (r.step === 3) process.kill(process.pid, sig);
      },
      ...quiet,
    });
    const mu = Array.from(m.mu.dataSync());
    m.dispose();
    assert.equal(res.interrupted, true);
    assert.equal(res.signal, sig);
    assert.equal(exitCodeFor(res), code);
    assert.ok(res.step >= 3 && res.step < 100, `step ${res.step}`);
    const ck = loadCheckpoint(dir);
    assert.equal(ck.config.state.step, res.step);
    assert.deepEqual(Array.from((ck.model as DiagGauss).mu.dataSync()), mu);
    ck.model.dispose();
    assert.equal(process.listenerCount(sig), listeners, 'the handler is removed again');
  });
}
