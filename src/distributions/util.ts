// Numerically stable building blocks shared by the distributions.
import * as tf from '@tensorflow/tfjs-core';

/** softplus(x) = log(1 + e^x), stable for large |x| (tfjs kernel; gradient sigmoid(x)). */
export function softplus(x: tf.Tensor): tf.Tensor {
  return tf.softplus(x);
}

/** log sigmoid(x) = -softplus(-x). */
export function logSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.neg(tf.softplus(tf.neg(x)));
}

/** log sum_i exp(x_i) along `axis` (max-shifted, stable). */
export function logSumExp(x: tf.Tensor, axis: number | number[] = -1, keepDims = false): tf.Tensor {
  return tf.logSumExp(x, axis, keepDims);
}

/** log(1 - e^{-d}) for d > 0, accurate for small d (via expm1). */
export function log1mexp(d: tf.Tensor): tf.Tensor {
  return tf.log(tf.neg(tf.expm1(tf.neg(d))));
}

/** Sum over all axes but the first (batch): [n, ...] -> [n]. A rank-1 tensor is returned as a copy. */
export function sumEvent(t: tf.Tensor): tf.Tensor1D {
  if (t.rank === 0) throw new Error('sumEvent: needs a batch axis');
  if (t.rank === 1) return t.clone() as tf.Tensor1D;
  return tf.sum(
    t,
    Array.from({ length: t.rank - 1 }, (_, i) => i + 1),
  ) as tf.Tensor1D;
}

/** Identity whose gradient is zero (a non-reparameterized sample). */
export const stopGradient: (x: tf.Tensor) => tf.Tensor = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => ({
  value: (x as tf.Tensor).clone(),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as (x: tf.Tensor) => tf.Tensor;

/** Broadcast shape of two parameter tensors. */
export function broadcastShape(a: tf.Tensor, b: tf.Tensor): number[] {
  return tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
}

/** A second seed derived from a seed (for distributions that need two independent random draws). */
export function nextSeed(seed: number, k = 1): number {
  return (Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(k, 0xc2b2ae35)) >>> 1;
}

/** Uniform noise in (eps, 1 - eps) so that log u and log(1 - u) stay finite in float32. */
export function uniformOpen(shape: number[], seed: number): tf.Tensor {
  const eps = 1e-6;
  return tf.randomUniform(shape, eps, 1 - eps, 'float32', seed);
}

/** The interface all distributions share. Parameters are borrowed, not owned: use inside tf.tidy. */
export interface Distribution {
  /** elementwise log-density / log-mass, shape of the values (callers sum with sumEvent) */
  logProb(x: tf.Tensor): tf.Tensor;
  /** a sample (no gradient to the parameters) */
  sample(seed: number): tf.Tensor;
  mean(): tf.Tensor;
}
