import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../../src/core/model.js';
import { Rng } from '../../../src/core/rng.js';
import { aisLogZ, aisSchedule, exactLogZ } from '../../../src/families/energy/partition.js';
import { RBM } from '../../../src/families/energy/rbm.js';
import { makeTrainConfig, train } from '../../../src/train/loop.js';
import {
  binaryDataset,
  binaryMixture,
  bits,
  logSumExp,
  negEnergy,
  randomWeights,
  rbmWith,
  useCpu,
} from './helpers.js';

await useCpu();

const D = 6;
const H = 4;
const W1 = randomWeights(D, H, 1, 11);

/** exact log p(v) for all 2^D visible states, by brute force over the 2^(D+H) joint states */
function bruteLogP(w = W1): number[] {
  const joint: number[] = [];
  const perV: number[] = [];
  for (let s = 0; s < 2 ** w.D; s++) {
    const row: number[] = [];
    for (let t = 0; t < 2 ** w.H; t++) row.push(negEnergy(w, bits(s, w.D), bits(t, w.H)));
    perV.push(logSumExp(row));
    joint.push(...row);
  }
  const logZ = logSumExp(joint);
  return perV.map((x) => x - logZ);
}

test('free energy equals -log sum_h exp(-E(v, h)) (binary and Gaussian visibles)', () => {
  const m = rbmWith(W1);
  const all = Array.from({ length: 2 ** D }, (_, s) => bits(s, D));
  const F = m.freeEnergy(tf.tensor2d(all)).arraySync();
  all.forEach((v, s) => {
    const brute = -logSumExp(Array.from({ length: 2 ** H }, (_, t) => negEnergy(W1, v, bits(t, H))));
    assert.ok(Math.abs(F[s]! - brute) < 1e-4, `F(v=${s}) ${F[s]} vs ${brute}`);
  });
  m.dispose();
  const g = rbmWith(W1, { visible: 'gaussian' });
  const rng = new Rng(3);
  const vs = Array.from({ length: 10 }, () => Array.from({ length: D }, () => rng.normal()));
  const Fg = g.freeEnergy(tf.tensor2d(vs)).arraySync();
  vs.forEach((v, i) => {
    const brute = -logSumExp(Array.from({ length: 2 ** H }, (_, t) => negEnergy(W1, v, bits(t, H), true)));
    assert.ok(Math.abs(Fg[i]! - brute) < 1e-4, `Gaussian F ${Fg[i]} vs ${brute}`);
  });
  g.dispose();
});

test('exact log Z (enumerating either layer) matches the sum over all 2^10 joint states', () => {
  const joint: number[] = [];
  for (let s = 0; s < 2 ** D; s++)
    for (let t = 0; t < 2 ** H; t++) joint.push(negEnergy(W1, bits(s, D), bits(t, H)));
  const brute = logSumExp(joint);
  const m = rbmWith(W1);
  for (const over of ['hidden', 'visible'] as const) {
    const z = exactLogZ(m.params(), over, 16); // chunk 16: several chunks on both layers
    assert.ok(Math.abs(z - brute) < 1e-4, `${over}: ${z} vs ${brute}`);
  }
  // the model's estimate is labelled exact here and its log-likelihoods sum to one over all states
  const [est] = m.estimates();
  assert.equal(est!.kind, 'exact');
  const all = tf.tensor2d(Array.from({ length: 2 ** D }, (_, s) => bits(s, D)));
  const lp = est!.logLik(all, undefined, 0).arraySync();
  assert.ok(Math.abs(logSumExp(lp) - 0) < 1e-4);
  m.dispose();
});

test('Gaussian-visible log Z by hidden enumeration matches 2-D quadrature of exp(-F)', () => {
  const w = randomWeights(2, 3, 0.7, 5);
  const g = rbmWith(w, { visible: 'gaussian' });
  const z = exactLogZ(g.params(), 'hidden');
  // midpoint rule on [-12, 12]^2, step 0.04: the integrand is a mixture of unit Gaussians
  const n = 600;
  const h = 24 / n;
  const pts = new Float32Array(n * n * 2);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) pts.set([-12 + (i + 0.5) * h, -12 + (j + 0.5) * h], 2 * (i * n + j));
  const F = g.freeEnergy(tf.tensor2d(pts, [n * n, 2])).dataSync();
  const quad = logSumExp(Array.from(F, (f) => -f)) + Math.log(h * h);
  assert.ok(Math.abs(z - quad) < 1e-3, `${z} vs ${quad}`);
  g.dispose();
});

test('AIS log Z falls within 3 standard errors of the exact value (binary and Gaussian visibles)', () => {
  for (const visible of ['binary', 'gaussian'] as const) {
    const m = rbmWith(W1, { visible });
    const exact = exactLogZ(m.params(), 'hidden');
    const p = tf.tensor1d(Array.from({ length: D }, (_, i) => 0.2 + 0.1 * i));
    const baseBias = visible === 'binary' ? tf.log(tf.div(p, tf.sub(1, p))) : tf.mul(p, 2);
    const r = aisLogZ(m.params(), {
      baseBias: baseBias as tf.Tensor1D,
      chains: 200,
      temperatures: 500,
      seed: 3,
    });
    assert.ok(r.stderr > 0 && Number.isFinite(r.logZ));
    assert.ok(
      Math.abs(r.logZ - exact) < 3 * r.stderr,
      `${visible}: AIS ${r.logZ} ± ${r.stderr} vs exact ${exact}`,
    );
    // one temperature is plain importance sampling from the base model: unbiased Z, far noisier
    const is1 = aisLogZ(m.params(), {
      baseBias: baseBias as tf.Tensor1D,
      chains: 200,
      temperatures: 1,
      seed: 3,
    });
    assert.ok(is1.stderr > r.stderr);
    m.dispose();
  }
});

test('AIS schedule: Salakhutdinov & Murray knots at K = 14500, monotone, ends at 1; bad counts are UserErrors', () => {
  const b = aisSchedule(14500);
  assert.equal(b.length, 14501);
  assert.ok(
    Math.abs(b[500]! - 0.5) < 1e-12 && Math.abs(b[4500]! - 0.9) < 1e-12 && b[14500] === 1 && b[0] === 0,
  );
  for (let k = 1; k < b.length; k++) assert.ok(b[k]! > b[k - 1]!);
  assert.throws(
    () => aisSchedule(0),
    (e: Error) => e instanceof UserError && !e.message.includes('\n'),
  );
  const m = rbmWith(W1);
  assert.throws(
    () =>
      aisLogZ(m.params(), { baseBias: tf.zeros([D]) as tf.Tensor1D, chains: 10, temperatures: 0, seed: 1 }),
    (e: Error) => e instanceof UserError && /temperature/.test(e.message),
  );
  assert.throws(
    () => new RBM({ hidden: 4, aisTemperatures: 0 }, { kind: 'vector', shape: [D], domain: 'binary' }, 1),
    (e: Error) => e instanceof UserError && /aisTemperatures/.test(e.message) && !e.message.includes('\n'),
  );
  m.dispose();
});

test('block Gibbs sampling reaches the exact distribution (total variation bound)', () => {
  const m = rbmWith(W1);
  const logP = bruteLogP();
  // N independent chains from uniform noise, 100 sweeps each, final states counted over the 2^6 states.
  // For iid draws E[TV] <= (1/2) sum_s sqrt(p_s / N) <= (1/2) sqrt(S / N) (Cauchy-Schwarz), and TV moves by
  // at most 1/N per draw, so P(TV > E[TV] + t) <= exp(-2 N t^2) (McDiarmid): with N = 20000, S = 64,
  // t = 0.02 the bound 0.0283 + 0.02 fails with probability < 1e-6 for a sampler at stationarity.
  const N = 20000;
  const v0 = tf.tidy(() => tf.step(tf.sub(tf.randomUniform([N, D], 0, 1, 'float32', 5), 0.5))) as tf.Tensor2D;
  const v = m.gibbs(v0, 100, 9);
  const rows = v.arraySync();
  const count = new Array<number>(2 ** D).fill(0);
  for (const r of rows) count[r.reduce((s, x, j) => s + (x << j), 0)]!++;
  const tv = 0.5 * count.reduce((s, c, i) => s + Math.abs(c / N - Math.exp(logP[i]!)), 0);
  const bound = 0.5 * Math.sqrt(2 ** D / N) + 0.02;
  assert.ok(tv < bound, `TV ${tv} >= ${bound}`);
  // and the sampler is not trivially close to everything: the uniform distribution is far from p
  const tvUniform = 0.5 * logP.reduce((s, l) => s + Math.abs(1 / 2 ** D - Math.exp(l)), 0);
  assert.ok(tvUniform > 3 * bound, `uniform TV ${tvUniform}`);
  tf.dispose([v0, v]);
  m.dispose();
});

test('the CD surrogate loss has the CD update as its gradient, and its tensor count is flat', () => {
  const m = rbmWith(W1, { cdK: 2 });
  const x = tf.tensor2d(binaryMixture(32, D, 3, 0.1, 4), [32, D]);
  const [obj] = m.objectives();
  const ctx = { step: 0, epoch: 0, seed: () => 77, training: true };
  const { grads } = tf.variableGrads(() => obj!.loss({ x }, ctx).loss, obj!.variables());
  // CD-2 by hand with the same seed: dL/dW = -<v h'>_data + <v h'>_model with h = p(h|v), n-averaged
  const vNeg = m.gibbs(x, 2, 77);
  const stat = (v: tf.Tensor2D) => tf.div(tf.matMul(v, m.hiddenProb(v), true, false), v.shape[0]);
  const want = tf.sub(stat(vNeg), stat(x));
  const got = grads[m.W.name]!;
  assert.ok(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]! < 1e-5);
  const wantB = tf.sub(tf.mean(vNeg, 0), tf.mean(x, 0));
  assert.ok(tf.max(tf.abs(tf.sub(grads[m.b.name]!, wantB))).dataSync()[0]! < 1e-5);
  tf.dispose(Object.values(grads));
  // the base-rate sums only see data
  assert.equal(m.dataCount.dataSync()[0], 32);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const r = tf.variableGrads(() => obj!.loss({ x }, ctx).loss, obj!.variables());
    tf.dispose([r.value, ...Object.values(r.grads)]);
  }
  assert.equal(tf.memory().numTensors, before);
  m.dispose();
});

test('CD-1 and PCD-1 through the shared training loop lower the exact NLL of a toy', async () => {
  const train0 = binaryMixture(512, D, 3, 0.05, 1);
  const ds = binaryDataset(train0, binaryMixture(256, D, 3, 0.05, 1).slice(0), D);
  for (const persistent of [false, true]) {
    const m = new RBM({ hidden: H, persistent, chains: 32 }, ds.spec, 2);
    const nll = () => {
      const [est] = m.estimates();
      return -tf.mean(est!.logLik(tf.tensor2d(ds.test.x, [ds.test.n, D]), undefined, 0)).dataSync()[0]!;
    };
    const before = nll();
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gm-rbm-'));
    const cfg = makeTrainConfig({ epochs: 4, batchSize: 32, lr: 0.05, seed: 3, logEvery: 100 });
    const res = await train({
      model: m,
      dataset: ds,
      outDir: out,
      config: cfg,
      progress: 'none',
      log: () => {},
      images: false,
    });
    const after = nll();
    assert.ok(after < before - 0.5, `${persistent ? 'PCD' : 'CD'}: NLL ${before} -> ${after}`);
    // the loop's evaluation used the same exact estimate
    assert.equal(res.lastEval!.metrics[0]!.name, 'nll');
    assert.ok(Math.abs(res.lastEval!.metrics[0]!.nats - after) < 1e-3);
    if (persistent) assert.ok(m.variables().has('rbm.pcd_chains') && !m.pcd!.trainable);
    m.dispose();
  }
});

test('bad input: binary RBM on continuous data, bad options: one-line UserErrors', () => {
  const real = { kind: 'vector' as const, shape: [3], domain: 'real' as const };
  const isOneLine = (re: RegExp) => (e: Error) =>
    e instanceof UserError && re.test(e.message) && !e.message.includes('\n');
  assert.throws(() => new RBM({ hidden: 2 }, real, 1), isOneLine(/binary data.*gaussian/));
  assert.doesNotThrow(() => new RBM({ hidden: 2, visible: 'gaussian' }, real, 1).dispose());
  assert.throws(() => new RBM({ hidden: 0 }, { ...real, domain: 'binary' }, 1), isOneLine(/hidden/));
  assert.throws(() => new RBM({ visible: 'poisson' }, real, 1), isOneLine(/visible/));
});
