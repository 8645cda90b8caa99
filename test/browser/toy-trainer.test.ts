// The page's live training (src/browser/train.ts ToyTrainer) in Node: the training loop's own runStep on an
// in-memory StepRun (src/train/step-run.ts createStepRun, no run directory); 60 steps lower the loss, the
// step counter and epochs advance, and dispose() frees every tensor it made.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerAllGradients } from '../../src/backend/gradients.js';
import { ToyTrainer } from '../../src/browser/train.js';
import '../../src/families/index.js';
import { createStepRun } from '../../src/train/step-run.js';
import { createModel } from '../../src/core/registry.js';
import { loadToy } from '../../src/data/toy.js';

test('ToyTrainer: 60 steps of a MAF on moons lower the loss; dispose frees its tensors', async () => {
  await tf.setBackend('cpu');
  await registerAllGradients();
  const before = tf.memory().numTensors;
  const tr = new ToyTrainer({
    model: 'maf',
    data: 'moons',
    lr: 3e-3,
    batchSize: 64,
    dataOptions: { nTrain: 512 },
  });
  const losses: number[] = [];
  for (let i = 0; i < 60; i++) losses.push(Object.values(tr.step().losses)[0]!);
  assert.ok(losses.every(Number.isFinite));
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(
    mean(losses.slice(-10)) < mean(losses.slice(0, 10)),
    `${losses.slice(0, 3)} ... ${losses.slice(-3)}`,
  );
  assert.equal(tr.history.length, 60);
  assert.equal(tr.history.at(-1)!.step, 60);
  // 512 / 64 = 8 steps per epoch
  assert.equal(tr.history.at(-1)!.epoch, 7);
  tr.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('createStepRun: one Adam per objective over the model variables, with its settings', () => {
  const ds = loadToy('moons', { nTrain: 64 });
  const model = createModel('maf', {}, ds.spec, 0);
  const run = createStepRun(model, { optim: { lr: 0.01, clipNorm: 2 }, seed: 4 });
  assert.deepEqual(
    [...run.optimizers.keys()],
    model.objectives().map((o) => o.name),
  );
  const trained = [...run.optimizers.values()].flatMap((o) => [...o.params.keys()]).sort();
  // keyed by the model's names: each objective's variables, and nothing else
  const byTf = new Map([...model.variables()].map(([n, v]) => [v.name, n]));
  const want = model.objectives().flatMap((o) => o.variables().map((v) => byTf.get(v.name)!));
  assert.deepEqual(trained, want.sort());
  assert.equal(run.optimCfg.lr, 0.01);
  assert.equal(run.cfg.clipNorm, 2);
  assert.equal(run.state.step, 0);
  run.dispose();
  model.dispose();
});
