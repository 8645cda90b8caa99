// The adversarial family: registry and taxonomy, minibatch discrimination under collapse, the direction of
// discriminator and generator steps (minimax, non-saturating, WGAN-GP), the saturation of the minimax loss,
// the gradient penalty (a gradient of a gradient) against its closed form, sampling, labels, and memory.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/backend/index.js';
import { UserError, modelEntry, type Batch, type Objective } from '../../../src/core/model.js';
import { Rng } from '../../../src/core/rng.js';
import type { DataSpec } from '../../../src/data/spec.js';
import { loadDataset, parseDataArg } from '../../../src/data/index.js';
import '../../../src/families/index.js';
import { GAN } from '../../../src/families/adversarial/gan.js';
import {
  discriminatorLoss,
  generatorLoss,
  gradientPenalty,
} from '../../../src/families/adversarial/losses.js';
import { MinibatchDiscrimination } from '../../../src/families/adversarial/minibatch-discrimination.js';
import { BatchNorm } from '../../../src/families/adversarial/nets.js';
import { makeTrainConfig, train } from '../../../src/train/loop.js';

const vec2: DataSpec = { kind: 'vector', shape: [2], domain: 'real', numClasses: 8 };
const img: DataSpec = { kind: 'image', shape: [8, 8, 1], domain: 'unit', numClasses: 3 };
const tiny = { hidden: [16, 16], latentDim: 2 };

before(async () => {
  await initBackend(undefined, { quiet: true });
});

/** a fixed toy batch: 64 points of the 8-gaussian ring */
function ringBatch(): Batch {
  const ds = loadDataset(parseDataArg('8gaussians', { nTrain: 64, nTest: 8 }));
  return { x: tf.tensor2d(ds.train.x, [64, 2]), y: tf.tensor1d(ds.train.y!, 'int32') };
}

/** the same seeds on every call: the loss is a fixed function of the weights */
const fixedSeeds = () => {
  let c = 0;
  return () => 1234 + c++;
};
const ctx = () => ({ step: 0, epoch: 0, seed: fixedSeeds(), training: true });
const lossOf = (o: Objective, b: Batch) => tf.tidy(() => o.loss(b, ctx()).loss.dataSync()[0]!);

/** one plain gradient step on the objective's variables; returns [loss before, loss after] */
function sgdStep(o: Objective, b: Batch, lr: number): [number, number] {
  const before = lossOf(o, b);
  tf.tidy(() => {
    const { grads } = tf.variableGrads(() => o.loss(b, ctx()).loss, o.variables());
    for (const v of o.variables()) v.assign(tf.sub(v, tf.mul(grads[v.name]!, lr)));
  });
  return [before, lossOf(o, b)];
}

test('registry: kinds, taxonomy, defaults, accepts', () => {
  for (const kind of ['gan', 'dcgan', 'wgan-gp', 'cgan']) {
    const e = modelEntry(kind);
    assert.equal(e.family, 'adversarial');
    const spec = kind === 'dcgan' ? img : vec2;
    const m = e.create({ ...e.defaults, hidden: [8], channels: [4, 8] }, spec, 0);
    assert.deepEqual(m.taxonomy, {
      family: 'adversarial',
      density: 'none',
      sampling: 'direct',
      latent: true,
      conditional: kind === 'cgan',
    });
    assert.deepEqual(
      m.objectives().map((o) => o.name),
      ['discriminator', 'generator'],
    );
    // the resolved config rebuilds the same architecture
    const again = e.create(m.config, spec, 0);
    assert.deepEqual([...again.variables().keys()], [...m.variables().keys()]);
    m.dispose();
    again.dispose();
  }
  const w = modelEntry('wgan-gp').create(modelEntry('wgan-gp').defaults, img, 0);
  assert.equal(w.objectives()[1]!.every, 5);
  assert.deepEqual(w.objectives()[0]!.optim, { beta1: 0, beta2: 0.9, lrScale: 1 });
  assert.equal(w.config.arch, 'conv');
  w.dispose();
  assert.notEqual(modelEntry('dcgan').accepts(vec2), null);
  assert.equal(modelEntry('gan').accepts(vec2), null);
  assert.notEqual(modelEntry('cgan').accepts({ kind: 'vector', shape: [3], domain: 'real' }), null);
  assert.throws(() => new GAN('gan', { loss: 'hinge' }, vec2, 0), UserError);
  assert.throws(() => new GAN('gan', { nosuch: 1 }, vec2, 0), UserError);
});

test('minibatch discrimination: o(x) changes when the batch collapses to one point, and reaches n - 1', () => {
  const n = 8;
  const mbd = new MinibatchDiscrimination(6, 5, 3, new Rng(1), 'mbd');
  const f = tf.randomNormal([n, 6], 0, 1, 'float32', 3) as tf.Tensor2D;
  const collapsed = tf.tile(tf.slice(f, [0, 0], [1, 6]), [n, 1]) as tf.Tensor2D;
  const oDiverse = mbd.similarity(f).arraySync();
  const oCollapsed = mbd.similarity(collapsed).arraySync();
  // the first example is the same in both batches; only its batch-mates differ
  for (let b = 0; b < 5; b++) {
    assert.ok(Math.abs(oCollapsed[0]![b]! - (n - 1)) < 1e-5, `collapsed o = ${oCollapsed[0]![b]}`);
    assert.ok(oDiverse[0]![b]! < n - 1 - 0.1, `diverse o = ${oDiverse[0]![b]}`);
  }
  // the layer keeps f and appends B features
  const out = mbd.apply(f);
  assert.deepEqual(out.shape, [n, 11]);
  assert.deepEqual(Array.from(tf.slice(out, [0, 0], [n, 6]).dataSync()), Array.from(f.dataSync()));
  // through a discriminator: the logit of the same point depends on its batch only with the layer on
  const withL = new GAN('gan', { ...tiny, mbdKernels: 4, mbdDim: 3 }, vec2, 2);
  const without = new GAN('gan', tiny, vec2, 2);
  const x = tf.randomNormal([n, 2], 0, 2, 'float32', 5);
  const xc = tf.tile(tf.slice(x, [0, 0], [1, 2]), [n, 1]);
  for (const [m, differs] of [
    [withL, true],
    [without, false],
  ] as const) {
    const a = m.logits(x).dataSync()[0]!;
    const c = m.logits(xc).dataSync()[0]!;
    assert.equal(Math.abs(a - c) > 1e-4, differs, `${m.cfg.mbdKernels}: ${a} vs ${c}`);
  }
  tf.dispose([f, collapsed, out, x, xc]);
  mbd.variables.forEach((v) => v.dispose());
  withL.dispose();
  without.dispose();
});

test('a discriminator step lowers the D loss and a generator step lowers the G loss (each loss, toy ring)', () => {
  const batch = ringBatch();
  for (const [loss, extra] of [
    ['non-saturating', {}],
    ['minimax', {}],
    ['non-saturating', { mbdKernels: 4, mbdDim: 3 }],
    ['non-saturating', { gNorm: 'batch', labelSmoothing: 0.1 }],
    ['wgan-gp', {}],
  ] as const) {
    const m = new GAN('gan', { ...tiny, loss, ...extra }, vec2, 7);
    const [d, g] = m.objectives();
    const [d0, d1] = sgdStep(d!, batch, 1e-3);
    assert.ok(d1 < d0, `${loss} D: ${d0} -> ${d1}`);
    const [g0, g1] = sgdStep(g!, batch, 1e-3);
    assert.ok(g1 < g0, `${loss} G: ${g0} -> ${g1}`);
    // the two players' weights are disjoint and together all trainable weights
    const trainable = [...m.variables().values()].filter((v) => v.trainable);
    assert.equal(new Set([...d!.variables(), ...g!.variables()]).size, trainable.length);
    assert.equal(d!.variables().length + g!.variables().length, trainable.length);
    m.dispose();
  }
  batch.x.dispose();
  batch.y!.dispose();
});

test('the minimax generator loss saturates when D rejects the samples; the non-saturating one does not', () => {
  const l = tf.tensor1d([-8, -6, -10, -7]); // D(G(z)) = sigmoid(l) ~ 0: D wins
  const gMinimax = tf.grad((x: tf.Tensor) => generatorLoss('minimax', x as tf.Tensor1D))(l);
  const gNs = tf.grad((x: tf.Tensor) => generatorLoss('non-saturating', x as tf.Tensor1D))(l);
  const nMm = tf.norm(gMinimax).dataSync()[0]!;
  const nNs = tf.norm(gNs).dataSync()[0]!;
  // d/dl [-softplus(l)] = -sigmoid(l) ~ 1e-3; d/dl softplus(-l) = -sigmoid(-l) ~ -1
  assert.ok(nMm < 2e-3, `minimax grad norm ${nMm}`);
  assert.ok(nNs > 0.45, `non-saturating grad norm ${nNs}`);
  // both push l up (towards fooling D)
  assert.ok(Math.max(...gMinimax.dataSync()) < 0 && Math.max(...gNs.dataSync()) < 0);
  tf.dispose([l, gMinimax, gNs]);
});

test('discriminator loss = binary cross-entropy, with targets 1 - s for real examples under label smoothing', () => {
  const lr = [1.5, -0.3, 2.2];
  const lf = [-1, 0.4];
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const bce = (t: number, l: number) => -(t * Math.log(sig(l)) + (1 - t) * Math.log(1 - sig(l)));
  for (const s of [0, 0.1]) {
    const want =
      lr.reduce((a, l) => a + bce(1 - s, l), 0) / lr.length +
      lf.reduce((a, l) => a + bce(0, l), 0) / lf.length;
    const got = discriminatorLoss('non-saturating', tf.tensor1d(lr), tf.tensor1d(lf), s).dataSync()[0]!;
    assert.ok(Math.abs(got - want) < 1e-5, `s=${s}: ${got} vs ${want}`);
  }
});

test('gradient penalty: closed form for a linear critic, and its gradient in the weights (second order)', () => {
  // D(x) = w.x: grad_x D = w everywhere, penalty = (||w|| - 1)^2, d/dw = 2 (||w|| - 1) w / ||w||
  const w = tf.variable(tf.tensor1d([0.3, -1.2, 2.0]));
  const critic = (x: tf.Tensor) => tf.sum(tf.mul(x, w), 1) as tf.Tensor1D;
  const real = tf.randomNormal([16, 3], 0, 1, 'float32', 1);
  const fake = tf.randomNormal([16, 3], 0, 1, 'float32', 2);
  const nw = Math.hypot(0.3, -1.2, 2.0);
  const { value, grads } = tf.variableGrads(() => gradientPenalty(critic, real, fake, 9), [w]);
  assert.ok(Math.abs(value.dataSync()[0]! - (nw - 1) ** 2) < 1e-5);
  const g = grads[w.name]!.dataSync();
  [0.3, -1.2, 2.0].forEach((wi, i) =>
    assert.ok(Math.abs(g[i]! - (2 * (nw - 1) * wi) / nw) < 1e-4, `${g[i]} vs ${(2 * (nw - 1) * wi) / nw}`),
  );
  // a nonlinear (conv) critic: the penalty's gradient reaches the critic weights
  const m = new GAN('wgan-gp', { loss: 'wgan-gp', channels: [2, 4], latentDim: 4 }, img, 3);
  const x = tf.randomUniform([4, 8, 8, 1], 0, 1, 'float32', 4);
  const fx = m.sample(4, { seed: 1 });
  const r = tf.variableGrads(() => gradientPenalty((t) => m.logits(t), x, fx, 5), m.discriminatorVariables());
  const total = Object.values(r.grads).reduce((a, t) => a + tf.sum(tf.abs(t)).dataSync()[0]!, 0);
  assert.ok(Number.isFinite(total) && total > 0, `grad mass ${total}`);
  tf.dispose([w, real, fake, value, x, fx, r.value, ...Object.values(grads), ...Object.values(r.grads)]);
  m.dispose();
});

test('batch norm: batch statistics in training (and running averages updated), running averages for sampling', () => {
  const bn = new BatchNorm(3, 'bn');
  const x = tf.add(tf.mul(tf.randomNormal([50, 4, 4, 3], 0, 1, 'float32', 1), 3), 5);
  const y = bn.apply(x, true);
  const { mean, variance } = tf.moments(y, [0, 1, 2]);
  mean.dataSync().forEach((v) => assert.ok(Math.abs(v) < 1e-4, `mean ${v}`));
  variance.dataSync().forEach((v) => assert.ok(Math.abs(v - 1) < 1e-3, `var ${v}`));
  // running averages moved 10% of the way from (0, 1) towards the batch statistics (~5, ~9)
  const rm = bn.variables.get('bn.running_mean')!.dataSync();
  const rv = bn.variables.get('bn.running_var')!.dataSync();
  const bm = tf.moments(x, [0, 1, 2]).mean.dataSync();
  rm.forEach((v, i) => assert.ok(Math.abs(v - 0.1 * bm[i]!) < 1e-4, `running mean ${v}`));
  rv.forEach((v) => assert.ok(v > 1.5 && v < 2.2, `running var ${v}`));
  assert.deepEqual(
    bn.trainable().map((v) => v.trainable),
    [true, true],
  );
  // a batch-normalized generator samples each z independently of its batch-mates
  const m = new GAN('dcgan', { arch: 'conv', gNorm: 'batch', channels: [2, 4], latentDim: 4 }, img, 0);
  const eight = m.sample(8, { seed: 5 }).dataSync().slice(0, 64);
  const z = tf.randomNormal([8, 4], 0, 1, 'float32', 9) as tf.Tensor2D;
  const all = m.generate(z).dataSync().slice(0, 64);
  const first = m.generate(tf.slice(z, [0, 0], [1, 4]) as tf.Tensor2D).dataSync();
  all.forEach((v, i) => assert.ok(Math.abs(v - first[i]!) < 1e-5));
  assert.equal(eight.length, 64);
  // the generator objective trains gamma/beta but not the running averages
  const gVars = m.objectives()[1]!.variables();
  assert.ok(gVars.every((v) => v.trainable));
  assert.ok([...m.variables().keys()].some((k) => k.endsWith('running_mean')));
  tf.dispose([x, y, mean, variance, z]);
  m.dispose();
});

test('sampling: shapes, [0,1] images, seeds, labels', () => {
  const m = new GAN(
    'cgan',
    { conditional: true, dLabel: 'projection', channels: [2, 4], latentDim: 4 },
    img,
    0,
  );
  const a = m.sample(6, { seed: 3, label: 2 });
  const b = m.sample(6, { seed: 3, label: 2 });
  const c = m.sample(6, { seed: 3, label: 1 });
  assert.deepEqual(a.shape, [6, 8, 8, 1]);
  const av = a.dataSync();
  assert.ok(av.every((v) => v >= 0 && v <= 1));
  assert.deepEqual(Array.from(av), Array.from(b.dataSync()));
  assert.notDeepEqual(Array.from(av), Array.from(c.dataSync()));
  assert.throws(() => m.sample(2, { label: 3 }), UserError);
  assert.throws(() => m.sample(2, { label: [0] }), UserError);
  // the projection discriminator's logit depends on the label
  const y0 = tf.tensor1d([0, 0, 0, 0, 0, 0], 'int32');
  const y1 = tf.tensor1d([1, 1, 1, 1, 1, 1], 'int32');
  assert.notDeepEqual(Array.from(m.logits(a, y0).dataSync()), Array.from(m.logits(a, y1).dataSync()));
  const u = new GAN('gan', tiny, vec2, 0);
  assert.throws(() => u.sample(2, { label: 1 }), UserError);
  assert.deepEqual(u.sample(5).shape, [5, 2]);
  tf.dispose([a, b, c, y0, y1]);
  m.dispose();
  u.dispose();
});

test('training loop: tensor count stays flat over steps; G updates on every n_critic-th batch only', async () => {
  const ds = loadDataset(parseDataArg('8gaussians', { nTrain: 256, nTest: 64 }));
  const m = modelEntry('wgan-gp').create(
    { ...modelEntry('wgan-gp').defaults, ...tiny, nCritic: 2 },
    ds.spec,
    0,
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gan-loop-'));
  const counts: number[] = [];
  const updated: string[] = [];
  const res = await train({
    model: m,
    dataset: ds,
    outDir: dir,
    config: makeTrainConfig({ epochs: 2, batchSize: 32, sampleN: 0, lr: 1e-3 }),
    progress: 'none',
    images: false,
    log: () => {},
    onStep: (rec) => {
      counts.push(tf.memory().numTensors);
      updated.push(Object.keys(rec.losses).join('+'));
    },
  });
  assert.equal(res.step, 16);
  // the critic on each of the 16 batches, the generator after every second one
  assert.deepEqual(
    updated,
    Array.from({ length: 16 }, (_, i) => (i % 2 === 1 ? 'discriminator+generator' : 'discriminator')),
  );
  assert.ok(
    counts.slice(2).every((c) => c === counts[2]),
    `tensor counts ${counts.join(',')}`,
  );
  m.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("conditional D: each dLabel route, D's dropout only in training, and the AC-GAN class term", () => {
  const x = tf.randomUniform([6, 8, 8, 1], 0, 1, 'float32', 11);
  const y0 = tf.tensor1d([0, 0, 0, 0, 0, 0], 'int32');
  const y1 = tf.tensor1d([1, 1, 1, 1, 1, 1], 'int32');
  const base = { conditional: true, channels: [2, 4], latentDim: 4 };
  const logitsFor = (m: GAN, y: tf.Tensor1D) => Array.from(m.logits(x, y).dataSync());
  // 'input' (label maps next to x) and 'projection' make the logit depend on y; 'none' does not
  for (const [dLabel, dependsOnY] of [
    ['input', true],
    ['projection', true],
    ['both', true],
    ['none', false],
  ] as const) {
    const m = new GAN('cgan', { ...base, dLabel }, img, 0);
    const [a, b] = [logitsFor(m, y0), logitsFor(m, y1)];
    assert.equal(
      a.some((v, i) => Math.abs(v - b[i]!) > 1e-6),
      dependsOnY,
      `${dLabel}: ${a} vs ${b}`,
    );
    m.dispose();
  }
  // dropout: fresh masks per training call (seeded), none without a seed (eval), none at rate 0
  const drop = new GAN('cgan', { ...base, dDropout: 0.5 }, img, 0);
  const seeded = (m: GAN, s: number) => {
    let c = s;
    return Array.from(m.discriminate(x, y0, () => c++).logit.dataSync());
  };
  assert.notDeepEqual(seeded(drop, 1), seeded(drop, 100));
  assert.deepEqual(seeded(drop, 1), seeded(drop, 1));
  assert.deepEqual(logitsFor(drop, y0), logitsFor(drop, y0));
  const noDrop = new GAN('cgan', { ...base, dDropout: 0 }, img, 0);
  assert.deepEqual(seeded(noDrop, 1), logitsFor(noDrop, y0));
  // AC-GAN: a D step lowers D's class cross-entropy on the batch, a G step lowers G's loss (which contains
  // the class term of its samples); a classifier that could read the label from its input is refused
  const ac = new GAN('cgan', { ...base, dLabel: 'none', auxWeight: 1 }, img, 0);
  const batch: Batch = { x, y: tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32') };
  const [d, g] = ac.objectives();
  const classCE = () => tf.tidy(() => d!.loss(batch, ctx()).metrics!.classCE!.dataSync()[0]!);
  const ce0 = classCE();
  for (let i = 0; i < 5; i++) sgdStep(d!, batch, 0.05);
  const ce1 = classCE();
  assert.ok(ce1 < ce0, `D class CE ${ce0} -> ${ce1}`);
  const [g0, g1] = sgdStep(g!, batch, 1e-2);
  assert.ok(g1 < g0, `G loss ${g0} -> ${g1}`);
  assert.ok(ac.discriminatorVariables().some((v) => v.name === ac.variables().get('D.aux.w')!.name));
  assert.throws(() => new GAN('cgan', { ...base, dLabel: 'both', auxWeight: 1 }, img, 0), UserError);
  assert.throws(() => new GAN('gan', { ...tiny, auxWeight: 1 }, vec2, 0), UserError);
  tf.dispose([x, y0, y1, batch.y!]);
  [drop, noDrop, ac].forEach((m) => m.dispose());
});
