// Issue 3, "done when" 3: a VAE trained on the torch backend follows the same loss curve as on wasm
// for the same seed and data (first steps, within float tolerance). Real data: the committed MNIST slice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/index.js';
import { loadAddon } from '../../src/backend/torch/native.js';
import { Rng } from '../../src/core/rng.js';
import { modelEntry } from '../../src/core/model.js';
import { batches, loadDataset, parseDataArg } from '../../src/data/index.js';
import { ADAM_DEFAULTS, Adam } from '../../src/train/optim.js';
import '../../src/families/index.js';

const skip = loadAddon() === null ? 'torch addon not built (npm run build:native)' : false;

/** Loss after each of `steps` Adam steps of a fresh VAE (same seed, same batches) on the current backend. */
function lossCurve(steps: number): number[] {
  const ds = loadDataset(parseDataArg('mnist-fixture'));
  const entry = modelEntry('vae');
  const model = entry.create({ ...entry.defaults, hidden: [128], latentDim: 8 }, ds.spec, 7);
  const [objective] = model.objectives();
  const params = new Map(objective!.variables().map((v) => [v.name, v] as [string, tf.Variable]));
  const adam = new Adam(params, ADAM_DEFAULTS);
  const rng = new Rng(11);
  const losses: number[] = [];
  let step = 0;
  for (const b of batches(ds, 'train', 32, { epoch: 0, seed: 3, shuffle: true })) {
    if (step === steps) break;
    tf.tidy(() => {
      const x = tf.tensor(b.x, [b.n, ...ds.spec.shape]);
      const ctx = { step, epoch: 0, seed: () => rng.nextSeed(), training: true };
      const { value, grads } = tf.variableGrads(() => objective!.loss({ x }, ctx).loss, [...params.values()]);
      losses.push(value.dataSync()[0]!);
      adam.apply(new Map(Object.entries(grads)), ADAM_DEFAULTS.lr);
    });
    step++;
  }
  model.dispose();
  adam.dispose();
  return losses;
}

test('VAE loss curve: torch backend matches wasm for the same seed and data', { skip }, async () => {
  assert.equal(await initBackend('wasm', { quiet: true }), 'wasm');
  const wasm = lossCurve(20);
  assert.equal(await initBackend('torch', { quiet: true }), 'torch');
  const torch = lossCurve(20);
  assert.equal(torch.length, 20);
  // the curve moves (training happens) and both backends follow it to float tolerance
  assert.ok(wasm[19]! < wasm[0]! - 20, `loss should drop over 20 steps: ${wasm[0]} -> ${wasm[19]}`);
  for (let i = 0; i < wasm.length; i++) {
    const rel = Math.abs(torch[i]! - wasm[i]!) / Math.abs(wasm[i]!);
    assert.ok(rel < 1e-4, `step ${i}: torch ${torch[i]} vs wasm ${wasm[i]} (rel ${rel.toExponential(2)})`);
  }
});
