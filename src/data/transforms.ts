// Image preprocessing: dynamic/static binarization, uniform dequantization, logit transform, and the
// log|det| of the whole chain so that likelihoods can be reported as bits/dim of the original 8-bit data.
//
// Randomness is counter based (src/core/rng.ts): element j of row r draws u = Rng(seed, r * D + j), so a
// row's noise depends only on (seed, row position), never on the batch size.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../core/rng.js';

/** Fixed seed of the test split's binarization / dequantization noise: every model sees the same test set. */
export const TEST_SEED = 0x7e57da7a;
/** Fixed seed of static binarization of the training split. */
export const STATIC_SEED = 0x57a71c;

/** Fold integers into one 32-bit seed (deterministic). */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let s = seed >>> 0;
  for (const p of parts) s = new Rng(s, p >>> 0).nextU32();
  return s;
}

/** x_i ~ Bernoulli(x_i) with x in [0,1]: u_i < x_i -> 1 (Salakhutdinov & Murray 2008, dynamic binarization). */
export function binarize(x: Float32Array, seed: number, counter0 = 0): Float32Array {
  const rng = new Rng(seed, counter0);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = rng.next() < x[i]! ? 1 : 0;
  return out;
}

/**
 * Uniform dequantization (Theis et al. 2016): pixel k in {0..L-1} stored as x = k/(L-1) becomes
 * (k + u)/L with u ~ U[0,1), a continuous value in [0,1).
 */
export function dequantize(x: Float32Array, levels: number, seed: number, counter0 = 0): Float32Array {
  const rng = new Rng(seed, counter0);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const k = Math.round(x[i]! * (levels - 1));
    out[i] = (k + rng.next()) / levels;
  }
  return out;
}

/** Logit transform (Dinh et al. 2017, RealNVP sec. 4.1): y = logit(alpha + (1 - 2 alpha) x). */
export function logitForward(x: Float32Array, alpha: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const p = alpha + (1 - 2 * alpha) * x[i]!;
    out[i] = Math.log(p) - Math.log1p(-p);
  }
  return out;
}

/** Inverse of logitForward, clipped to [0,1]: x = (sigmoid(y) - alpha) / (1 - 2 alpha). */
export function logitInverse(y: Float32Array, alpha: number): Float32Array {
  const out = new Float32Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const p = 1 / (1 + Math.exp(-y[i]!));
    out[i] = Math.min(1, Math.max(0, (p - alpha) / (1 - 2 * alpha)));
  }
  return out;
}

/**
 * Per-example log|det dy/dx| of the logit transform, written in terms of y (what a flow holds):
 * dy/dx = (1 - 2 alpha) / (p (1 - p)) with p = sigmoid(y), and -log p - log(1-p) = softplus(-y) + softplus(y).
 * y: [n, ...]; returns [n].
 */
export function logitLogDet(y: tf.Tensor, alpha: number): tf.Tensor1D {
  return tf.tidy(() => {
    const perDim = tf.add(tf.add(tf.softplus(y), tf.softplus(tf.neg(y))), Math.log(1 - 2 * alpha));
    return sumAllButFirst(perDim);
  });
}

function sumAllButFirst(t: tf.Tensor): tf.Tensor1D {
  if (t.rank === 1) return t.clone() as tf.Tensor1D;
  return tf.sum(
    t,
    Array.from({ length: t.rank - 1 }, (_, i) => i + 1),
  ) as tf.Tensor1D;
}

/** The image preprocessing chain, as stored in dataset options. */
export interface ImageTransform {
  binarize: 'dynamic' | 'static' | 'none';
  dequantize: boolean;
  /** logit alpha, or null for no logit transform */
  logit: number | null;
  /** number of intensity levels of the original data (256 for 8-bit) */
  levels: number;
}

/**
 * log|det d(model x)/d v| per example, where v = k + u in [0, levels)^D is the dequantized original integer
 * data. With it, bits/dim of the original data = -(logProb(x) + logDet) / (D ln 2). For models that see
 * discrete data (binarized, or [0,1] pixels without dequantization, scored with a discrete likelihood)
 * the model's log-probability already is the discrete one and this is 0.
 * x: model-space batch [n, ...]; returns [n].
 */
export function imageLogDet(t: ImageTransform, x: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const n = x.shape[0]!;
    const D = x.size / Math.max(n, 1);
    if (t.binarize !== 'none' || !t.dequantize) return tf.zeros([n]) as tf.Tensor1D;
    // v -> v / levels
    const scale = tf.fill([n], -D * Math.log(t.levels)) as tf.Tensor1D;
    return t.logit === null ? scale : tf.add(scale, logitLogDet(x, t.logit));
  });
}

/** Apply the chain to raw [0,1] pixels. Binarization uses (seed, counter0); so does dequantization. */
export function applyImageTransform(
  t: ImageTransform,
  x: Float32Array,
  seed: number,
  counter0: number,
): Float32Array {
  if (t.binarize === 'dynamic') return binarize(x, seed, counter0);
  if (t.binarize === 'static') return x; // binarized once at load time
  let v = t.dequantize ? dequantize(x, t.levels, seed, counter0) : x;
  if (t.logit !== null) v = logitForward(v, t.logit);
  return v;
}

/** Model space -> displayable [0,1] pixels. */
export function imageToDisplay(t: ImageTransform, x: Float32Array): Float32Array {
  if (t.logit !== null && t.binarize === 'none') return logitInverse(x, t.logit);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.min(1, Math.max(0, x[i]!));
  return out;
}

/** Convert a per-example log-likelihood in nats of D-dimensional data to bits per dimension. */
export function bitsPerDim(logProbNats: number, dims: number): number {
  return -logProbNats / (dims * Math.LN2);
}
