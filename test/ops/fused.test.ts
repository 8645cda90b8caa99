// Fused ops (src/ops/fused.ts): the backend's fused kernels (torch) and the plain-tfjs form (cpu) give the
// float64 closed form, for values and for both gradients, including extreme logits and broadcasting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/index.js';
import { FUSED, sigmoidCrossEntropy } from '../../src/ops/fused.js';

const L = [-120, -30, -4.5, -1, -1e-3, 0, 1e-3, 0.7, 3, 17, 25, 90];
const X = [0, 1, 0.25, 1, 0, 0.5, 1, 0, 0.9, 1, 0, 1];

/** float64 reference: softplus(l) - l x, d/dl = sigmoid(l) - x, d/dx = -l */
const ref = (l: number, x: number) => Math.max(l, 0) + Math.log1p(Math.exp(-Math.abs(l))) - l * x;
const sig = (l: number) => 1 / (1 + Math.exp(-l));

function check(backend: string): void {
  const { value, dl, dx } = tf.tidy(() => {
    const l = tf.tensor1d(L);
    const x = tf.tensor1d(X);
    const w = tf.tensor1d(L.map((_, i) => 0.5 + i)); // upstream gradient dy = w
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(sigmoidCrossEntropy(a, b), w));
    const [gl, gx] = tf.grads(f)([l, x]);
    return {
      value: Array.from(sigmoidCrossEntropy(l, x).dataSync()),
      dl: Array.from(gl!.dataSync()),
      dx: Array.from(gx!.dataSync()),
    };
  });
  for (let i = 0; i < L.length; i++) {
    const l = L[i]!;
    const x = X[i]!;
    const wi = 0.5 + i;
    const close = (got: number, want: number, what: string) =>
      assert.ok(
        Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)),
        `${backend} ${what} at l=${l}, x=${x}: ${got} vs ${want}`,
      );
    close(value[i]!, ref(l, x), 'value');
    close(dl[i]!, wi * (sig(l) - x), 'd/dlogits');
    close(dx[i]!, -wi * l, 'd/dx');
  }
}

test('sigmoidCrossEntropy: values and gradients equal the float64 closed form on every backend', async () => {
  for (const b of ['torch', 'cpu']) {
    if (b === 'torch') await initBackend('torch', { quiet: true });
    else await tf.setBackend(b);
    check(b);
  }
  await initBackend(undefined, { quiet: true });
});

test('sigmoidCrossEntropy: torch runs the fused kernels, other backends the composite', async () => {
  await initBackend('torch', { quiet: true });
  assert.ok(tf.getKernel(FUSED.sigmoidCE, 'torch') && tf.getKernel(FUSED.sigmoidCEGrad, 'torch'));
  assert.equal(tf.getKernel(FUSED.sigmoidCE, 'cpu'), undefined);
  const prof = await tf.profile(() =>
    tf.tidy(() => tf.grad((l: tf.Tensor) => tf.sum(sigmoidCrossEntropy(l, tf.onesLike(l))))(tf.zeros([4]))),
  );
  const names = prof.kernels.map((k) => k.name);
  assert.ok(names.includes(FUSED.sigmoidCE) && names.includes(FUSED.sigmoidCEGrad), names.join(','));
});

test('sigmoidCrossEntropy broadcasts like tf.add and sums gradients over broadcast axes', async () => {
  await initBackend('torch', { quiet: true });
  const [gl, gx] = tf.tidy(() => {
    const l = tf.tensor2d([[0.3], [-2]]); // [2,1]
    const x = tf.tensor2d([[0, 1, 0.5]]); // [1,3]
    const out = sigmoidCrossEntropy(l, x);
    assert.deepEqual(out.shape, [2, 3]);
    return tf
      .grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(sigmoidCrossEntropy(a, b)))([l, x])
      .map((g) => Array.from(g.dataSync()));
  });
  const want = [0.3, -2].map((l) => [0, 1, 0.5].reduce((s, x) => s + sig(l) - x, 0));
  want.forEach((w, i) => assert.ok(Math.abs(gl![i]! - w) < 1e-5, `d/dl[${i}]`));
  [0, 1, 0.5].forEach((_, j) => assert.ok(Math.abs(gx![j]! - -(0.3 - 2)) < 1e-5, `d/dx[${j}]`));
});
