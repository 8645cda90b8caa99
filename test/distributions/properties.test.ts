// Distribution properties that need no reference: normalization, sample moments, gradients, stability,
// and flat tensor counts.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/core/rng.js';
import {
  Bernoulli,
  Categorical,
  DiscretizedLogistic,
  Logistic,
  MixtureDiscretizedLogistic,
  Normal,
  logSigmoid,
  logSumExp,
  sumEvent,
} from '../../src/distributions/index.js';
import { assertClose, normals, setupBackend, uniforms, values } from './helpers.js';

before(setupBackend);

const grid = (levels: number) => Array.from({ length: levels }, (_, k) => k / (levels - 1));

test('discretized logistic probabilities sum to 1 over all 256 levels', () => {
  tf.tidy(() => {
    const rng = new Rng(7);
    const P = 24; // parameter pairs, including extreme ones
    const mu = [...uniforms(rng, P - 4, -0.3, 1.3), -5, 6, 0.5, 0.5];
    const ls = [...uniforms(rng, P - 4, -7, 1), -2, -2, -7, 4];
    // logProb over [P, 256]: row p = all levels under parameters p
    const d = new DiscretizedLogistic(tf.tensor2d(mu, [P, 1]), tf.tensor2d(ls, [P, 1]));
    const lp = d.logProb(tf.tensor2d(grid(256), [1, 256]));
    const total = values(tf.exp(logSumExp(lp, -1)));
    assertClose(total, new Array(P).fill(1), 2e-5, 0, 'sum_k P(k)');
    // also for a 17-level grid (sklearn digits)
    const d17 = new DiscretizedLogistic(tf.tensor2d(mu, [P, 1]), tf.tensor2d(ls, [P, 1]), 17);
    const t17 = values(tf.exp(logSumExp(d17.logProb(tf.tensor2d(grid(17), [1, 17])), -1)));
    assertClose(t17, new Array(P).fill(1), 2e-5, 0, 'sum over 17 levels');
  });
});

test('mixture of discretized logistics sums to 1; mean() equals sum_k x_k P(k)', () => {
  tf.tidy(() => {
    const rng = new Rng(8);
    const P = 6;
    const K = 3;
    const logits = tf.tensor3d(normals(rng, P * K), [P, 1, K]);
    const mu = tf.tensor3d(uniforms(rng, P * K, -0.2, 1.2), [P, 1, K]);
    const ls = tf.tensor3d(uniforms(rng, P * K, -5, -0.5), [P, 1, K]);
    const m = new MixtureDiscretizedLogistic(logits, mu, ls);
    const lp = m.logProb(tf.tensor2d(grid(256), [1, 256])); // [P, 256]
    const p = tf.exp(lp);
    assertClose(values(tf.sum(p, -1)), new Array(P).fill(1), 2e-5, 0, 'mixture normalization');
    const enumMean = values(tf.sum(tf.mul(p, tf.tensor2d(grid(256), [1, 256])), -1));
    // mean() is the closed-form midpoint approximation (|error| < 1e-4 for s >= 1/255 as here)
    assertClose(values(tf.reshape(m.mean(), [P])), enumMean, 1e-4, 0, 'mixture mean');
    // meanExact() is the exact sum
    const d = new DiscretizedLogistic(mu, ls);
    const exact = values(tf.reshape(tf.sum(tf.mul(tf.softmax(logits, -1), d.meanExact()), -1), [P]));
    assertClose(exact, enumMean, 1e-5, 0, 'exact mean');
    // sharp components (s << 1/255): mean() stays within half a level of the exact mean
    const sharp = new DiscretizedLogistic(
      tf.tensor1d([0.1234, 0.5, 0.9977]),
      tf.tensor1d([-9, -9, -9]),
      256,
      {
        minLogScale: -Infinity,
      },
    );
    assertClose(values(sharp.mean()), values(sharp.meanExact()), 0.5 / 255 + 1e-6, 0, 'sharp mean');
  });
});

test('discretized logistic stays finite and accurate far in the tails', () => {
  tf.tidy(() => {
    // mu far below x: log P(x_k) = log(sigma(a) - sigma(b)) with a, b << 0 in float64: a + log(1 - e^{b - a})
    const h = 0.5 / 255;
    const xs = [50 / 255, 100 / 255];
    const mu = 0.9;
    const logS = -6;
    const s = Math.exp(logS);
    const d = new DiscretizedLogistic(tf.scalar(mu), tf.scalar(logS));
    const got = values(d.logProb(tf.tensor1d(xs)));
    const expect = xs.map((x) => {
      const a = (x + h - mu) / s;
      const b = (x - h - mu) / s;
      return a - Math.log1p(Math.exp(a)) + Math.log1p(-Math.exp(b - a)) - Math.log1p(Math.exp(b));
    });
    assert.ok(
      expect.every((e) => e < -100),
      'the case is really in the far tail',
    );
    assertClose(got, expect, 1e-2, 1e-5, 'tail log-prob');
    // gradients are finite everywhere, including the edge bins
    const g = tf.grad((m: tf.Tensor) =>
      tf.sum(new DiscretizedLogistic(m, tf.fill([4], -6)).logProb(tf.tensor1d([0, 1, 0.5, 0.2]))),
    );
    const gm = values(g(tf.tensor1d([0.9, 0.1, -3, 4])));
    assert.ok(gm.every(Number.isFinite), `finite gradients: ${gm}`);
  });
});

test('Bernoulli and Categorical are normalized', () => {
  tf.tidy(() => {
    const rng = new Rng(9);
    const l = tf.tensor1d([...normals(rng, 20, 4), 50, -50, 90, -90]);
    const b = new Bernoulli(l);
    const tot = tf.add(tf.exp(b.logProb(tf.zerosLike(l))), tf.exp(b.logProb(tf.onesLike(l))));
    assertClose(values(tot), new Array(24).fill(1), 1e-6, 0, 'Bernoulli');
    const K = 7;
    const c = new Categorical(tf.tensor2d(normals(rng, 5 * K, 5), [5, K]));
    let sum = tf.zeros([5]);
    for (let k = 0; k < K; k++) sum = tf.add(sum, tf.exp(c.logProb(tf.fill([5], k, 'int32'))));
    assertClose(values(sum), new Array(5).fill(1), 1e-5, 0, 'Categorical');
  });
});

test('sample moments: Normal, Logistic, Bernoulli, Categorical, discretized logistic', () => {
  tf.tidy(() => {
    const n = 40000;
    const mean = (t: tf.Tensor) => tf.mean(t).dataSync()[0]!;
    const varOf = (t: tf.Tensor) => tf.moments(t).variance.dataSync()[0]!;
    // Normal(1.5, e^-0.5): mean 1.5, var e^-1; SE of mean ~ 0.003
    const nd = new Normal(tf.fill([n], 1.5), tf.fill([n], -0.5));
    const xs = nd.rsample(11);
    assert.ok(Math.abs(mean(xs) - 1.5) < 0.02, `normal mean ${mean(xs)}`);
    assert.ok(Math.abs(varOf(xs) - Math.exp(-1)) < 0.02, `normal var ${varOf(xs)}`);
    // different seeds give different samples, the same seed the same ones
    assert.notDeepEqual(values(nd.sample(11)).slice(0, 5), values(nd.sample(12)).slice(0, 5));
    assert.deepEqual(values(nd.sample(11)), values(xs));
    // Logistic(-1, log 0.5): var = s^2 pi^2 / 3
    const ld = new Logistic(tf.fill([n], -1), tf.fill([n], Math.log(0.5)));
    const ls = ld.rsample(13);
    assert.ok(Math.abs(mean(ls) + 1) < 0.03, `logistic mean ${mean(ls)}`);
    assert.ok(Math.abs(varOf(ls) - (0.25 * Math.PI ** 2) / 3) < 0.04, `logistic var ${varOf(ls)}`);
    // Bernoulli(sigmoid(0.8))
    const bs = new Bernoulli(tf.fill([n], 0.8)).sample(14);
    const p = 1 / (1 + Math.exp(-0.8));
    assert.ok(Math.abs(mean(bs) - p) < 0.015, `bernoulli mean ${mean(bs)} vs ${p}`);
    // Categorical frequencies
    const lg = [0.5, -1, 2, 0];
    const z = lg.reduce((a, v) => a + Math.exp(v), 0);
    const cs = new Categorical(tf.tile(tf.tensor2d([lg]), [n, 1])).sample(15);
    const counts = values(tf.sum(tf.oneHot(cs as tf.Tensor1D, 4), 0));
    lg.forEach((v, k) =>
      assert.ok(
        Math.abs(counts[k]! / n - Math.exp(v) / z) < 0.015,
        `class ${k}: ${counts[k]! / n} vs ${Math.exp(v) / z}`,
      ),
    );
    // discretized logistic: samples on the grid, histogram matches exp(logProb), mean() matches
    const dd = new DiscretizedLogistic(tf.fill([n], 0.3), tf.fill([n], -3), 16);
    const ds = dd.sample(16);
    const k = values(tf.round(tf.mul(ds, 15)));
    const hist = new Array(16).fill(0);
    k.forEach((v) => hist[v]++);
    const probs = values(
      tf.exp(new DiscretizedLogistic(tf.scalar(0.3), tf.scalar(-3), 16).logProb(tf.tensor1d(grid(16)))),
    );
    hist.forEach((c, i) =>
      assert.ok(Math.abs(c / n - probs[i]!) < 0.012, `level ${i}: ${c / n} vs ${probs[i]}`),
    );
    assert.ok(Math.abs(mean(ds) - dd.meanExact().dataSync()[0]!) < 0.01, 'discretized mean');
    // mixture samples: mean matches mean()
    const mix = new MixtureDiscretizedLogistic(
      tf.tile(tf.tensor2d([[0.3, -0.5]]), [n, 1]),
      tf.tile(tf.tensor2d([[0.2, 0.8]]), [n, 1]),
      tf.tile(tf.tensor2d([[-3, -2]]), [n, 1]),
    );
    assert.ok(Math.abs(mean(mix.sample(17)) - mix.mean().dataSync()[0]!) < 0.01, 'mixture sample mean');
  });
});

test('rsample is reparameterized, sample is not', () => {
  tf.tidy(() => {
    const mu = tf.tensor1d([0.5, -1]);
    const ls = tf.tensor1d([0, 0.3]);
    const gr = tf.grads((m: tf.Tensor, s: tf.Tensor) => tf.sum(new Normal(m, s).rsample(3)));
    const [gmu, gls] = gr([mu, ls]);
    assertClose(values(gmu!), [1, 1], 1e-6, 0, 'd/dmu');
    // d/dlogScale of mu + e^ls eps = e^ls eps = sample - mu
    const eps = tf.sub(new Normal(mu, ls).rsample(3), mu);
    assertClose(values(gls!), values(eps), 1e-5, 0, 'd/dlogScale');
    const g0 = tf.grad((m: tf.Tensor) => tf.sum(new Normal(m, ls).sample(3)))(mu);
    assertClose(values(g0), [0, 0], 0, 0, 'sample has no gradient');
  });
});

test('Normal KL to itself is 0; analytic KL matches a Monte Carlo estimate', () => {
  tf.tidy(() => {
    const a = new Normal(tf.tensor1d([0.3]), tf.tensor1d([-0.2]));
    const b = new Normal(tf.tensor1d([-0.5]), tf.tensor1d([0.4]));
    assertClose(values(a.kl(a)), [0], 1e-7, 0, 'kl(a,a)');
    const n = 100000;
    const big = new Normal(tf.fill([n], 0.3), tf.fill([n], -0.2));
    const x = big.sample(21);
    const mc = tf.mean(tf.sub(big.logProb(x), new Normal(tf.fill([n], -0.5), tf.fill([n], 0.4)).logProb(x)));
    assert.ok(Math.abs(mc.dataSync()[0]! - a.kl(b).dataSync()[0]!) < 0.01, 'MC KL');
  });
});

test('helpers: sumEvent, logSigmoid, logSumExp are stable', () => {
  tf.tidy(() => {
    const t = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);
    assert.deepEqual(Array.from(values(sumEvent(t))), [10, 26]);
    assert.deepEqual(sumEvent(t).shape, [2]);
    const ls = values(logSigmoid(tf.tensor1d([-100, 0, 100])));
    assertClose(ls, [-100, Math.log(0.5), 0], 1e-6, 0, 'logSigmoid');
    assertClose(values(logSumExp(tf.tensor1d([1000, 1000]))), [1000 + Math.log(2)], 1e-3, 0, 'logSumExp');
  });
});

test('no tensors leak from logProb / sample / entropy / kl / mean', () => {
  const mu = tf.tensor2d([0.1, 0.5, 0.9, 0.3], [2, 2]);
  const ls = tf.tensor2d([-2, -1, -3, 0], [2, 2]);
  const x = tf.tensor2d([0, 1, 128 / 255, 0.5], [2, 2]);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    tf.tidy(() => {
      const n = new Normal(mu, ls);
      n.logProb(x);
      n.sample(i);
      n.entropy();
      n.kl(n);
      n.mean();
      new Bernoulli(mu).logProb(x);
      new Categorical(mu).sample(i);
      new DiscretizedLogistic(mu, ls).logProb(x);
      new DiscretizedLogistic(mu, ls).mean();
      MixtureDiscretizedLogistic.fromParams(tf.concat([mu, mu, ls], -1)).logProb(tf.tensor1d([0.2, 0.4]));
    });
  }
  assert.equal(tf.memory().numTensors, before);
  // results returned from the methods are the only new tensors
  const lp = new Normal(mu, ls).logProb(x);
  assert.equal(tf.memory().numTensors, before + 1);
  lp.dispose();
  tf.dispose([mu, ls, x]);
});
