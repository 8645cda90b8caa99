// The variational bound on the negative log-likelihood of a diffusion model (Ho et al. 2020, eq. 5):
//   -log p(x_0) <= L_T + sum_{t=2}^T L_{t-1} + L_0 =: L_vlb(x_0), with
//   L_T     = KL(q(x_T | x_0) || N(0, I))                                        (no parameters)
//   L_{t-1} = E_{x_t ~ q(x_t|x_0)} KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)),  both Gaussian (eq. 6, 7)
//   L_0     = -E_{x_1 ~ q(x_1|x_0)} log p(x_0 | x_1)
// p(x_{t-1} | x_t) = N(muTilde(x_0hat, x_t), sigma_t^2), x_0hat from the predicted noise. The decoder
// p(x_0 | x_1) is the discretized Gaussian of Ho et al. eq. 13 for data on a grid of L levels in [-1, 1]
// (8-bit images: L = 256; binarized: L = 2), or a Gaussian density N(x_0; x_0hat, sigma_1^2) for real vectors.
// Every expectation is estimated with one draw of x_t per term. `terms` = 0 sums all T - 1 KL terms;
// `terms` = K > 0 draws one t per example from each of K equal slices of {2..T} (stratified sampling) and
// weights it by the slice's size: an unbiased estimate of the same bound at K + 1 network passes, not T.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../core/rng.js';
import type { NoiseSchedule } from './schedule.js';

/** eps-hat(x_t, t) with one time per row (t [n] int32 in 1..T) */
export type EpsRowFn = (x: tf.Tensor, t: tf.Tensor1D) => tf.Tensor;

export interface VlbOptions {
  variance: 'small' | 'large';
  decoder: { kind: 'discretized'; levels: number } | { kind: 'gaussian' };
  /** KL terms: 0 = all T - 1, K > 0 = an unbiased estimate from K random times per example */
  terms: number;
  seed: number;
  clip?: [number, number] | null;
}

/** The bound split into its parts, each per example [n] in nats (L_vlb = prior + kl + decoder). */
export interface VlbTerms {
  prior: tf.Tensor1D;
  kl: tf.Tensor1D;
  decoder: tf.Tensor1D;
}

const sumRows = (x: tf.Tensor): tf.Tensor1D => tf.sum(tf.reshape(x, [x.shape[0]!, -1]), 1) as tf.Tensor1D;

/** log Phi(z), Phi the standard normal CDF, clamped at log 1e-12 (as Ho et al.'s code) */
function logPhi(z: tf.Tensor): tf.Tensor {
  return tf.log(tf.maximum(tf.mul(0.5, tf.add(1, tf.erf(tf.div(z, Math.SQRT2)))), 1e-12));
}

/**
 * log P(x_0 | mu, sigma) of the discretized Gaussian (Ho et al. eq. 13): the mass of N(mu, sigma^2) on
 * x's bin [x - h, x + h], h = 1 / (L - 1), the edge bins extended to -inf / +inf. Elementwise.
 */
export function discretizedGaussianLogProb(x: tf.Tensor, mu: tf.Tensor, sigma: number, levels: number) {
  return tf.tidy(() => {
    const h = 1 / (levels - 1);
    const zPlus = tf.div(tf.sub(tf.add(x, h), mu), sigma);
    const zMinus = tf.div(tf.sub(tf.sub(x, h), mu), sigma);
    const logCdfPlus = logPhi(zPlus);
    const logSfMinus = logPhi(tf.neg(zMinus)); // log(1 - Phi(zMinus)) without cancellation
    const phi = (z: tf.Tensor) => tf.mul(0.5, tf.add(1, tf.erf(tf.div(z, Math.SQRT2))));
    const mid = tf.log(tf.maximum(tf.sub(phi(zPlus), phi(zMinus)), 1e-12));
    const lo = tf.less(x, -1 + h / 2);
    const hi = tf.greater(x, 1 - h / 2);
    return tf.where(lo, logCdfPlus, tf.where(hi, logSfMinus, mid));
  });
}

/** log N(x; mu, v), elementwise */
function gaussLogProb(x: tf.Tensor, mu: tf.Tensor, v: number): tf.Tensor {
  return tf.tidy(() =>
    tf.sub(tf.mul(-0.5, tf.div(tf.square(tf.sub(x, mu)), v)), 0.5 * Math.log(2 * Math.PI * v)),
  );
}

/** per-step arrays (index t = 1..T, step t -> t-1): posterior coefficients and both model variances */
function stepArrays(sched: NoiseSchedule) {
  const T = sched.T;
  const a = {
    coefX0: new Float64Array(T + 1),
    coefXt: new Float64Array(T + 1),
    varQ: new Float64Array(T + 1),
    small: new Float64Array(T + 1),
    large: new Float64Array(T + 1),
    sqrtAb: sched.alphaBar.map(Math.sqrt),
    sqrt1mAb: sched.alphaBar.map((x) => Math.sqrt(1 - x)),
  };
  for (let t = 1; t <= T; t++) {
    const p = sched.posterior(t - 1, t);
    a.coefX0[t] = p.coefX0;
    a.coefXt[t] = p.coefXt;
    a.varQ[t] = p.variance;
    a.small[t] = sched.stepVariance(t - 1, t, 'small');
    a.large[t] = sched.stepVariance(t - 1, t, 'large');
  }
  return a;
}

/** L_T = KL(N(sqrt(alphaBar_T) x_0, 1 - alphaBar_T) || N(0, 1)), summed over dimensions */
export function priorKL(sched: NoiseSchedule, x0: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const ab = sched.alphaBar[sched.T]!;
    const v = 1 - ab;
    return sumRows(tf.mul(0.5, tf.sub(tf.add(tf.mul(ab, tf.square(x0)), v - 1), Math.log(v))));
  });
}

/** The terms of L_vlb(x_0) per example (nats); -(prior + kl + decoder) is a lower bound on log p(x_0). */
export function vlbTerms(sched: NoiseSchedule, eps: EpsRowFn, x0: tf.Tensor, o: VlbOptions): VlbTerms {
  const T = sched.T;
  const n = x0.shape[0]!;
  const rng = new Rng(o.seed);
  const A = stepArrays(sched);
  const vP = o.variance === 'small' ? A.small : A.large;
  const x0hatOf = (xt: tf.Tensor, t: tf.Tensor1D) => {
    const e = eps(xt, t);
    const r = x0.rank;
    const x0hat = tf.div(tf.sub(xt, tf.mul(sched.gather(A.sqrt1mAb, t, r), e)), sched.gather(A.sqrtAb, t, r));
    return o.clip ? tf.clipByValue(x0hat, o.clip[0], o.clip[1]) : x0hat;
  };
  const noisy = (t: tf.Tensor1D) =>
    sched.qSample(x0, t, tf.randomNormal(x0.shape, 0, 1, 'float32', rng.nextSeed()));
  /** KL(q(x_{t-1}|x_t,x_0) || p(x_{t-1}|x_t)) per example, one draw of x_t; t [n] in 2..T */
  const klAt = (t: tf.Tensor1D): tf.Tensor1D =>
    tf.tidy(() => {
      const r = x0.rank;
      const xt = noisy(t);
      const [c0, ct] = [sched.gather(A.coefX0, t, r), sched.gather(A.coefXt, t, r)];
      const muQ = tf.add(tf.mul(c0, x0), tf.mul(ct, xt));
      const muP = tf.add(tf.mul(c0, x0hatOf(xt, t)), tf.mul(ct, xt));
      const vq = sched.gather(A.varQ, t, r);
      const vp = sched.gather(vP, t, r);
      const kl = tf.mul(
        0.5,
        tf.sub(
          tf.add(tf.sub(tf.log(vp), tf.log(vq)), tf.div(tf.add(vq, tf.square(tf.sub(muQ, muP))), vp)),
          1,
        ),
      );
      return sumRows(kl);
    });

  const prior = priorKL(sched, x0);
  let kl: tf.Tensor1D = tf.zeros([n]);
  const add = (v: tf.Tensor1D, scale: number) => {
    const next = tf.tidy(() => tf.add(kl, tf.mul(v, scale)) as tf.Tensor1D);
    kl.dispose();
    v.dispose();
    kl = next;
  };
  if (o.terms === 0) {
    for (let t = 2; t <= T; t++) add(klAt(tf.fill([n], t, 'int32') as tf.Tensor1D), 1);
  } else if (T >= 2) {
    // stratified: the k-th draw is uniform on the k-th of K equal slices of {2..T}, weighted by its size
    const K = Math.min(o.terms, T - 1);
    for (let k = 0; k < K; k++) {
      const lo = 2 + Math.floor((k * (T - 1)) / K);
      const hi = 2 + Math.floor(((k + 1) * (T - 1)) / K); // exclusive
      const ts = Int32Array.from({ length: n }, () => lo + Math.floor(rng.next() * (hi - lo)));
      const t = tf.tensor1d(ts, 'int32');
      add(klAt(t), hi - lo);
      t.dispose();
    }
  }
  const decoder = tf.tidy(() => {
    const t1 = tf.fill([n], 1, 'int32') as tf.Tensor1D;
    const mu = x0hatOf(noisy(t1), t1); // muTilde at t = 1 is x_0hat (coefX0 = 1, coefXt = 0)
    const v = vP[1]!;
    const logP =
      o.decoder.kind === 'discretized'
        ? discretizedGaussianLogProb(x0, mu, Math.sqrt(v), o.decoder.levels)
        : gaussLogProb(x0, mu, v);
    return tf.neg(sumRows(logP));
  });
  return { prior, kl, decoder };
}

/** L_vlb per example (nats) */
export function vlb(sched: NoiseSchedule, eps: EpsRowFn, x0: tf.Tensor, o: VlbOptions): tf.Tensor1D {
  const { prior, kl, decoder } = vlbTerms(sched, eps, x0, o);
  const out = tf.tidy(() => tf.addN([prior, kl, decoder]) as tf.Tensor1D);
  tf.dispose([prior, kl, decoder]);
  return out;
}
