// Shared helpers for the latent-family tests: tiny binary data and a small Adam loop.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '../../../src/core/rng.js';
import type { GenerativeModel } from '../../../src/core/model.js';
import { registerAllGradients } from '../../../src/backend/gradients.js';

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await registerAllGradients();
}

/**
 * n binary vectors of `d` bits: a mixture of `modes` random prototypes with each bit flipped w.p. `flip`.
 * Returns x [n, d] and the mode labels y [n].
 */
export function binaryMixture(
  n: number,
  d: number,
  modes: number,
  flip: number,
  seed: number,
): { x: tf.Tensor2D; y: tf.Tensor1D } {
  const rng = new Rng(seed);
  const protos = Array.from({ length: modes }, () =>
    Array.from({ length: d }, () => (rng.next() < 0.5 ? 1 : 0)),
  );
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const m = Math.floor(rng.next() * modes);
    y[i] = m;
    for (let j = 0; j < d; j++) {
      const b = protos[m]![j]!;
      x[i * d + j] = rng.next() < flip ? 1 - b : b;
    }
  }
  return { x: tf.tensor2d(x, [n, d]), y: tf.tensor1d(y, 'int32') };
}

/** Full-batch Adam on the model's single objective; returns the last loss. */
export function trainAdam(
  model: GenerativeModel,
  x: tf.Tensor,
  steps: number,
  lr: number,
  y?: tf.Tensor1D,
  seed = 1,
): number {
  const [obj] = model.objectives();
  const opt = tf.train.adam(lr);
  const rng = new Rng(seed);
  let last = NaN;
  for (let step = 0; step < steps; step++) {
    const ctx = { step, epoch: 0, seed: () => rng.nextSeed(), training: true };
    const cost = opt.minimize(() => obj!.loss({ x, y }, ctx).loss, true, obj!.variables());
    if (step === steps - 1) last = cost!.dataSync()[0]!;
    cost!.dispose();
  }
  opt.dispose();
  return last;
}
