// Shared helpers for the flow tests: numerical Jacobians (central differences) and float64 determinants.
import * as tf from '@tensorflow/tfjs-core';
import { registerAllGradients } from '../../../src/backend/gradients.js';
import { initBackend } from '../../../src/backend/index.js';
import type { FlowContext, Transform } from '../../../src/families/flows/transform.js';

/** The project's backend choice (torch when its addon loads), one thread: the tests stay light on a shared box. */
export async function useBackend(): Promise<void> {
  await initBackend(undefined, { quiet: true, threads: 1 });
  await registerAllGradients();
}

/** log|det A| of a row-major n x n matrix, by LU with partial pivoting in float64 (independent of src/). */
export function logAbsDet(a: ArrayLike<number>, n: number): number {
  const m = Float64Array.from(a as ArrayLike<number>);
  let s = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k]!) > Math.abs(m[p * n + k]!)) p = i;
    if (p !== k)
      for (let j = 0; j < n; j++) {
        const t = m[k * n + j]!;
        m[k * n + j] = m[p * n + j]!;
        m[p * n + j] = t;
      }
    const piv = m[k * n + k]!;
    s += Math.log(Math.abs(piv));
    for (let i = k + 1; i < n; i++) {
      const f = m[i * n + k]! / piv;
      for (let j = k; j < n; j++) m[i * n + j] -= f * m[k * n + j]!;
    }
  }
  return s;
}

/**
 * Jacobian dy/dx of one example (x0: [1, ...shape]) by central differences with step eps, as a row-major
 * D x D matrix J[i * D + j] = dy_i / dx_j (all 2D perturbed inputs in one batch).
 */
export function numericalJacobian(f: (x: tf.Tensor) => tf.Tensor, x0: tf.Tensor, eps: number): Float64Array {
  const shape = x0.shape.slice(1);
  const D = x0.size;
  const base = x0.dataSync();
  const batch = new Float32Array(2 * D * D);
  for (let j = 0; j < D; j++) {
    batch.set(base, 2 * j * D);
    batch.set(base, (2 * j + 1) * D);
    batch[2 * j * D + j]! += eps;
    batch[(2 * j + 1) * D + j]! -= eps;
  }
  const y = tf.tidy(() => tf.reshape(f(tf.tensor(batch, [2 * D, ...shape])), [2 * D, D]).dataSync());
  const J = new Float64Array(D * D);
  for (let j = 0; j < D; j++)
    for (let i = 0; i < D; i++) J[i * D + j] = (y[2 * j * D + i]! - y[(2 * j + 1) * D + i]!) / (2 * eps);
  return J;
}

/** Perturb every trainable float variable by N(0, std^2) so transforms are far from the identity. */
export function perturb(t: { variables: Map<string, tf.Variable> }, std: number, seed: number): void {
  let i = 0;
  for (const v of t.variables.values())
    if (v.trainable && v.dtype === 'float32')
      tf.tidy(() => v.assign(tf.add(v, tf.randomNormal(v.shape, 0, std, 'float32', seed + i++))));
}

/** max |a - b| */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** forward's y and logDet per example for a transform with a context */
export function fwd(
  t: Transform,
  x: tf.Tensor,
  ctx: FlowContext = {},
): { y: tf.Tensor; logDet: Float32Array } {
  const r = t.forward(x, ctx);
  const logDet = r.logDet.dataSync() as Float32Array;
  r.logDet.dispose();
  return { y: r.y, logDet };
}
