// The ddpm and flow-matching models: parameterizations, determinism of DDIM, guidance, training on moons,
// tensor counts, option errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerAllGradients } from '../../../src/backend/gradients.js';
import { UserError, modelEntry, type GenerativeModel } from '../../../src/core/model.js';
import type { DataSpec } from '../../../src/data/spec.js';
import { loadDataset } from '../../../src/data/index.js';
import '../../../src/families/index.js';
import { DDPM } from '../../../src/families/diffusion/ddpm.js';
import { FlowMatching } from '../../../src/families/diffusion/flow-matching.js';
import { guidedPrediction } from '../../../src/families/diffusion/common.js';
import { evaluate } from '../../../src/eval/evaluate.js';
import { makeTrainConfig, train } from '../../../src/train/loop.js';
import { loadCheckpoint } from '../../../src/train/checkpoint.js';

await tf.setBackend('cpu');
await registerAllGradients();

const VEC: DataSpec = { kind: 'vector', shape: [2], domain: 'real', numClasses: 2 };
const IMG: DataSpec = { kind: 'image', shape: [8, 8, 1], domain: 'unit', levels: 256, numClasses: 3 };
const small = { hidden: 16, blocks: 1, T: 50 };
const ddpm = (over: Record<string, unknown> = {}, spec = VEC) =>
  new DDPM('ddpm', { ...small, ...over }, spec, 0);
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gm-diffusion-'));

test('registry: taxonomy of ddpm (bound) and flow-matching (none), iterative, latent, conditional as configured', () => {
  const a = modelEntry('ddpm').create({ ...modelEntry('ddpm').defaults, hidden: 8 }, VEC, 0);
  const b = modelEntry('flow-matching').create(
    { ...modelEntry('flow-matching').defaults, hidden: 8, conditional: true },
    VEC,
    0,
  );
  assert.deepEqual(a.taxonomy, {
    family: 'diffusion',
    density: 'bound',
    sampling: 'iterative',
    latent: true,
    conditional: false,
  });
  assert.deepEqual(b.taxonomy, {
    family: 'diffusion',
    density: 'none',
    sampling: 'iterative',
    latent: true,
    conditional: true,
  });
  // the saved config rebuilds the same model (checkpoints)
  const c = modelEntry('ddpm').create(a.config, VEC, 0);
  assert.deepEqual(c.config, a.config);
  assert.deepEqual([...c.variables().keys()], [...a.variables().keys()]);
  for (const m of [a, b, c]) m.dispose();
});

test('x0 and v parameterizations convert their true targets into the true noise', () => {
  for (const prediction of ['x0', 'v'] as const) {
    const model = ddpm({ prediction });
    tf.tidy(() => {
      const n = 6;
      const x0 = tf.randomNormal([n, 2], 0, 1, 'float32', 1);
      const eps = tf.randomNormal([n, 2], 0, 1, 'float32', 2);
      const t = tf.tensor1d([1, 5, 10, 25, 40, 50], 'int32');
      const xt = model.sched.qSample(x0, t, eps);
      const ab = model.sched.gather(model.sched.alphaBar, t, 2);
      const target =
        prediction === 'x0' ? x0 : tf.sub(tf.mul(tf.sqrt(ab), eps), tf.mul(tf.sqrt(tf.sub(1, ab)), x0));
      const got = model.epsFromOutput(target, xt, t);
      const err = tf.max(tf.abs(tf.sub(got, eps))).dataSync()[0]!;
      assert.ok(err < 2e-3, `${prediction}: max error ${err}`);
    });
    model.dispose();
  }
});

test('DDIM with eta = 0 is deterministic for a fixed seed; two seeds differ; DDPM and DDIM(eta=1) are seeded too', () => {
  const model = ddpm();
  const draw = (o: Record<string, unknown>) => tf.tidy(() => Array.from(model.sample(8, o).dataSync()));
  const a = draw({ sampler: 'ddim', steps: 10, eta: 0, seed: 3 });
  assert.deepEqual(draw({ sampler: 'ddim', steps: 10, eta: 0, seed: 3 }), a);
  assert.notDeepEqual(draw({ sampler: 'ddim', steps: 10, eta: 0, seed: 4 }), a);
  assert.deepEqual(
    draw({ sampler: 'ddim', steps: 10, eta: 1, seed: 3 }),
    draw({ sampler: 'ddim', steps: 10, eta: 1, seed: 3 }),
  );
  assert.notDeepEqual(draw({ sampler: 'ddim', steps: 10, eta: 1, seed: 3 }), a, 'eta = 1 adds noise');
  assert.deepEqual(draw({ seed: 5 }), draw({ seed: 5 }));
  let calls = 0;
  tf.tidy(() =>
    model.sample(2, { sampler: 'ddim', steps: 7, onStep: (i, total) => (calls++, assert.equal(total, 7)) }),
  );
  assert.equal(calls, 7);
  model.dispose();
});

test('classifier-free guidance: the guided prediction is the conditional one at w = 0, (1+w) c - w u otherwise', () => {
  const model = ddpm({ conditional: true });
  const net = model.net;
  tf.tidy(() => {
    const x = tf.randomNormal([5, 2], 0, 1, 'float32', 7);
    const t = tf.tensor1d([3, 10, 200, 500, 999]);
    const y = tf.tensor1d([0, 1, 1, 0, 1], 'int32');
    const cond = net.apply(x, t, y);
    const uncond = net.apply(x, t, tf.fill([5], 2, 'int32') as tf.Tensor1D);
    assert.ok(tf.max(tf.abs(tf.sub(cond, uncond))).dataSync()[0]! > 1e-4, 'label must matter for this check');
    const close = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! < 1e-5;
    assert.ok(close(guidedPrediction(net, x, t, y, 2, 0), cond));
    assert.ok(close(guidedPrediction(net, x, t, y, 2, 2.5), tf.sub(tf.mul(cond, 3.5), tf.mul(uncond, 2.5))));
  });
  model.dispose();
});

async function trainOn(model: GenerativeModel, steps: number) {
  const ds = loadDataset({ name: 'moons', options: { nTrain: 64 * steps, nTest: 64 } });
  const counts: number[] = [];
  const res = await train({
    model,
    dataset: ds,
    outDir: tmp(),
    config: makeTrainConfig({ epochs: 1, batchSize: 64, lr: 2e-3, seed: 1, sampleN: 0, logEvery: 1000 }),
    images: false,
    progress: 'none',
    log: () => {},
    onStep: () => counts.push(tf.memory().numTensors),
  });
  return { res, counts, ds };
}

/** the model's training loss on a fixed batch with fixed noise (deterministic, so before/after compare) */
function fixedLoss(model: GenerativeModel, x: tf.Tensor): number {
  return tf.tidy(() => {
    let total = 0;
    for (let k = 0; k < 8; k++)
      total += model
        .objectives()[0]!
        .loss({ x }, { step: 0, epoch: 0, seed: () => 100 + k, training: true })
        .loss.dataSync()[0]!;
    return total / 8;
  });
}

test('a short training on moons (MLP denoiser) lowers the loss, with a flat tensor count', async () => {
  const moons = loadDataset({ name: 'moons', options: { nTrain: 8, nTest: 512 } });
  const x = tf.tensor2d(moons.test.x, [512, 2]);
  for (const make of [
    () => new DDPM('ddpm', { hidden: 32, blocks: 2, T: 100, vlbTerms: 10 }, moons.spec, 0),
    () => new FlowMatching('flow-matching', { hidden: 32, blocks: 2 }, moons.spec, 0),
  ]) {
    const model = make();
    const before = fixedLoss(model, x);
    const { res, counts } = await trainOn(model, 200);
    const after = fixedLoss(model, x);
    assert.equal(res.step, 200);
    assert.ok(after < 0.8 * before, `${model.kind}: held-out loss ${before} -> ${after}`);
    assert.equal(
      Math.max(...counts) - Math.min(...counts),
      0,
      `${model.kind}: tensor count ${Math.min(...counts)}..${Math.max(...counts)}`,
    );
    model.dispose();
  }
  x.dispose();
});

test('evaluate() reports the DDPM bound in nats and bits/dim; the bound improves with training', async () => {
  const spec = loadDataset({ name: 'moons', options: { nTrain: 8, nTest: 8 } }).spec;
  const model = new DDPM('ddpm', { hidden: 32, blocks: 2, T: 100, vlbTerms: 10 }, spec, 0);
  const ds = loadDataset({ name: 'moons', options: { nTrain: 64 * 200, nTest: 256 } });
  const before = await evaluate(model, ds, { progress: 'none', seed: 0 });
  await trainOn(model, 200);
  const after = await evaluate(model, ds, { progress: 'none', seed: 0 });
  assert.equal(after.density, 'bound');
  const [b, a] = [before.metrics[0]!, after.metrics[0]!];
  assert.ok(Math.abs(a.bitsPerDim - a.nats / (2 * Math.LN2)) < 1e-9);
  assert.ok(a.nats < b.nats - 3 * (a.stderr + b.stderr), `-VLB ${b.nats} -> ${a.nats}`);
  const est = model.estimates();
  assert.equal(est.length, 1);
  assert.equal(est[0]!.kind, 'bound');
  model.dispose();
});

test('U-Net denoiser on images: shapes, conditional, sampling in [0, 1], bound in bits/dim of 8-bit data', () => {
  const model = new DDPM('ddpm', { T: 20, channels: [8, 16], conditional: true }, IMG, 0);
  tf.tidy(() => {
    const x = model.sample(3, { label: [0, 1, 2], sampler: 'ddim', steps: 4, guidance: 2 });
    assert.deepEqual(x.shape, [3, 8, 8, 1]);
    const v = x.dataSync();
    assert.ok(v.every((p) => p >= 0 && p <= 1));
    const data = tf.div(tf.floor(tf.mul(tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 3), 256)), 255);
    const lb = model.logProbBound(data, { k: 1, seed: 0, y: tf.tensor1d([0, 2], 'int32') }).dataSync();
    // an untrained model: log p <= 0 for discrete data (a probability), finite
    assert.ok(
      Array.from(lb).every((l) => Number.isFinite(l) && l < 0),
      `${Array.from(lb)}`,
    );
  });
  const obj = model.objectives()[0]!;
  const { value, grads } = tf.variableGrads(
    () =>
      obj.loss(
        { x: tf.fill([2, 8, 8, 1], 0.5), y: tf.tensor1d([1, 2], 'int32') },
        { step: 0, epoch: 0, seed: () => 1, training: true },
      ).loss,
  );
  assert.ok(Number.isFinite(value.dataSync()[0]!));
  assert.equal(Object.keys(grads).length, model.variables().size);
  tf.dispose([value, ...Object.values(grads)]);
  model.dispose();
});

test('conditional flow matching: trains with dropped labels, samples with guidance, one row of labels per sample', () => {
  const fm = new FlowMatching(
    'flow-matching',
    { hidden: 16, blocks: 1, conditional: true, pUncond: 0.5 },
    VEC,
    0,
  );
  const obj = fm.objectives()[0]!;
  const { value, grads } = tf.variableGrads(
    () =>
      obj.loss(
        {
          x: tf.randomNormal([16, 2], 0, 1, 'float32', 1),
          y: tf.tensor1d(new Array<number>(16).fill(1), 'int32'),
        },
        { step: 0, epoch: 0, seed: () => 4, training: true },
      ).loss,
  );
  assert.ok(Number.isFinite(value.dataSync()[0]!));
  // the class table (with its null row) is trained: grads are keyed by the tf variable's name
  const table = fm.variables().get('yemb')!;
  assert.ok(tf.tidy(() => tf.sum(tf.abs(grads[table.name]!)).dataSync()[0]!) > 0);
  tf.dispose([value, ...Object.values(grads)]);
  tf.tidy(() => {
    const a = fm.sample(4, { label: [0, 1, 0, 1], guidance: 3, steps: 5, seed: 2 }).dataSync();
    const b = fm.sample(4, { label: [0, 1, 0, 1], guidance: 0, steps: 5, seed: 2 }).dataSync();
    assert.equal(a.length, 8);
    assert.notDeepEqual(Array.from(a), Array.from(b), 'guidance changes the samples');
  });
  fm.dispose();
});

test('a DDPM checkpoint reloads into the same model (same DDIM samples)', async () => {
  const ds = loadDataset({ name: 'moons', options: { nTrain: 256, nTest: 16 } });
  const model = new DDPM('ddpm', { hidden: 16, blocks: 1, T: 30, conditional: true }, ds.spec, 0);
  const dir = tmp();
  await train({
    model,
    dataset: ds,
    outDir: dir,
    config: makeTrainConfig({ epochs: 1, batchSize: 64, maxSteps: 2, sampleN: 0 }),
    images: false,
    progress: 'none',
    log: () => {},
  });
  const back = loadCheckpoint(dir).model;
  const o = { sampler: 'ddim', steps: 6, seed: 9, label: 1, guidance: 2 };
  const a = tf.tidy(() => Array.from(model.sample(5, o).dataSync()));
  assert.deepEqual(
    tf.tidy(() => Array.from(back.sample(5, o).dataSync())),
    a,
  );
  assert.deepEqual(back.config, model.config);
  model.dispose();
  back.dispose();
});

test('bad options give one-line UserErrors', () => {
  const model = ddpm();
  const cond = ddpm({ conditional: true });
  const fm = new FlowMatching('flow-matching', { hidden: 8 }, VEC, 0);
  const bad: [string, () => unknown, RegExp][] = [
    ['steps 0', () => model.sample(2, { steps: 0 }), /steps must be an integer in 1\.\.50/],
    ['steps > T', () => model.sample(2, { steps: 51 }), /steps must be an integer/],
    ['eta < 0', () => model.sample(2, { sampler: 'ddim', eta: -0.5 }), /eta must be >= 0/],
    [
      'eta with ddpm',
      () => model.sample(2, { sampler: 'ddpm', eta: 0.5 }),
      /eta applies to the ddim sampler/,
    ],
    ['unknown sampler', () => model.sample(2, { sampler: 'euler' }), /sampler must be one of ddpm, ddim/],
    ['guidance unconditional', () => model.sample(2, { guidance: 1 }), /not conditional: guidance/],
    ['negative guidance', () => cond.sample(2, { guidance: -1 }), /guidance must be/],
    ['label unconditional', () => model.sample(2, { label: 1 }), /not conditional/],
    ['label out of range', () => cond.sample(2, { label: 5 }), /out of range/],
    ['fm eta', () => fm.sample(2, { eta: 0 }), /eta applies to the ddim sampler/],
    ['fm steps 0', () => fm.sample(2, { steps: 0 }), /steps must be/],
    ['temperature', () => fm.sample(2, { temperature: 0.5 }), /temperature does not apply/],
    ['iw', () => model.logProbBound(tf.zeros([2, 2]), { k: 5, seed: 0 }), /no importance-weighted bound/],
    ['T = 0', () => ddpm({ T: 0 }), /config 'T'/],
    ['schedule', () => ddpm({ schedule: 'quadratic' }), /config 'schedule'/],
    ['unknown key', () => ddpm({ foo: 1 }), /foo/],
    ['pUncond', () => ddpm({ pUncond: 2 }), /config 'pUncond'/],
    ['sampleSteps > T', () => ddpm({ sampleSteps: 51 }), /sampleSteps/],
    [
      'conditional without labels',
      () => ddpm({ conditional: true }, { kind: 'vector', shape: [2], domain: 'real' }),
      /labelled data/,
    ],
    ['unet on vectors', () => ddpm({ net: 'unet' }), /net 'unet'/],
    ['unet odd size', () => new DDPM('ddpm', { channels: [4, 4, 4, 4, 4] }, IMG, 0), /divisible by 16/],
    ['discretized on reals', () => ddpm({ decoder: 'discretized' }), /decoder 'discretized'/],
  ];
  for (const [what, fn, re] of bad) {
    assert.throws(
      () => tf.tidy(() => void fn()),
      (e: unknown) =>
        e instanceof UserError && re.test((e as Error).message) && !(e as Error).message.includes('\n'),
      what,
    );
  }
  for (const m of [model, cond, fm]) m.dispose();
});
