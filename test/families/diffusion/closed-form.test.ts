// 1-D Gaussian data N(m, s^2): the optimal noise predictor and the optimal flow-matching velocity are known in
// closed form, so the samplers and the bound can be checked without training anything.
//   eps*(x_t, t) = sqrt(1 - ab_t) (x_t - sqrt(ab_t) m) / (ab_t s^2 + 1 - ab_t)          (ab = alphaBar)
//   v*(x, t) = E[x_1 - x_0 | x_t = x] = m + (t s^2 - (1 - t)) / ((1 - t)^2 + t^2 s^2) (x - t m)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ddimSample, ddpmSample, odeSample } from '../../../src/families/diffusion/samplers.js';
import { NoiseSchedule } from '../../../src/families/diffusion/schedule.js';
import { discretizedGaussianLogProb, vlb } from '../../../src/families/diffusion/vlb.js';
import { NonFiniteSampleError } from '../../../src/train/loop.js';

await tf.setBackend('cpu');

const m = 1.5;
const s = 0.5;

function optimalEps(sched: NoiseSchedule) {
  return (x: tf.Tensor, t: number) => {
    const ab = sched.alphaBar[t]!;
    return tf.mul(tf.sub(x, Math.sqrt(ab) * m), Math.sqrt(1 - ab) / (ab * s * s + 1 - ab));
  };
}
const optimalVelocity = (x: tf.Tensor, t: number) => {
  const v = (1 - t) ** 2 + t * t * s * s;
  return tf.add(m, tf.mul(tf.sub(x, t * m), (t * s * s - (1 - t)) / v));
};

/**
 * A deterministic sampler with an affine predictor is an affine map x = a z + b of its starting noise z, so
 * z ~ N(0, 1) gives samples N(b, a^2) exactly: run it on z = 0 and z = 1. Returns the errors in mean, variance.
 */
function affineMoments(run: (init: tf.Tensor) => tf.Tensor): { dMean: number; dVar: number } {
  const y = tf.tidy(() => run(tf.tensor2d([0, 1], [2, 1])).dataSync());
  const b = y[0]!;
  const a = y[1]! - y[0]!;
  return { dMean: Math.abs(b - m), dVar: Math.abs(a * a - s * s) };
}

test('DDIM (eta = 0) with the optimal eps reproduces N(m, s^2); the error shrinks with the number of steps', () => {
  for (const kind of ['linear', 'cosine'] as const) {
    const sched = new NoiseSchedule(1000, kind);
    const errs = [10, 100, 1000].map((S) =>
      affineMoments((init) =>
        ddimSample(sched, optimalEps(sched), { shape: [2, 1], steps: S, seed: 0, init, eta: 0 }),
      ),
    );
    // q(x_T) is not exactly N(0, I): a floor of about sqrt(alphaBar_T) m in the mean remains at any S
    assert.ok(errs[2]!.dMean < 0.01 && errs[2]!.dVar < 0.005, `${kind} S=1000: ${JSON.stringify(errs[2])}`);
    assert.ok(
      errs[0]!.dVar > errs[1]!.dVar && errs[1]!.dVar > errs[2]!.dVar,
      `${kind}: ${JSON.stringify(errs)}`,
    );
  }
});

test('Euler and Heun with the optimal velocity reproduce N(m, s^2); the error shrinks with N, Heun beats Euler', () => {
  const e = (method: 'euler' | 'heun', N: number) =>
    affineMoments((init) => odeSample(optimalVelocity, { shape: [2, 1], steps: N, seed: 0, init, method }));
  const euler = [5, 20, 200].map((N) => e('euler', N));
  const heun = [5, 20, 200].map((N) => e('heun', N));
  for (const errs of [euler, heun]) {
    assert.ok(errs[0]!.dVar > errs[1]!.dVar && errs[1]!.dVar > errs[2]!.dVar, JSON.stringify(errs));
    assert.ok(errs[2]!.dMean < 1e-4, JSON.stringify(errs));
  }
  assert.ok(
    euler[2]!.dVar < 0.01 && heun[2]!.dVar < 1e-4,
    `${JSON.stringify(euler[2])} ${JSON.stringify(heun[2])}`,
  );
  for (let i = 0; i < 3; i++) assert.ok(heun[i]!.dVar < euler[i]!.dVar);
});

test('ancestral DDPM with the optimal eps reproduces N(m, s^2) (Monte Carlo); fewer steps, larger error', () => {
  const sched = new NoiseSchedule(1000, 'linear');
  const n = 20000;
  const moments = (S: number, variance: 'small' | 'large') =>
    tf.tidy(() => {
      const x = ddpmSample(sched, optimalEps(sched), { shape: [n, 1], steps: S, seed: 11, variance });
      const mo = tf.moments(x);
      return {
        dMean: Math.abs(mo.mean.dataSync()[0]! - m),
        dVar: Math.abs(mo.variance.dataSync()[0]! - s * s),
      };
    });
  const seMean = s / Math.sqrt(n);
  const seVar = s * s * Math.sqrt(2 / n);
  const few = moments(10, 'small');
  const many = moments(250, 'small');
  assert.ok(many.dMean < 0.01 + 4 * seMean && many.dVar < 0.03 + 4 * seVar, `S=250: ${JSON.stringify(many)}`);
  assert.ok(few.dVar > many.dVar + 4 * seVar, `S=10 ${JSON.stringify(few)} vs S=250 ${JSON.stringify(many)}`);
  const large = moments(250, 'large');
  assert.ok(
    large.dMean < 0.01 + 4 * seMean && large.dVar < 0.03 + 4 * seVar,
    `large: ${JSON.stringify(large)}`,
  );
});

test('the variational bound with the optimal eps is >= the exact NLL of N(m, s^2) on test points', () => {
  const T = 200;
  const sched = new NoiseSchedule(T, 'linear');
  const epsRow = (x: tf.Tensor, t: tf.Tensor1D) =>
    tf.tidy(() => {
      const ab = sched.gather(sched.alphaBar, t, 2);
      return tf.mul(
        tf.sub(x, tf.mul(tf.sqrt(ab), m)),
        tf.div(tf.sqrt(tf.sub(1, ab)), tf.add(tf.mul(ab, s * s), tf.sub(1, ab))),
      );
    });
  const points = [1.5, 0.7, 2.4, 3.0];
  const R = 400; // replicates per point: the bound is an expectation over x_t, estimated by its mean
  const x = tf.tensor2d(
    points.flatMap((p) => new Array<number>(R).fill(p)),
    [points.length * R, 1],
  );
  for (const variance of ['small', 'large'] as const) {
    const L = tf.tidy(() =>
      vlb(sched, epsRow, x, { variance, decoder: { kind: 'gaussian' }, terms: 0, seed: 3 }).dataSync(),
    );
    points.forEach((p, i) => {
      const v = Array.from(L.subarray(i * R, (i + 1) * R));
      const mean = v.reduce((a, b) => a + b, 0) / R;
      const se = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (R - 1) / R);
      const nll = 0.5 * ((p - m) / s) ** 2 + Math.log(s) + 0.5 * Math.log(2 * Math.PI);
      assert.ok(mean > nll - 3 * se, `${variance} x=${p}: bound ${mean} ± ${se} below the NLL ${nll}`);
      assert.ok(mean < nll + 2, `${variance} x=${p}: bound ${mean} implausibly loose (NLL ${nll})`);
      // fixed-small variances leave a gap well beyond the noise
      if (variance === 'small') assert.ok(mean - 3 * se > nll, `small x=${p}: ${mean} ± ${se} vs ${nll}`);
    });
  }
  x.dispose();
});

test('the stratified K-term estimate of the bound is unbiased (matches the full sum within noise)', () => {
  const T = 200;
  const sched = new NoiseSchedule(T, 'cosine');
  const epsRow = (x: tf.Tensor, t: tf.Tensor1D) =>
    tf.tidy(() => {
      const ab = sched.gather(sched.alphaBar, t, 2);
      return tf.mul(
        tf.sub(x, tf.mul(tf.sqrt(ab), m)),
        tf.div(tf.sqrt(tf.sub(1, ab)), tf.add(tf.mul(ab, s * s), tf.sub(1, ab))),
      );
    });
  const R = 3000;
  const x = tf.fill([R, 1], 0.9);
  const stats = (terms: number) =>
    tf.tidy(() => {
      const v = Array.from(
        vlb(sched, epsRow, x, {
          variance: 'small',
          decoder: { kind: 'gaussian' },
          terms,
          seed: terms + 1,
        }).dataSync(),
      );
      const mean = v.reduce((a, b) => a + b, 0) / R;
      return { mean, se: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (R - 1) / R) };
    });
  const full = stats(0);
  for (const K of [5, 40]) {
    const est = stats(K);
    assert.ok(
      Math.abs(est.mean - full.mean) < 4 * Math.hypot(est.se, full.se),
      `K=${K}: ${JSON.stringify(est)} vs ${JSON.stringify(full)}`,
    );
  }
  x.dispose();
});

test('the discretized Gaussian decoder (Ho et al. eq. 13) is a distribution over the levels', () => {
  for (const levels of [2, 256]) {
    for (const [mu, sigma] of [
      [0.3, 0.01],
      [-0.98, 0.2],
      [1.4, 0.5],
    ] as [number, number][]) {
      const total = tf.tidy(() => {
        const grid = tf.tensor1d(Array.from({ length: levels }, (_, k) => -1 + (2 * k) / (levels - 1)));
        return tf
          .sum(tf.exp(discretizedGaussianLogProb(grid, tf.fill([levels], mu), sigma, levels)))
          .dataSync()[0]!;
      });
      assert.ok(Math.abs(total - 1) < 1e-4, `L=${levels} mu=${mu} sigma=${sigma}: sum ${total}`);
    }
  }
});

test('a non-finite iterate stops sampling and names the step', () => {
  const sched = new NoiseSchedule(100, 'linear');
  const bad = (x: tf.Tensor, t: number) => (t < 60 ? tf.mul(x, NaN) : tf.zerosLike(x));
  let steps = 0;
  assert.throws(
    () => ddimSample(sched, bad, { shape: [4, 1], steps: 100, seed: 0, eta: 0, onStep: () => steps++ }),
    (e: unknown) =>
      e instanceof NonFiniteSampleError && /after sampling step 42 of 100/.test((e as Error).message),
  );
  assert.equal(steps, 41, 'progress is reported for every finished step');
  assert.throws(
    () => odeSample(() => tf.fill([4, 1], Infinity), { shape: [4, 1], steps: 7, seed: 0, method: 'heun' }),
    /NaN\/Inf after sampling step 1 of 7/,
  );
});
