// Backend selection: torch when the addon loads, GENMODELS_BACKEND / `preferred` force one, info reports it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { backendInfo, initBackend } from '../../src/backend/index.js';
import { loadAddon } from '../../src/backend/torch/native.js';

const skip = loadAddon() === null ? 'torch addon not built (npm run build:native)' : false;

test('initBackend prefers torch and backendInfo describes it', { skip }, async () => {
  const saved = process.env.GENMODELS_BACKEND;
  delete process.env.GENMODELS_BACKEND;
  try {
    assert.equal(await initBackend(undefined, { quiet: true }), 'torch');
    assert.equal(tf.getBackend(), 'torch');
    const info = backendInfo();
    assert.equal(info.backend, 'torch');
    assert.ok(info.threads >= 1);
    assert.match(info.libtorchVersion ?? '', /^\d+\.\d+/);
    assert.ok(info.addonPath?.endsWith('.node'));
    // gradients are registered by initBackend (tfjs-core's node entry has none)
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor([1, 2]));
    assert.deepEqual(Array.from(g.dataSync()), [2, 4]);
  } finally {
    if (saved !== undefined) process.env.GENMODELS_BACKEND = saved;
  }
});

test('GENMODELS_BACKEND forces a backend; a bad value is an error', async () => {
  const saved = process.env.GENMODELS_BACKEND;
  try {
    process.env.GENMODELS_BACKEND = 'cpu';
    assert.equal(await initBackend(undefined, { quiet: true }), 'cpu');
    assert.equal(backendInfo().backend, 'cpu');
    process.env.GENMODELS_BACKEND = 'gpu';
    await assert.rejects(initBackend(undefined, { quiet: true }), /GENMODELS_BACKEND/);
  } finally {
    if (saved === undefined) delete process.env.GENMODELS_BACKEND;
    else process.env.GENMODELS_BACKEND = saved;
  }
});
