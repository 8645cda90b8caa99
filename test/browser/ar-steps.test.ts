// The autoregressive sampler's step-by-step hooks (what the playground draws live), in Node: onStep after
// each of the T positions, onState with the partial sample (the positions drawn so far, in the model's
// order, and 0 elsewhere), and the hooks change nothing: the same seed gives the same sample without them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { listPretrained } from '../../src/api/pretrained.js';
import { initBackend } from '../../src/backend/index.js';
import { Autoregressive } from '../../src/families/autoregressive/base.js';
import '../../src/families/index.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';

test('an autoregressive sample is reported position by position, and the hooks leave it unchanged', async () => {
  await initBackend(undefined, { quiet: true });
  const e = listPretrained().find((p) => p.taxonomy.family === 'autoregressive' && !p.taxonomy.conditional);
  assert.ok(e, 'no unconditional autoregressive model shipped');
  const { model } = loadCheckpoint(`pretrained:${e.name}`);
  const n = 2;
  const D = model.spec.shape.reduce((a, b) => a * b, 1);
  const steps: number[] = [];
  const states: { i: number; v: Float32Array }[] = [];
  const withHooks = model.sample(n, {
    seed: 11,
    onStep: (i) => steps.push(i),
    onState: (i, total, x) => {
      if (i % 97 !== 0 && i !== total) return;
      const t = x();
      assert.deepEqual(t.shape, [n, ...model.spec.shape]);
      states.push({ i, v: t.dataSync() as Float32Array });
      t.dispose();
    },
  });
  const final = withHooks.dataSync() as Float32Array;
  const plain = model.sample(n, { seed: 11 });
  assert.deepEqual(plain.dataSync(), final);
  tf.dispose([withHooks, plain]);
  const T = steps.length;
  assert.deepEqual(
    steps,
    Array.from({ length: T }, (_, k) => k + 1),
  );
  assert.equal(states[0]!.i, 0);
  assert.equal(states.at(-1)!.i, T);
  assert.ok(model instanceof Autoregressive);
  assert.equal(T, model.T);
  const C = model.C;
  // after step i the first i positions of the model's order hold their final values (C values each), the rest 0
  const order = model.order();
  for (const { i, v } of states) {
    const drawn = new Set(order.slice(0, i));
    for (let s = 0; s < n; s++)
      for (let t = 0; t < T; t++)
        for (let c = 0; c < C; c++) {
          const k = (s * T + t) * C + c;
          assert.equal(v[k], drawn.has(t) ? final[k] : 0, `step ${i}, sample ${s}, position ${t}`);
        }
  }
  assert.ok(final.some((v) => v !== 0));
  model.dispose();
});
