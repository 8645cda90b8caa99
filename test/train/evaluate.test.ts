import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { evaluate } from '../../src/eval/evaluate.js';
import { DiagGauss, fakeDataset, LinearGaussianLatent, VEC_SPEC } from './tiny.js';

await tf.setBackend('cpu');

test('exact density: NLL in nats and bits/dim equal an independent computation', async () => {
  const ds = fakeDataset(10, 50);
  const m = new DiagGauss(VEC_SPEC, {}, 5);
  tf.tidy(() => m.logSigma.assign(tf.tensor1d([0.1, -0.2, 0.3])));
  const mu = m.mu.dataSync();
  const ls = m.logSigma.dataSync();
  let sum = 0;
  for (let i = 0; i < 50; i++)
    for (let j = 0; j < 3; j++) {
      const z = (ds.test.x[i * 3 + j]! - mu[j]!) / Math.exp(ls[j]!);
      sum += 0.5 * z * z + ls[j]! + 0.5 * Math.log(2 * Math.PI);
    }
  const r = await evaluate(m, ds, { batchSize: 7, progress: 'none' });
  assert.equal(r.n, 50);
  assert.equal(r.metrics.length, 1);
  const nll = r.metrics[0]!;
  assert.equal(nll.name, 'nll');
  assert.ok(Math.abs(nll.nats - sum / 50) < 1e-4, `${nll.nats} vs ${sum / 50}`);
  assert.ok(Math.abs(nll.bitsPerDim - sum / 50 / (3 * Math.LN2)) < 1e-4);
  const r20 = await evaluate(m, ds, { batchSize: 7, maxN: 20, progress: 'none' });
  assert.equal(r20.n, 20);
  await assert.rejects(evaluate(m, ds, { iw: 5, progress: 'none' }), /exact density/);
  m.dispose();
});

test('bound density: ELBO is exact with the true posterior; IWAE-K tightens a loose posterior', async () => {
  const ds = fakeDataset(10, 200, 3, 9);
  const w = new Float32Array([0.8, -0.5, 1.2]);
  const b = new Float32Array([1, 2, 3]);
  const s = 0.6;
  const post = LinearGaussianLatent.exactPosterior(w, s);
  const exactModel = new LinearGaussianLatent(VEC_SPEC, {}, w, b, s, post.a, post.rho);
  const nllExact = -exactModel.exactLogProb(ds.test.x).reduce((a, v) => a + v, 0) / 200;
  const r = await evaluate(exactModel, ds, { iw: 10, batchSize: 64, seed: 1, progress: 'none' });
  assert.equal(r.density, 'bound');
  assert.deepEqual(
    r.metrics.map((m) => m.name),
    ['elbo', 'iwae'],
  );
  for (const m of r.metrics)
    assert.ok(Math.abs(m.nats - nllExact) < 1e-3, `${m.name} ${m.nats} vs exact ${nllExact}`);
  // a deliberately poor posterior: -ELBO > -IWAE_K > NLL, with the IWAE gap much smaller
  const loose = new LinearGaussianLatent(
    VEC_SPEC,
    {},
    w,
    b,
    s,
    post.a.map((v) => v * 0.5),
    post.rho + 0.7,
  );
  const r2 = await evaluate(loose, ds, { iw: 256, batchSize: 64, seed: 2, progress: 'none' });
  const [elbo, iwae] = [r2.metrics[0]!, r2.metrics[1]!];
  assert.equal(iwae.k, 256);
  // (IWAE is a bound in expectation; its Monte-Carlo estimate may dip slightly below the exact NLL)
  assert.ok(
    elbo.nats > iwae.nats && iwae.nats > nllExact - 0.02,
    `elbo ${elbo.nats} iwae ${iwae.nats} exact ${nllExact}`,
  );
  assert.ok(
    Math.abs(iwae.nats - nllExact) < 0.2 * (elbo.nats - nllExact),
    `iwae gap ${iwae.nats - nllExact} elbo gap ${elbo.nats - nllExact}`,
  );
  assert.ok(Math.abs(elbo.bitsPerDim - elbo.nats / (3 * Math.LN2)) < 1e-9);
});

test('models without a likelihood get sample metrics, never likelihood numbers', async () => {
  const m = new DiagGauss(VEC_SPEC, {}, 0);
  Object.defineProperty(m, 'taxonomy', { value: { ...m.taxonomy, density: 'none' } });
  const r = await evaluate(m, fakeDataset(4, 40), { progress: 'none' });
  assert.equal(r.metrics.length, 0);
  assert.equal(r.density, 'none');
  assert.ok(r.samples, 'sample metrics computed');
  assert.equal(r.samples.space, 'data');
  for (const v of [r.samples.precision, r.samples.recall])
    assert.ok(v !== undefined && v >= 0 && v <= 1, `precision/recall in [0,1]: ${v}`);
  m.dispose();
});
