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

/** x ~ Bernoulli(p) elementwise as float32 {0, 1}: 1 where u < p, u ~ U[0, 1). */
export function bernoulli(p: tf.Tensor, seed: number): tf.Tensor {
  return tf.tidy(() => tf.step(tf.sub(p, tf.randomUniform(p.shape, 0, 1, 'float32', seed))));
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
