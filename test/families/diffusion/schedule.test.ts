// The forward process in closed form against its definition, and the posterior against Bayes' rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { NoiseSchedule, cosineBetas, linearBetas } from '../../../src/families/diffusion/schedule.js';

await tf.setBackend('cpu');

test('linear schedule: Ho et al. endpoints at T = 1000, rescaled by 1000/T otherwise; cosine: alphaBar = f(t)/f(0)', () => {
  const b = linearBetas(1000);
  assert.ok(Math.abs(b[1]! - 1e-4) < 1e-12 && Math.abs(b[1000]! - 0.02) < 1e-12);
  const b100 = linearBetas(100);
  assert.ok(Math.abs(b100[1]! - 1e-3) < 1e-12 && Math.abs(b100[100]! - 0.2) < 1e-12);
  const T = 200;
  const sched = new NoiseSchedule(T, 'cosine');
  const f = (t: number) => Math.cos((((t / T + 0.008) / 1.008) * Math.PI) / 2) ** 2;
  for (const t of [1, 17, 100, 190]) assert.ok(Math.abs(sched.alphaBar[t]! - f(t) / f(0)) < 1e-9, `t=${t}`);
  assert.ok(cosineBetas(T).every((x, t) => t === 0 || (x > 0 && x <= 0.999)));
});

test('q(x_t | x_0) in closed form equals the forward steps applied one by one (mean and variance, exactly)', () => {
  for (const kind of ['linear', 'cosine'] as const) {
    for (const T of [10, 1000]) {
      const s = new NoiseSchedule(T, kind);
      const x0 = 1.7;
      // x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps_t: propagate the Gaussian's mean and variance
      let mean = x0;
      let variance = 0;
      for (let t = 1; t <= T; t++) {
        mean = Math.sqrt(1 - s.beta[t]!) * mean;
        variance = (1 - s.beta[t]!) * variance + s.beta[t]!;
        const q = s.marginal(t);
        assert.ok(Math.abs(q.mean * x0 - mean) < 1e-9, `${kind} T=${T} t=${t} mean`);
        assert.ok(Math.abs(q.variance - variance) < 1e-9, `${kind} T=${T} t=${t} variance`);
      }
    }
  }
});

test('qSample draws from q(x_t | x_0): Monte Carlo moments of the tensor path vs stepwise simulation', () => {
  const T = 50;
  const s = new NoiseSchedule(T, 'linear');
  const N = 40000;
  const x0v = 0.8;
  const t = 37;
  const [mc, step] = tf.tidy(() => {
    const x0 = tf.fill([N, 1], x0v);
    const xt = s.qSample(
      x0,
      tf.fill([N], t, 'int32') as tf.Tensor1D,
      tf.randomNormal([N, 1], 0, 1, 'float32', 5),
    );
    // the same marginal by simulating the chain q(x_t | x_{t-1}) step by step
    let x: tf.Tensor = x0;
    for (let k = 1; k <= t; k++)
      x = tf.add(
        tf.mul(x, Math.sqrt(1 - s.beta[k]!)),
        tf.mul(tf.randomNormal([N, 1], 0, 1, 'float32', 100 + k), Math.sqrt(s.beta[k]!)),
      );
    const m1 = tf.moments(xt);
    const m2 = tf.moments(x);
    return [
      [m1.mean.dataSync()[0]!, m1.variance.dataSync()[0]!],
      [m2.mean.dataSync()[0]!, m2.variance.dataSync()[0]!],
    ];
  });
  const q = s.marginal(t);
  const seMean = Math.sqrt(q.variance / N);
  const seVar = q.variance * Math.sqrt(2 / N);
  for (const [m, v] of [mc!, step!]) {
    assert.ok(Math.abs(m! - q.mean * x0v) < 4 * seMean, `mean ${m} vs ${q.mean * x0v}`);
    assert.ok(Math.abs(v! - q.variance) < 4 * seVar, `variance ${v} vs ${q.variance}`);
  }
});

/** mean and variance of the density proportional to exp(logp) on a grid (trapezoid-free Riemann sum) */
function gridMoments(logp: (x: number) => number, lo: number, hi: number, n = 200001): [number, number] {
  const h = (hi - lo) / (n - 1);
  let z = 0;
  let m1 = 0;
  let m2 = 0;
  let maxL = -Infinity;
  for (let i = 0; i < n; i++) maxL = Math.max(maxL, logp(lo + i * h));
  for (let i = 0; i < n; i++) {
    const x = lo + i * h;
    const w = Math.exp(logp(x) - maxL);
    z += w;
    m1 += w * x;
    m2 += w * x * x;
  }
  const mean = m1 / z;
  return [mean, m2 / z - mean * mean];
}

test('posterior q(x_s | x_t, x_0) matches Bayes on the two Gaussians, numerically (s = t-1 and respaced s < t-1)', () => {
  const logN = (x: number, m: number, v: number) => -0.5 * ((x - m) ** 2 / v) - 0.5 * Math.log(v);
  for (const kind of ['linear', 'cosine'] as const) {
    const sched = new NoiseSchedule(100, kind);
    for (const [s, t] of [
      [1, 2],
      [9, 10],
      [49, 50],
      [99, 100],
      [20, 60],
      [0, 30],
    ] as [number, number][]) {
      const x0 = 0.9;
      const xt = -0.4;
      const p = sched.posterior(s, t);
      if (s === 0) {
        // q(x_0 | x_t, x_0) is the point mass at x_0
        assert.ok(Math.abs(p.coefX0 - 1) < 1e-12 && Math.abs(p.coefXt) < 1e-12 && p.variance < 1e-12);
        continue;
      }
      const abS = sched.alphaBar[s]!;
      const abT = sched.alphaBar[t]!;
      // p(x_s | x_t, x_0) ∝ q(x_s | x_0) q(x_t | x_s)
      const logp = (xs: number) =>
        logN(xs, Math.sqrt(abS) * x0, 1 - abS) + logN(xt, Math.sqrt(abT / abS) * xs, 1 - abT / abS);
      const sd = Math.sqrt(p.variance);
      const mu = p.coefX0 * x0 + p.coefXt * xt;
      const [mean, variance] = gridMoments(logp, mu - 12 * sd, mu + 12 * sd);
      assert.ok(
        Math.abs(mean - mu) < 1e-6 * Math.max(1, Math.abs(mu)),
        `${kind} s=${s} t=${t} mean ${mean} vs ${mu}`,
      );
      assert.ok(
        Math.abs(variance / p.variance - 1) < 1e-4,
        `${kind} s=${s} t=${t} var ${variance} vs ${p.variance}`,
      );
      if (s === t - 1) {
        // Ho et al. eq. 7 literally
        const beta = sched.beta[t]!;
        assert.ok(Math.abs(p.variance - ((1 - sched.alphaBar[t - 1]!) / (1 - abT)) * beta) < 1e-12);
      }
    }
  }
});
