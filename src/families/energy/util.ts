// Small helpers of the energy family: option parsing with one-line errors, Bernoulli draws, running a
// computation off the gradient tape (the MCMC negatives of contrastive divergence are constants).
import * as tf from '@tensorflow/tfjs-core';
import type { z } from 'zod';
import { UserError } from '../../core/model.js';

/** Validate options against a zod schema (defaults filled); the first problem as a one-line UserError. */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown, kind: string): z.output<S> {
  const r = schema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const key = issue.path.join('.');
  throw new UserError(`model '${kind}': option ${key ? `'${key}' ` : ''}${issue.message.split('\n')[0]}`);
}

/**
 * Run fn with the enclosing gradient tape paused (torch.no_grad + detach): its outputs are constants to an
 * outer tf.variableGrads, its ops are not recorded (no memory kept for a backward pass that would multiply
 * by zero), and a tf.grad inside it gets a tape of its own. tfjs-core has no public stopGradient, so this
 * saves and restores the engine's tape state.
 */
export function offTape<T>(fn: () => T): T {
  const st = tf.engine().state as unknown as { gradientDepth: number; activeTape: unknown };
  const depth = st.gradientDepth;
  const tape = st.activeTape;
  st.gradientDepth = 0;
  st.activeTape = null;
  try {
    return fn();
  } finally {
    st.gradientDepth = depth;
    st.activeTape = tape;
  }
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

/**
 * n uniforms in [0, 1) (24-bit, exact in float32) from xoshiro128** (Blackman & Vigna 2018) seeded through
 * SplitMix32. The MCMC samplers draw one number per unit per sweep (AIS on 784 x 500 with 100 chains: 1.9e9), and
 * tf.randomUniform's per-value seedrandom object costs several times more per number than this loop.
 */
export function uniforms(n: number, seed: number): Float32Array {
  let x = seed >>> 0;
  const splitmix = () => {
    x = (x + 0x9e3779b9) | 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) | 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    out[i] = (r >>> 8) / 16777216;
  }
  return out;
}

/** U[lo, hi) tensor of `shape` (see uniforms) */
export function randUniform(shape: number[], seed: number, lo = 0, hi = 1): tf.Tensor {
  const u = uniforms(
    shape.reduce((p, q) => p * q, 1),
    seed,
  );
  if (lo !== 0 || hi !== 1) for (let i = 0; i < u.length; i++) u[i] = lo + (hi - lo) * u[i]!;
  return tf.tensor(u, shape);
}

/** N(0, std^2) tensor of `shape` by Box-Muller on uniforms */
export function randNormal(shape: number[], seed: number, std = 1): tf.Tensor {
  const n = shape.reduce((p, q) => p * q, 1);
  const u = uniforms(2 * Math.ceil(n / 2), seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = std * Math.sqrt(-2 * Math.log(1 - u[i]!));
    const th = 2 * Math.PI * u[i + 1]!;
    out[i] = r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = r * Math.sin(th);
  }
  return tf.tensor(out, shape);
}

/** x ~ Bernoulli(p) elementwise as float32 {0, 1}: 1 where u < p, u ~ U[0, 1). */
export function bernoulli(p: tf.Tensor, seed: number): tf.Tensor {
  return tf.tidy(() => tf.step(tf.sub(p, randUniform(p.shape, seed))));
}

/** [n, ...shape] -> [n, D] */
export function flat(x: tf.Tensor): tf.Tensor2D {
  return tf.reshape(x, [x.shape[0]!, -1]);
}

/** log(mean(exp(a))) and the delta-method standard error of it, in float64 (a: log importance weights). */
export function logMeanExp(a: ArrayLike<number>): { value: number; stderr: number } {
  const n = a.length;
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, a[i]!);
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const r = Math.exp(a[i]! - m);
    s += r;
    s2 += r * r;
  }
  const mean = s / n;
  const varR = Math.max(0, s2 / n - mean * mean) * (n / Math.max(1, n - 1));
  // se(log mean r) ~ se(mean r) / mean r = sqrt(var(r) / n) / mean r
  return { value: m + Math.log(mean), stderr: Math.sqrt(varR / n) / mean };
}
