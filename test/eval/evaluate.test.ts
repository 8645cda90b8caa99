// Eval as a list of named estimates: a model's own estimate (with a prepare step and its standard error) is
// evaluated and formatted like the defaults; the --iw check asks the estimates; label range checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { UserError, type Estimate } from '../../src/core/model.js';
import { Rng } from '../../src/core/rng.js';
import { evaluate, formatEval, headlineMetric, type EvalResult } from '../../src/eval/evaluate.js';
import { DiagGauss, fakeDataset, LinearGaussianLatent, VEC_SPEC } from '../train/tiny.js';

await tf.setBackend('cpu');

const LOG2PI = Math.log(2 * Math.PI);

/**
 * An energy model with a tractable partition function, to check estimate plumbing against closed forms:
 * E(x) = ½|(x − mu)/sigma|², Z = (2π)^{D/2} Π sigma. Its estimate 'is' computes log Z by importance sampling
 * from N(mu, (2 sigma)²) with M draws (prepare, once) and reports log p(x) = −E(x) − log Ẑ; the standard
 * error of log Ẑ (delta method: sd(w) / (√M mean(w))) is what prepare adds to every example.
 */
class IsGauss extends DiagGauss {
  prepared = 0;
  logZ = NaN;
  constructor(
    readonly M: number,
    readonly takesK: boolean,
  ) {
    super(VEC_SPEC, {}, 4);
    Object.defineProperty(this, 'taxonomy', { value: { ...this.taxonomy, density: 'estimate' } });
    tf.tidy(() => this.logSigma.assign(tf.tensor1d([0.2, -0.1, 0.4])));
  }
  exactLogZ(): number {
    const ls = Array.from(this.logSigma.dataSync());
    return 0.5 * ls.length * LOG2PI + ls.reduce((a, v) => a + v, 0);
  }
  energy(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => tf.sub(tf.neg(this.logProb(x)), this.exactLogZ()) as tf.Tensor1D);
  }
  estimates(opts: { iw: number }): Estimate[] {
    const M = this.takesK && opts.iw > 1 ? opts.iw : this.M;
    const est: Estimate = {
      name: 'is',
      label: `NLL (IS, M=${M})`,
      kind: 'estimate',
      prepare: async ({ seed }) => {
        this.prepared++;
        const D = this.mu.size;
        const rng = new Rng(seed);
        const mu = this.mu.dataSync();
        const sig = Array.from(this.logSigma.dataSync(), (v) => 2 * Math.exp(v));
        const x = new Float32Array(M * D);
        const logQ = new Float64Array(M);
        for (let i = 0; i < M; i++)
          for (let j = 0; j < D; j++) {
            const e = rng.normal();
            x[i * D + j] = mu[j]! + sig[j]! * e;
            logQ[i]! -= 0.5 * e * e + Math.log(sig[j]!) + 0.5 * LOG2PI;
          }
        const negE = tf.tidy(() => tf.neg(this.energy(tf.tensor2d(x, [M, D]))).dataSync());
        const logW = Array.from(negE, (v, i) => v - logQ[i]!);
        const c = Math.max(...logW);
        const w = logW.map((v) => Math.exp(v - c));
        const mean = w.reduce((a, v) => a + v, 0) / M;
        const sd = Math.sqrt(w.reduce((a, v) => a + (v - mean) ** 2, 0) / (M - 1));
        this.logZ = c + Math.log(mean);
        return { stderr: sd / (Math.sqrt(M) * mean), info: { logZ: this.logZ, M } };
      },
      logLik: (x) => tf.tidy(() => tf.sub(tf.neg(this.energy(x)), this.logZ) as tf.Tensor1D),
    };
    if (this.takesK && opts.iw > 1) est.k = opts.iw;
    return [est];
  }
}

test("a model's own estimate: prepare once, its stderr combined, formatted under its label", async () => {
  const ds = fakeDataset(10, 60);
  const m = new IsGauss(4000, false);
  const exact = new DiagGauss(VEC_SPEC, {}, 0);
  tf.tidy(() => {
    exact.mu.assign(m.mu);
    exact.logSigma.assign(m.logSigma);
  });
  const rExact = await evaluate(exact, ds, { batchSize: 7, progress: 'none' });
  const r = await evaluate(m, ds, { batchSize: 7, seed: 3, progress: 'none' });
  assert.equal(m.prepared, 1, 'prepare runs once, not per batch');
  assert.equal(r.density, 'estimate');
  assert.equal(r.n, 60);
  assert.equal(r.metrics.length, 1);
  const e = r.metrics[0]!;
  const nll = rExact.metrics[0]!;
  assert.equal(e.name, 'is');
  assert.equal(e.label, 'NLL (IS, M=4000)');
  assert.equal(e.kind, 'estimate');
  assert.equal(e.k, undefined);
  const logZ = m.exactLogZ();
  const se = e.prepareStderr!;
  assert.ok(se > 0 && se < 0.1, `log Z stderr ${se}`);
  assert.equal(e.info!.logZ, m.logZ);
  assert.equal(e.info!.M, 4000);
  // the estimate is the exact NLL shifted by the log Z error, which is within a few of its standard errors
  assert.ok(
    Math.abs(e.nats - (nll.nats + m.logZ - logZ)) < 1e-4,
    `${e.nats} vs ${nll.nats} + ${m.logZ - logZ}`,
  );
  assert.ok(Math.abs(m.logZ - logZ) < 4 * se, `log Z ${m.logZ} vs exact ${logZ} (stderr ${se})`);
  // per-example spread is that of the exact NLL; prepare's error adds in quadrature
  assert.ok(Math.abs(e.stderr - Math.hypot(nll.stderr, se)) < 1e-6, `${e.stderr} vs ${nll.stderr} (+) ${se}`);
  assert.ok(Math.abs(e.bitsPerDim - e.nats / (3 * Math.LN2)) < 1e-9);
  const s = formatEval(r);
  assert.match(s, /^test \(n=60\): NLL \(IS, M=4000\) \d+\.\d{3} ± \d+\.\d{3} nats \(\d+\.\d{4} bits\/dim; /);
  assert.match(s, /logZ \d+\.\d+, M 4000/);
  assert.equal(headlineMetric(r.metrics), e);
  // a different seed gives prepare a different draw
  const m2 = new IsGauss(4000, false);
  const r2 = await evaluate(m2, ds, { batchSize: 7, seed: 4, progress: 'none' });
  assert.notEqual(r2.metrics[0]!.info!.logZ, e.info!.logZ);
  for (const x of [m, m2, exact]) x.dispose();
});

test('--iw is refused unless an estimate of the model takes a sample count', async () => {
  const ds = fakeDataset(10, 20);
  const fixed = new IsGauss(500, false);
  await assert.rejects(evaluate(fixed, ds, { iw: 5, progress: 'none' }), (err: Error) => {
    assert.ok(err instanceof UserError);
    assert.match(
      err.message,
      /'test-diag-gauss' \(estimate density\) offers NLL \(IS, M=500\), none of which/,
    );
    return true;
  });
  assert.equal(fixed.prepared, 0, 'refused before any work');
  const takesK = new IsGauss(500, true);
  const r = await evaluate(takesK, ds, { iw: 300, progress: 'none' });
  assert.equal(r.metrics[0]!.k, 300);
  assert.equal(r.metrics[0]!.info!.M, 300);
  await assert.rejects(evaluate(new DiagGauss(VEC_SPEC, {}, 0), ds, { iw: 5 }), /exact density/);
  for (const x of [fixed, takesK]) x.dispose();
});

test('default estimates carry labels and kinds; results without them still format', async () => {
  const ds = fakeDataset(10, 40, 3, 9);
  const w = new Float32Array([0.8, -0.5, 1.2]);
  const post = LinearGaussianLatent.exactPosterior(w, 0.6);
  const m = new LinearGaussianLatent(
    VEC_SPEC,
    {},
    w,
    new Float32Array([1, 2, 3]),
    0.6,
    post.a,
    post.rho + 0.5,
  );
  const r = await evaluate(m, ds, { iw: 16, seed: 1, progress: 'none' });
  assert.deepEqual(
    r.metrics.map((x) => [x.name, x.label, x.kind, x.k]),
    [
      ['elbo', '-ELBO', 'bound', undefined],
      ['iwae', '-IWAE(k=16)', 'bound', 16],
    ],
  );
  assert.equal(headlineMetric(r.metrics)!.name, 'iwae');
  assert.match(
    formatEval(r),
    /^test \(n=40\): -ELBO [\d.]+ ± [\d.]+ nats \([\d.]+ bits\/dim\), -IWAE\(k=16\) /,
  );
  // a result JSON written before metrics had label and kind
  const old = JSON.parse(
    '{"split":"test","n":5,"density":"bound","metrics":[{"name":"elbo","nats":2,"stderr":0.1,"bitsPerDim":1},' +
      '{"name":"iwae","k":8,"nats":1.5,"stderr":0.1,"bitsPerDim":0.75}]}',
  ) as EvalResult;
  assert.equal(
    formatEval(old),
    'test (n=5): -ELBO 2.000 ± 0.100 nats (1.0000 bits/dim), -IWAE(k=8) 1.500 ± 0.100 nats (0.7500 bits/dim)',
  );
  const exact = new DiagGauss(VEC_SPEC, {}, 0);
  const re = await evaluate(exact, ds, { progress: 'none' });
  assert.deepEqual(
    re.metrics.map((x) => [x.name, x.label, x.kind]),
    [['nll', 'NLL', 'exact']],
  );
  exact.dispose();
});

test("an unnormalized model is judged by its samples, like density 'none'", async () => {
  const m = new DiagGauss(VEC_SPEC, {}, 0);
  Object.defineProperty(m, 'taxonomy', { value: { ...m.taxonomy, density: 'unnormalized' } });
  const ds = fakeDataset(4, 40);
  const r = await evaluate(m, ds, { progress: 'none' });
  assert.equal(r.density, 'unnormalized');
  assert.equal(r.metrics.length, 0);
  assert.ok(r.samples && r.samples.precision !== undefined);
  await assert.rejects(evaluate(m, ds, { iw: 4 }), /'test-diag-gauss' \(unnormalized density\) has none/);
  m.dispose();
});

test('labels outside the model classes are a one-line UserError (issue 21)', async () => {
  const spec = { ...VEC_SPEC, numClasses: 3 };
  const m = new DiagGauss(spec, {}, 0);
  Object.defineProperty(m, 'taxonomy', { value: { ...m.taxonomy, conditional: true } });
  const seenLabels: number[] = [];
  m.logProb = (x: tf.Tensor, y?: tf.Tensor1D) => {
    seenLabels.push(...(y ? Array.from(y.dataSync()) : []));
    return DiagGauss.prototype.logProb.call(m, x);
  };
  const ds = fakeDataset(5, 12);
  ds.test.y = Int32Array.from({ length: 12 }, (_, i) => i % 3);
  const ok = await evaluate(m, ds, { batchSize: 5, progress: 'none' });
  assert.equal(ok.n, 12);
  assert.deepEqual(seenLabels, Array.from(ds.test.y), 'the model sees the labels');
  ds.test.y[9] = 4;
  await assert.rejects(evaluate(m, ds, { progress: 'none' }), (err: Error) => {
    assert.ok(err instanceof UserError);
    assert.equal(
      err.message,
      "label 4 of test example 9 is out of range: model 'test-diag-gauss' has 3 classes (0..2)",
    );
    return true;
  });
  // the first 9 examples are in range: --limit 9 evaluates
  assert.equal((await evaluate(m, ds, { maxN: 9, progress: 'none' })).n, 9);
  ds.test.y[9] = -1;
  await assert.rejects(evaluate(m, ds, { progress: 'none' }), /label -1 of test example 9 is out of range/);
  m.dispose();
});
