// src/backend/engine.ts: the light clone of saved tensors gives the same gradients as tfjs's own clone, at
// first and second order (the nested case keeps tfjs's clone), and leaks no tensor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/index.js';

interface Internals {
  clone: (t: tf.Tensor) => tf.Tensor;
}

/** h^3 with its gradient 3 h^2 dy written by hand: a custom gradient's saved tensor (customGrad's save) */
const cube = tf.customGrad((h: tf.Tensor | tf.GradSaveFunc, save) => {
  const ht = h as tf.Tensor;
  (save as tf.GradSaveFunc)([ht]);
  return {
    value: tf.mul(tf.square(ht), ht),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], [hs]: tf.Tensor[]) =>
      tf.mul(dy as tf.Tensor, tf.mul(tf.square(hs!), 3)),
  };
}) as (h: tf.Tensor) => tf.Tensor;

/**
 * A small net with every kind of saved tensor: inputs (matMul, mul), outputs (exp, sigmoid), both (div), and
 * a custom gradient's.
 */
function loss(w: tf.Tensor, x: tf.Tensor): tf.Scalar {
  const h = tf.sigmoid(tf.matMul(x, w));
  return tf.sum(tf.add(tf.div(tf.mul(tf.exp(h), h), tf.add(h, 1)), cube(h))) as tf.Scalar;
}

/** first-order gradient, and the gradient of the squared gradient norm (second order, as WGAN-GP's penalty) */
function grads(w: tf.Tensor, x: tf.Tensor): { g1: Float32Array; g2: Float32Array } {
  return tf.tidy(() => {
    const g1 = tf.grad((v: tf.Tensor) => loss(v, x))(w);
    const g2 = tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.grad((u: tf.Tensor) => loss(u, x))(v))))(w);
    return { g1: g1.dataSync() as Float32Array, g2: g2.dataSync() as Float32Array };
  });
}

for (const backend of ['torch', 'cpu'] as const) {
  test(`engine tuning: gradients equal tfjs's clone, no leak (${backend})`, async () => {
    await initBackend(backend, { quiet: true });
    const e = tf.engine() as unknown as Internals;
    const tuned = e.clone;
    const shipped = Object.getPrototypeOf(e).clone as Internals['clone'];
    assert.notEqual(tuned, shipped, 'tuneEngine() installed its clone');
    const w = tf.tensor2d([0.3, -0.2, 0.5, 0.1, -0.4, 0.25], [3, 2]);
    const x = tf.tensor2d([1, 2, -1, 0.5, 0, -2, 1.5, -0.5, 0.25, 1, 1, -1], [4, 3]);
    const before = tf.memory().numTensors;
    const ours = grads(w, x);
    assert.equal(tf.memory().numTensors, before, 'tuned: tensor count flat');
    e.clone = shipped;
    let ref;
    try {
      ref = grads(w, x);
    } finally {
      e.clone = tuned;
    }
    assert.equal(tf.memory().numTensors, before, 'shipped: tensor count flat');
    assert.deepEqual(Array.from(ours.g1), Array.from(ref.g1));
    assert.deepEqual(Array.from(ours.g2), Array.from(ref.g2));
    assert.ok(
      ref.g2.some((v) => Math.abs(v) > 1e-4),
      'the second-order gradient is not trivially zero',
    );
    // the tuned first-order gradient against central differences of the loss (float64 accumulation)
    const wv = w.dataSync();
    for (let i = 0; i < wv.length; i++) {
      const f = (d: number) => {
        const p = Float32Array.from(wv);
        p[i]! += d;
        return tf.tidy(() => loss(tf.tensor2d(p, [3, 2]), x).dataSync()[0]!);
      };
      const fd = (f(1e-2) - f(-1e-2)) / 2e-2;
      assert.ok(
        Math.abs(fd - ours.g1[i]!) < 2e-3 * (1 + Math.abs(fd)),
        `dL/dw[${i}]: ${ours.g1[i]} vs ${fd}`,
      );
    }
    w.dispose();
    x.dispose();
  });
}
