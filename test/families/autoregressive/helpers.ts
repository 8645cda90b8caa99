// Shared helpers for the autoregressive-family tests: every binary image of a small size, a full-batch Adam
// loop, and the model kinds with tiny configurations.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/backend/index.js';
import { registerAllGradients } from '../../../src/backend/gradients.js';
import { Rng } from '../../../src/core/rng.js';
import { modelEntry } from '../../../src/core/model.js';
import type { DataSpec } from '../../../src/data/spec.js';
import type { Autoregressive } from '../../../src/families/autoregressive/index.js';
import '../../../src/families/index.js';

export async function setup(): Promise<void> {
  await initBackend(undefined, { quiet: true });
  await registerAllGradients();
}

/** tiny configurations of every architecture (small enough to train in seconds) */
export const TINY: Record<string, Record<string, unknown>> = {
  nade: { hidden: 16 },
  made: { hidden: [64, 64] },
  'made-agnostic': { hidden: [64, 64], numMasks: 3, ordering: 'random' },
  pixelcnn: { channels: 8, blocks: 2, firstKernel: 3, kernel: 3, headChannels: 8 },
  'gated-pixelcnn': { channels: 8, layers: 4, kernel: 3, headChannels: 8 },
  transformer: { dModel: 16, heads: 2, layers: 2, mlpRatio: 2 },
};

export function build(
  name: string,
  spec: DataSpec,
  seed = 1,
  extra: Record<string, unknown> = {},
): Autoregressive {
  const kind = name === 'made-agnostic' ? 'made' : name;
  return modelEntry(kind).create({ ...TINY[name], ...extra }, spec, seed) as Autoregressive;
}

/** all L^D images of a spec's shape with values k / (L - 1), as [L^D, ...shape] */
export function allImages(shape: number[], levels: number): tf.Tensor {
  const D = shape.reduce((a, b) => a * b, 1);
  const N = levels ** D;
  const x = new Float32Array(N * D);
  for (let i = 0; i < N; i++) {
    let r = i;
    for (let d = 0; d < D; d++) {
      x[i * D + d] = (r % levels) / (levels - 1);
      r = Math.floor(r / levels);
    }
  }
  return tf.tensor(x, [N, ...shape]);
}

/** sum of exp(log p) in float64 */
export function totalMass(logp: tf.Tensor): number {
  let s = 0;
  for (const v of logp.dataSync()) s += Math.exp(v);
  return s;
}

/** Full-batch Adam on the model's objective (on a fixed dataset), returns the last loss. */
export function trainAdam(
  model: Autoregressive,
  x: tf.Tensor,
  steps: number,
  lr: number,
  y?: tf.Tensor1D,
): number {
  const [obj] = model.objectives();
  const opt = tf.train.adam(lr);
  const rng = new Rng(5);
  let last = NaN;
  for (let step = 0; step < steps; step++) {
    const ctx = { step, epoch: 0, seed: () => rng.nextSeed(), training: true };
    const cost = opt.minimize(() => obj!.loss({ x, ...(y ? { y } : {}) }, ctx).loss, true, obj!.variables());
    if (step === steps - 1) last = cost!.dataSync()[0]!;
    cost!.dispose();
  }
  opt.dispose();
  return last;
}
