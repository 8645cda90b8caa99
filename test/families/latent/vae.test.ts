// VAE / IWAE / beta-VAE / CVAE: bound ordering, analytic KL, exact likelihood by quadrature, gradients,
// label checks, memory. Tiny models on the cpu backend so the file runs in seconds.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../../src/core/rng.js';
import { UserError, modelEntry } from '../../../src/core/model.js';
import type { DataSpec } from '../../../src/data/spec.js';
import '../../../src/families/index.js';
import { VAE } from '../../../src/families/latent/vae.js';
import { binaryMixture, trainAdam, useCpu } from './helpers.js';

const spec16: DataSpec = { kind: 'vector', shape: [16], domain: 'binary', numClasses: 4 };
const tiny = { latentDim: 2, hidden: [32], activation: 'tanh' };

const mean = (t: tf.Tensor): number => {
  const v = tf.tidy(() => tf.mean(t).dataSync()[0]!);
  return v;
};

let trained: VAE;
let data: { x: tf.Tensor2D; y: tf.Tensor1D };

before(async () => {
  await useCpu();
  data = binaryMixture(200, 16, 4, 0.05, 7);
  trained = new VAE('vae', tiny, spec16, 3);
  trainAdam(trained, data.x, 300, 0.01);
});

test('registry: kinds, defaults, taxonomy', () => {
  const iwae = modelEntry('iwae').create({}, spec16, 0);
  const beta = modelEntry('beta-vae').create({}, spec16, 0);
  const cvae = modelEntry('cvae').create({}, spec16, 0);
  const vae = modelEntry('vae').create({}, spec16, 0);
  assert.equal(iwae.config.iwTrainK, 5);
  assert.equal(beta.config.beta, 4);
  assert.equal(cvae.taxonomy.conditional, true);
  assert.equal(vae.taxonomy.conditional, false);
  assert.deepEqual(
    {
      family: vae.taxonomy.family,
      density: vae.taxonomy.density,
      sampling: vae.taxonomy.sampling,
      latent: vae.taxonomy.latent,
    },
    { family: 'latent', density: 'bound', sampling: 'direct', latent: true },
  );
  assert.notEqual(modelEntry('cvae').accepts({ kind: 'vector', shape: [3], domain: 'real' }), null);
  // the resolved config rebuilds the same architecture
  const again = modelEntry('vae').create(vae.config, spec16, 0);
  assert.deepEqual([...again.variables().keys()], [...vae.variables().keys()]);
  for (const m of [iwae, beta, cvae, vae, again]) m.dispose();
});

test('(a) IWAE-k bound >= ELBO and increases with k (1, 10, 100), averaged over examples', () => {
  const x = tf.tile(data.x, [5, 1]); // 5 draws per example: the averages below are far above MC noise
  const b1 = trained.logProbBound(x, { k: 1, seed: 11 });
  const b10 = trained.logProbBound(x, { k: 10, seed: 12 });
  const b100 = trained.logProbBound(x, { k: 100, seed: 13 });
  assert.deepEqual(b1.shape, [1000]);
  assert.deepEqual(b100.shape, [1000]);
  const [m1, m10, m100] = [mean(b1), mean(b10), mean(b100)];
  // per-example nats of 16 bits: between -16 log 2 (uniform) and 0
  assert.ok(m1 > -16 * Math.log(2) && m100 < 0, `bounds ${m1} ${m100}`);
  // the averaged gaps are systematic (0.1-0.4 and 0.02-0.04 nats on this model), not Monte-Carlo noise
  assert.ok(m10 > m1 + 0.05, `IWAE-10 ${m10} vs ELBO ${m1}`);
  assert.ok(m100 > m10 + 0.005, `IWAE-100 ${m100} vs IWAE-10 ${m10}`);
  // a trained model beats the uniform distribution by a wide margin
  assert.ok(m100 > -8, `IWAE-100 ${m100}`);
  tf.dispose([x, b1, b10, b100]);
});

test('(b) analytic KL(q(z|x) || N(0,I)) matches a Monte-Carlo estimate', () => {
  const x = tf.slice(data.x, [0, 0], [5, 16]);
  const { kl } = trained.elboTerms(x, null, 5);
  const { mu, logVar } = trained.posterior(x, null);
  const S = 100000;
  // log q(z|x) - log p(z) with z = mu + sigma eps, written out independently of src/distributions
  const est = tf.tidy(() => {
    const eps = tf.randomNormal([S, 5, 2], 0, 1, 'float32', 99);
    const z = tf.add(mu, tf.mul(tf.exp(tf.mul(0.5, logVar)), eps));
    const logQ = tf.sum(tf.sub(tf.mul(-0.5, tf.square(eps)), tf.mul(0.5, logVar)), 2);
    const logP = tf.sum(tf.mul(-0.5, tf.square(z)), 2);
    const d = tf.sub(logQ, logP); // [S, 5]
    const m = tf.mean(d, 0);
    const se = tf.sqrt(tf.div(tf.mean(tf.square(tf.sub(d, m)), 0), S));
    return [m.arraySync() as number[], se.arraySync() as number[]];
  });
  const analytic = kl.arraySync();
  let total = 0;
  for (let i = 0; i < 5; i++) {
    const [m, se] = [est[0]![i]!, est[1]![i]!];
    assert.ok(
      Math.abs(analytic[i]! - m) < 5 * se + 1e-3,
      `example ${i}: analytic ${analytic[i]} vs MC ${m} ± ${se}`,
    );
    total += analytic[i]!;
  }
  assert.ok(total / 5 > 0.3, `posterior too close to the prior for a meaningful check (KL ${total / 5})`);
  tf.dispose([x, kl, mu, logVar]);
});

test('(c) 2-pixel toy, 1-d latent: IWAE-5000 approaches the exact log p(x) by quadrature; p sums to 1', () => {
  const spec2: DataSpec = { kind: 'vector', shape: [2], domain: 'binary' };
  // evalChunk 1000 over 4 examples = chunks of 250 samples: exercises the running log-sum-exp
  const model = new VAE('vae', { latentDim: 1, hidden: [16], activation: 'tanh', evalChunk: 1000 }, spec2, 5);
  // data: p(00) = p(11) = 0.4, p(01) = p(10) = 0.1 (needs the latent to correlate the pixels)
  const rows: number[][] = [];
  for (let i = 0; i < 40; i++) rows.push([0, 0], [1, 1]);
  for (let i = 0; i < 10; i++) rows.push([0, 1], [1, 0]);
  const xTrain = tf.tensor2d(rows);
  trainAdam(model, xTrain, 300, 0.02);

  const X = tf.tensor2d([
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ]);
  // log p(x) = log ∫ p(x|z) N(z; 0, 1) dz, Riemann sum on [-10, 10] (integrand smooth, Gaussian tails)
  const G = 4001;
  const dz = 20 / (G - 1);
  const exact = tf.tidy(() => {
    const z = tf.reshape(tf.linspace(-10, 10, G), [G, 1]) as tf.Tensor2D;
    const logits = model.decoderOut(z, null); // [G, 2]
    const logPrior = tf.sub(tf.mul(-0.5, tf.square(z)), 0.5 * Math.log(2 * Math.PI)); // [G, 1]
    // log p(x|z) for each of the 4 x: sum_d x_d log sigmoid(l) + (1 - x_d) log sigmoid(-l)   -> [G, 4]
    const ls1 = tf.logSigmoid(logits);
    const ls0 = tf.logSigmoid(tf.neg(logits));
    const logPxz = tf.add(tf.matMul(ls1, X, false, true), tf.matMul(ls0, tf.sub(1, X), false, true));
    return tf.add(tf.logSumExp(tf.add(logPxz, logPrior), 0), Math.log(dz)).arraySync() as number[];
  });
  const total = exact.reduce((a, b) => a + Math.exp(b), 0);
  assert.ok(Math.abs(total - 1) < 1e-4, `sum_x p(x) = ${total}`);
  // the model learned the correlation: p(00) + p(11) well above the independent-pixel 0.5
  assert.ok(Math.exp(exact[0]!) + Math.exp(exact[3]!) > 0.6, `p: ${exact.map(Math.exp)}`);

  const iw = model.logProbBound(X, { k: 5000, seed: 21 }).arraySync();
  // the single-sample ELBO, averaged over 2000 draws per x (with its standard error)
  const R = 2000;
  const [elbos, elboSe] = tf.tidy(() => {
    const b = tf.reshape(model.logProbBound(tf.tile(X, [R, 1]), { k: 1, seed: 22 }), [R, 4]);
    const m = tf.mean(b, 0);
    const se = tf.sqrt(tf.div(tf.mean(tf.square(tf.sub(b, m)), 0), R));
    return [m.arraySync() as number[], se.arraySync() as number[]];
  });
  for (let i = 0; i < 4; i++) {
    assert.ok(Math.abs(iw[i]! - exact[i]!) < 0.01, `x=${i}: IWAE-5000 ${iw[i]} vs exact ${exact[i]}`);
    assert.ok(
      elbos[i]! < exact[i]! + 4 * elboSe[i]!,
      `x=${i}: ELBO ${elbos[i]} ± ${elboSe[i]} above log p ${exact[i]}`,
    );
  }
  const gapElbo = elbos.reduce((a, e, i) => a + exact[i]! - e, 0) / 4;
  const gapIw = iw.reduce((a, e, i) => a + Math.abs(exact[i]! - e), 0) / 4;
  assert.ok(gapIw < gapElbo, `IWAE gap ${gapIw} should be below the ELBO gap ${gapElbo}`);
  tf.dispose([xTrain, X]);
  model.dispose();
});

/** Central finite differences of the objective's loss (fixed seeds) vs tf.variableGrads. */
function checkGrads(model: VAE, x: tf.Tensor, names: string[], y?: tf.Tensor1D): void {
  const [obj] = model.objectives();
  const lossAt = (): tf.Scalar => {
    const rng = new Rng(42);
    return obj!.loss({ x, y }, { step: 0, epoch: 0, seed: () => rng.nextSeed(), training: true }).loss;
  };
  const vars = model.variables();
  const { grads, value } = tf.variableGrads(
    lossAt,
    names.map((n) => vars.get(n)!),
  );
  value.dispose();
  const h = 1e-2;
  for (const name of names) {
    const v = vars.get(name)!;
    const g = grads[v.name]!.dataSync();
    const orig = v.dataSync().slice();
    for (const idx of [0, Math.floor(orig.length / 2), orig.length - 1]) {
      const at = (delta: number): number => {
        const w = orig.slice();
        w[idx] = orig[idx]! + delta;
        v.assign(tf.tensor(w, v.shape));
        return tf.tidy(() => lossAt().dataSync()[0]!);
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      v.assign(tf.tensor(orig, v.shape));
      assert.ok(
        Math.abs(fd - g[idx]!) < 3e-3 + 2e-2 * Math.abs(fd),
        `${name}[${idx}]: grad ${g[idx]} vs finite difference ${fd}`,
      );
    }
  }
  tf.dispose(Object.values(grads));
}

test('(d) ELBO and IWAE gradients match finite differences (fixed seed), MLP and conv', () => {
  const x = tf.slice(data.x, [0, 0], [8, 16]);
  // encoder logVar head bias (reparameterization + analytic KL), encoder weights, decoder bias
  const vae = new VAE('vae', tiny, spec16, 8);
  checkGrads(vae, x, ['enc.mlp.1.b', 'enc.mlp.0.w', 'dec.mlp.1.b']);
  vae.dispose();
  const iwae = new VAE('iwae', { ...tiny, iwTrainK: 3, beta: 0.5 }, spec16, 9);
  checkGrads(iwae, x, ['enc.mlp.1.b', 'dec.mlp.0.w']);
  iwae.dispose();
  const cvae = new VAE('cvae', { ...tiny, conditional: true }, spec16, 10);
  checkGrads(cvae, x, ['enc.mlp.0.w', 'dec.mlp.0.w'], tf.slice(data.y, 0, 8));
  cvae.dispose();
  // conv encoder/decoder (conv2d / conv2dTranspose) on 8x8 binary images, and a Gaussian likelihood scale
  const specImg: DataSpec = { kind: 'image', shape: [8, 8, 1], domain: 'binary' };
  const conv = new VAE(
    'vae',
    { latentDim: 2, arch: 'conv', channels: [3, 4], hidden: [8], activation: 'tanh' },
    specImg,
    11,
  );
  const img = tf.tidy(() =>
    tf.cast(tf.greater(tf.randomUniform([4, 8, 8, 1], 0, 1, 'float32', 3), 0.5), 'float32'),
  );
  checkGrads(conv, img, ['enc.conv.0.w', 'dec.conv.1.w', 'dec.conv.0.b']);
  conv.dispose();
  const specReal: DataSpec = { kind: 'vector', shape: [3], domain: 'real' };
  const gauss = new VAE('vae', { ...tiny, scale: 'dim' }, specReal, 12);
  const xr = tf.randomNormal([6, 3], 0, 1, 'float32', 4);
  checkGrads(gauss, xr, ['lik.logScale', 'dec.mlp.1.b']);
  gauss.dispose();
  tf.dispose([x, img, xr]);
});

test('(e) CVAE labels: out of range or on an unconditional model -> UserError', () => {
  const cvae = new VAE('cvae', { ...tiny, conditional: true }, spec16, 1);
  assert.throws(() => cvae.sample(2, { label: 4 }), UserError);
  assert.throws(() => cvae.sample(2, { label: -1 }), UserError);
  assert.throws(() => cvae.sample(2, { label: 1.5 }), UserError);
  assert.throws(() => cvae.sample(2, { label: [0, 1, 2] }), UserError);
  assert.throws(() => cvae.logProbBound(data.x, { k: 1, seed: 0 }), UserError);
  const s = cvae.sample(3, { label: [0, 3, 1], seed: 2 });
  assert.deepEqual(s.shape, [3, 16]);
  s.dispose();
  assert.throws(() => trained.sample(2, { label: 0 }), UserError);
  assert.throws(
    () => new VAE('cvae', { conditional: true }, { kind: 'vector', shape: [4], domain: 'binary' }, 0),
    UserError,
  );
  assert.throws(() => new VAE('vae', { arch: 'conv' }, spec16, 0), UserError);
  cvae.dispose();
});

test('sample / encode / decode shapes and ranges; temperature 0 gives the decoder at z = 0', () => {
  const s = trained.sample(5, { seed: 1 });
  assert.deepEqual(s.shape, [5, 16]);
  assert.ok(
    s.dataSync().every((v) => v === 0 || v === 1),
    'binary vectors are sampled bits',
  );
  const z = trained.encode(tf.slice(data.x, [0, 0], [3, 16]));
  assert.deepEqual(z.shape, [3, 2]);
  const m = trained.decode(z);
  assert.deepEqual(m.shape, [3, 16]);
  assert.ok(m.dataSync().every((v) => v >= 0 && v <= 1));
  const specImg: DataSpec = { kind: 'image', shape: [28, 28, 1], domain: 'binary' };
  const conv = new VAE('vae', { latentDim: 2, arch: 'conv', channels: [2, 2], hidden: [4] }, specImg, 0);
  assert.equal(conv.config.arch, 'conv');
  const t0 = conv.sample(2, { temperature: 0 });
  const d0 = conv.decode(tf.zeros([1, 2]));
  assert.deepEqual(t0.shape, [2, 28, 28, 1]);
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(t0, d0))).dataSync()[0]!);
  assert.ok(diff < 1e-6);
  tf.dispose([s, z, m, t0, d0]);
  conv.dispose();
});

test('(f) tensor count is flat over training steps, bounds and sampling', () => {
  const model = new VAE('iwae', { ...tiny, iwTrainK: 4, evalChunk: 64 }, spec16, 2);
  const x = tf.slice(data.x, [0, 0], [32, 16]);
  trainAdam(model, x, 2, 0.01); // warm-up: optimizer slots
  const [obj] = model.objectives();
  const opt = tf.train.adam(0.01);
  const rng = new Rng(0);
  const step = () => {
    const ctx = { step: 0, epoch: 0, seed: () => rng.nextSeed(), training: true };
    opt.minimize(() => obj!.loss({ x }, ctx).loss, true, obj!.variables())?.dispose();
  };
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) step();
  assert.equal(tf.memory().numTensors, before, 'training steps leak tensors');
  for (let i = 0; i < 3; i++) {
    tf.dispose([model.logProbBound(x, { k: 20, seed: i }), model.logProbBound(x, { k: 1, seed: i })]);
    tf.dispose([model.sample(4, { seed: i }), model.encode(x)]);
    tf.tidy(() => {
      obj!.loss({ x }, { step: 0, epoch: 0, seed: () => 1, training: false });
    });
  }
  assert.equal(tf.memory().numTensors, before, 'evaluation or sampling leaks tensors');
  opt.dispose();
  model.dispose();
  x.dispose();
});

test('continuous likelihoods: discretized logistic sums to 1 over the grid (1-d latent, quadrature); Gaussian samples', () => {
  // 2 pixels with 4 levels: log p(x) by quadrature over z for all 16 grid points must sum to 1 in probability
  const spec: DataSpec = { kind: 'vector', shape: [2], domain: 'unit', levels: 4 };
  const model = new VAE('vae', { latentDim: 1, hidden: [8], activation: 'tanh' }, spec, 4);
  assert.equal(model.config.likelihood, 'logistic');
  const grid = [0, 1 / 3, 2 / 3, 1];
  const X = tf.tensor2d(grid.flatMap((a) => grid.map((b) => [a, b])));
  trainAdam(model, X, 50, 0.02);
  const G = 2001;
  const total = tf.tidy(() => {
    const z = tf.reshape(tf.linspace(-10, 10, G), [G, 1]) as tf.Tensor2D;
    const out = model.decoderOut(z, null); // [G, 2]
    const logPrior = tf.sub(tf.mul(-0.5, tf.square(tf.squeeze(z, [1]))), 0.5 * Math.log(2 * Math.PI));
    // log p(x_i | z_g) for all 16 x_i: tile the decoder output and the data against each other
    const outRep = tf.tile(out, [16, 1]); // row i * G + g
    const xRep = tf.reshape(tf.tile(tf.expandDims(X, 1), [1, G, 1]), [16 * G, 2]);
    const logPxz = tf.reshape(tf.sum(model.lik.dist(outRep).logProb(xRep), 1), [16, G]);
    const logPx = tf.add(tf.logSumExp(tf.add(logPxz, logPrior), 1), Math.log(20 / (G - 1)));
    return tf.sum(tf.exp(logPx)).dataSync()[0]!;
  });
  assert.ok(Math.abs(total - 1) < 1e-3, `sum over the grid ${total}`);
  const b = model.logProbBound(X, { k: 50, seed: 1 });
  assert.ok(b.dataSync().every((v) => Number.isFinite(v) && v < 0));
  const s = model.sample(10, { seed: 3 });
  assert.ok(
    s.dataSync().every((v) => grid.some((g) => Math.abs(v - g) < 1e-6)),
    'logistic samples lie on the grid',
  );
  tf.dispose([X, b, s]);
  model.dispose();

  const gauss = new VAE('vae', { scale: 'global' }, { kind: 'vector', shape: [3], domain: 'real' }, 1);
  assert.equal(gauss.config.latentDim, 2);
  assert.deepEqual(gauss.variables().get('lik.logScale')!.shape, [1]);
  const g = gauss.sample(7, { seed: 2 });
  assert.deepEqual(g.shape, [7, 3]);
  g.dispose();
  gauss.dispose();
});
