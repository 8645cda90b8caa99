// eval's sample metrics with an iterative sampler's options (--sampler / --steps / --eta / --guidance): the
// options reach model.sample for every batch, the sampling time is reported, and models that sample in one
// pass refuse them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerAllGradients } from '../../src/backend/gradients.js';
import { UserError, type GenerativeModel, type SampleOptions } from '../../src/core/model.js';
import { loadDataset, parseDataArg } from '../../src/data/index.js';
import { FlowMatching } from '../../src/families/diffusion/flow-matching.js';
import { sampleMetrics } from '../../src/eval/sample-metrics.js';
import { evalCheckpoint } from '../../src/api/evaluate.js';
import { command as evalCommand } from '../../src/cli/commands/eval.js';

await tf.setBackend('cpu');
await registerAllGradients();

test('sampleMetrics: the iterative options reach every sample() call; time per 1,000 samples reported', async () => {
  const ds = loadDataset(parseDataArg('moons', {}));
  const fm = new FlowMatching('flow-matching', { hidden: 16, blocks: 1 }, ds.spec, 0);
  const seen: SampleOptions[] = [];
  const spy = Object.create(fm) as GenerativeModel;
  spy.sample = (n: number, o?: SampleOptions) => {
    seen.push({ ...o });
    return fm.sample(n, o);
  };
  const r = await sampleMetrics(spy, ds, {
    n: 300,
    batchSize: 100,
    iterative: { sampler: 'heun', steps: 3 },
  });
  assert.equal(seen.length, 3, 'three batches');
  for (const o of seen) {
    assert.equal(o.sampler, 'heun');
    assert.equal(o.steps, 3);
  }
  assert.equal(new Set(seen.map((o) => o.seed)).size, 3, 'each batch its own seed');
  assert.deepEqual(r.sampler, { sampler: 'heun', steps: 3 });
  assert.ok(r.sampleSec! > 0 && Math.abs(r.secPer1000! - (1000 * r.sampleSec!) / 300) < 1e-9);
  // without options: the model's defaults, nothing recorded as the sampler
  seen.length = 0;
  const d = await sampleMetrics(spy, ds, { n: 100, batchSize: 100 });
  assert.equal(seen[0]!.steps, undefined);
  assert.equal(d.sampler, undefined);
  fm.dispose();
});

test('eval: sampler options on a model that samples in one pass, or without --samples, are one-line errors', async () => {
  const vae = path.resolve('test/fixtures/checkpoints-v1/vae-moons');
  await assert.rejects(
    evalCheckpoint(vae, { samples: 100, iterative: { steps: 10 } }),
    (e: Error) => e instanceof UserError && /--steps: model 'vae' samples in one pass/.test(e.message),
  );
  await assert.rejects(
    evalCommand.run([vae, '--steps', '10']),
    (e: Error) => e instanceof UserError && /add --samples N/.test(e.message),
  );
  await assert.rejects(
    evalCommand.run([vae, '--samples', '100', '--steps', '0']),
    (e: Error) => e instanceof UserError && /--steps/.test(e.message),
  );
});
