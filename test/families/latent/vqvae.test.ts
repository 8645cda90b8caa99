// VQ-VAE: the quantizer against brute force and closed forms (nearest code, straight-through gradient, EMA
// update, dead-code restart), the prior's distribution over a tiny code grid sums to one, the bound's terms,
// the two training stages through the one loop, and the checkpoint round trip.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../../src/core/rng.js';
import type { DataSpec } from '../../../src/data/spec.js';
import { loadDataset } from '../../../src/data/index.js';
import '../../../src/families/index.js';
import { VectorQuantizer } from '../../../src/families/latent/quantize.js';
import { VQVAE } from '../../../src/families/latent/vqvae.js';
import { evaluate } from '../../../src/eval/evaluate.js';
import { loadCheckpoint } from '../../../src/train/checkpoint.js';
import { makeTrainConfig, train } from '../../../src/train/loop.js';
import { useCpu } from './helpers.js';

before(useCpu);

const quiet = { progress: 'none' as const, log: () => {} };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gm-vqvae-'));
const SPEC8: DataSpec = { kind: 'image', shape: [8, 8, 1], domain: 'binary', numClasses: 3 };
const TINY = {
  codes: 3,
  codeDim: 2,
  channels: [4, 4],
  priorOptions: { channels: 4, blocks: 1, headChannels: 4 },
};

function randn(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

test('quantize: the nearest code of every row, as brute force finds it', () => {
  const vq = new VectorQuantizer(
    7,
    3,
    { codebook: 'loss', decay: 0.99, epsilon: 1e-5, restartAfter: 0 },
    new Rng(1),
    'vq',
  );
  const z = randn([50, 3], 2) as tf.Tensor2D;
  const idx = vq.nearest(z).dataSync();
  const e = vq.codebook.arraySync() as number[][];
  const rows = z.arraySync();
  rows.forEach((r, i) => {
    const d = e.map((c) => c.reduce((s, v, j) => s + (v - r[j]!) ** 2, 0));
    const best = d.indexOf(Math.min(...d));
    assert.equal(idx[i], best, `row ${i}`);
  });
  // z_q is the chosen code itself; the straight-through value equals it too
  const q = vq.quantize(z);
  const zq = q.zq.arraySync();
  const zst = q.zst.arraySync();
  rows.forEach((_, i) =>
    zq[i]!.forEach((v, j) => {
      assert.ok(Math.abs(v - e[idx[i]!]![j]!) < 1e-6);
      assert.ok(Math.abs(zst[i]![j]! - v) < 1e-5);
    }),
  );
  tf.dispose([z, q.idx, q.zq, q.zst, q.codebookLoss, q.commitLoss]);
  for (const v of vq.variables.values()) v.dispose();
});

test('straight-through: dL/dz_e equals the upstream gradient dL/dz_q (sec. 3.2), and reaches the encoder', () => {
  const vq = new VectorQuantizer(
    5,
    4,
    { codebook: 'loss', decay: 0.99, epsilon: 1e-5, restartAfter: 0 },
    new Rng(3),
    'vq',
  );
  const z = randn([6, 4], 4) as tf.Tensor2D;
  const w = randn([6, 4], 5);
  // a nonlinear downstream loss L(v) = sum w * v^3
  const L = (v: tf.Tensor) => tf.sum(tf.mul(w, tf.pow(v, 3)));
  const gST = tf.grad((zz: tf.Tensor) => L(vq.quantize(zz as tf.Tensor2D).zst))(z);
  const q = vq.quantize(z);
  const gUp = tf.grad((v: tf.Tensor) => L(v))(q.zq);
  const a = gST.dataSync();
  const b = gUp.dataSync();
  assert.ok(b.some((v) => Math.abs(v) > 1e-3));
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i]! - b[i]!) < 1e-4 * (1 + Math.abs(b[i]!)), `${i}`);
  // the commitment term's gradient is 2 (z_e - z_q); the codebook term's gradient goes to the codebook only
  const gC = tf
    .grad((zz: tf.Tensor) => tf.sum(vq.quantize(zz as tf.Tensor2D).commitLoss))(z)
    .dataSync();
  const want = tf.mul(2, tf.sub(z, q.zq)).dataSync();
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(gC[i]! - want[i]!) < 1e-4);
  const gB = tf
    .grad((zz: tf.Tensor) => tf.sum(vq.quantize(zz as tf.Tensor2D).codebookLoss))(z)
    .dataSync();
  assert.ok(gB.every((v) => v === 0));
  // in the model: with beta = 0 and the EMA codebook, only the straight-through path reaches the encoder
  const m = new VQVAE('vqvae', { ...TINY, beta: 0 }, SPEC8, 1);
  const x = tf.cast(tf.greater(tf.randomUniform([4, 8, 8, 1], 0, 1, 'float32', 6), 0.5), 'float32');
  const ae = m.objectives()[0]!;
  const encVars = [...m.variables()].filter(([k]) => k.startsWith('enc.')).map(([, v]) => v);
  const { grads } = tf.variableGrads(
    () => ae.loss({ x }, { step: 0, epoch: 0, seed: () => 1, training: false }).loss,
    encVars,
  );
  const norm = Object.values(grads).reduce((s, g) => s + tf.sum(tf.square(g)).dataSync()[0]!, 0);
  assert.ok(norm > 0 && Number.isFinite(norm), `encoder gradient norm ${norm}`);
  m.dispose();
});

test('EMA codebook: one update equals the closed form (appendix A.1) with Laplace smoothing', () => {
  const g = 0.9;
  const eps = 0.01;
  const vq = new VectorQuantizer(
    3,
    2,
    { codebook: 'ema', decay: g, epsilon: eps, restartAfter: 0 },
    new Rng(1),
    'vq',
  );
  const N0 = [2, 0.5, 0];
  const m0 = [
    [1, 2],
    [-1, 0.5],
    [3, 3],
  ];
  vq.emaCount!.assign(tf.tensor1d(N0));
  vq.emaSum!.assign(tf.tensor2d(m0));
  const z = [
    [1, 1],
    [2, 0],
    [0, -1],
    [4, 4],
  ];
  const idx = [0, 0, 1, 0]; // code 2 unused
  vq.update(tf.tensor2d(z), tf.tensor1d(idx, 'int32'), 0).dispose();
  const n = [3, 1, 0];
  const s = [
    [7, 5],
    [0, -1],
    [0, 0],
  ];
  const N = N0.map((v, i) => g * v + (1 - g) * n[i]!);
  const m = m0.map((r, i) => r.map((v, j) => g * v + (1 - g) * s[i]![j]!));
  const tot = N.reduce((a, b) => a + b, 0);
  const Ns = N.map((v) => ((v + eps) / (tot + 3 * eps)) * tot);
  const e = m.map((r, i) => r.map((v) => v / Ns[i]!));
  const close = (a: number[], b: number[]) =>
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-5 * (1 + Math.abs(b[i]!)), `${v} vs ${b[i]}`));
  close(Array.from(vq.emaCount!.dataSync()), N);
  close(Array.from(vq.emaSum!.dataSync()), m.flat());
  close(Array.from(vq.codebook.dataSync()), e.flat());
  close(Array.from(vq.idle.dataSync()), [0, 0, 1]);
  for (const v of vq.variables.values()) v.dispose();
});

test('dead codes: a code unused for restartAfter steps is re-initialised from an encoder output', () => {
  for (const codebook of ['ema', 'loss'] as const) {
    const vq = new VectorQuantizer(
      3,
      2,
      { codebook, decay: 0.99, epsilon: 1e-5, restartAfter: 2 },
      new Rng(1),
      'vq',
    );
    vq.codebook.assign(
      tf.tensor2d([
        [0, 0],
        [1, 1],
        [100, 100],
      ]),
    );
    if (vq.emaSum)
      vq.emaSum.assign(
        tf.tensor2d([
          [0, 0],
          [1, 1],
          [100, 100],
        ]),
      );
    const z = tf.tensor2d([
      [0.1, 0],
      [0.9, 1.1],
      [0, 0.2],
      [1, 0.8],
    ]);
    const idx = vq.nearest(z);
    assert.deepEqual(Array.from(idx.dataSync()), [0, 1, 0, 1]);
    const r1 = vq.update(z, idx, 5);
    assert.equal(r1.dataSync()[0], 0);
    assert.deepEqual(Array.from(vq.idle.dataSync()).slice(2), [1]);
    const before = Array.from(vq.codebook.dataSync()).slice(4);
    const r2 = vq.update(z, idx, 6);
    assert.equal(r2.dataSync()[0], 1, codebook);
    const after = Array.from(vq.codebook.dataSync()).slice(4);
    assert.notDeepEqual(after, before);
    const rows = z.arraySync();
    assert.ok(
      rows.some((r) => Math.abs(r[0]! - after[0]!) < 1e-6 && Math.abs(r[1]! - after[1]!) < 1e-6),
      `${after}`,
    );
    assert.equal(vq.idle.dataSync()[2], 0);
    if (vq.emaCount) assert.equal(vq.emaCount.dataSync()[2], 1);
    tf.dispose([z, idx, r1, r2]);
    for (const v of vq.variables.values()) v.dispose();
  }
});

test('the prior over a 2x2 grid of K = 3 codes: its 81 probabilities sum to one (every prior, conditional too)', () => {
  const all: number[] = [];
  for (let c = 0; c < 81; c++) for (let t = 0, v = c; t < 4; t++, v = Math.floor(v / 3)) all.push(v % 3);
  const idx = tf.tensor3d(all, [81, 2, 2], 'int32');
  const priors: [string, Record<string, unknown>][] = [
    ['pixelcnn', { channels: 4, blocks: 1, headChannels: 4, firstKernel: 3 }],
    ['gated-pixelcnn', { channels: 4, layers: 2, headChannels: 4, kernel: 3 }],
    ['transformer', { dModel: 8, heads: 2, layers: 1 }],
  ];
  for (const [prior, priorOptions] of priors) {
    for (const conditional of [false, true]) {
      const m = new VQVAE('vqvae', { ...TINY, prior, priorOptions, conditional }, SPEC8, 2);
      // train-free weights still give a proper distribution; perturb them so that it is far from uniform
      for (const v of m.prior.variables().values()) v.assign(tf.mul(v, 3));
      const y = conditional ? (tf.fill([81], 1, 'int32') as tf.Tensor1D) : undefined;
      const lp = m.prior.logProb(m.tokenImage(idx), y);
      const total = tf.exp(tf.logSumExp(lp)).dataSync()[0]!;
      assert.ok(Math.abs(total - 1) < 1e-4, `${prior} conditional=${conditional}: sum ${total}`);
      const spread = tf.sub(tf.max(lp), tf.min(lp)).dataSync()[0]!;
      assert.ok(spread > 0.1, `${prior}: far from uniform (${spread})`);
      tf.dispose([lp, y]);
      m.dispose();
    }
  }
  idx.dispose();
});

test('the bound: log p(x|z_q) + log p(z_q); the uniform prior subtracts h w log K; samples decode prior codes', () => {
  const m = new VQVAE('vqvae', TINY, SPEC8, 3);
  const x = tf.cast(tf.greater(tf.randomUniform([5, 8, 8, 1], 0, 1, 'float32', 7), 0.5), 'float32');
  const { logPxz, idx } = m.reconTerms(x);
  const lpz = m.prior.logProb(m.tokenImage(idx));
  const learned = m.logProbBound(x, { k: 1, seed: 0 }).dataSync();
  const uniform = m.estimates()[1]!.logLik(x, undefined, 0).dataSync();
  const a = logPxz.dataSync();
  const b = lpz.dataSync();
  for (let i = 0; i < 5; i++) {
    assert.ok(Math.abs(learned[i]! - (a[i]! + b[i]!)) < 1e-3);
    assert.ok(Math.abs(uniform[i]! - (a[i]! - 4 * Math.log(3))) < 1e-3);
    assert.ok(b[i]! < 0);
  }
  // decodeTokens(encodeTokens(x)) is the reconstruction the bound scores
  const rec = m.decodeTokens(m.encodeTokens(x));
  const viaZ = m.decode(m.encode(x));
  assert.ok(tf.max(tf.abs(tf.sub(rec, viaZ))).dataSync()[0]! < 1e-6);
  const s = m.sample(3, { seed: 1 });
  assert.deepEqual(s.shape, [3, 8, 8, 1]);
  assert.ok(tf.min(s).dataSync()[0]! >= 0 && tf.max(s).dataSync()[0]! <= 1);
  tf.dispose([x, logPxz, idx, lpz, rec, viaZ, s]);
  m.dispose();
});

test('two stages through the one loop, eval reports the bound, the checkpoint round trip is exact', async () => {
  const ds = loadDataset({ name: 'mnist-fixture', options: { binarize: 'dynamic' } });
  const cfg = makeTrainConfig({
    epochs: 2,
    batchSize: 32,
    lr: 0.003,
    seed: 1,
    limit: 64,
    logEvery: 1,
    sampleN: 4,
  });
  const dir = tmp();
  const m = new VQVAE('vqvae', { ...TINY, codes: 8, aeEpochs: 1, restartAfter: 1 }, ds.spec, 1);
  const snap = (pre: string) =>
    [...m.variables()].filter(([k]) => k.startsWith(pre)).map(([, v]) => Array.from(v.dataSync()));
  const prior0 = snap('prior.');
  const before = tf.memory().numTensors;
  await train({ model: m, dataset: ds, outDir: dir, config: { ...cfg, epochs: 1 }, images: false, ...quiet });
  // stage 1 trained the autoencoder only
  assert.deepEqual(snap('prior.'), prior0);
  const ae1 = snap('enc.');
  const ck1 = loadCheckpoint(dir);
  const res = await train({
    model: ck1.model,
    dataset: ds,
    outDir: dir,
    config: cfg,
    resume: ck1,
    images: false,
    ...quiet,
  });
  assert.equal(res.epoch, 2);
  const m2 = ck1.model as VQVAE;
  const snap2 = (pre: string) =>
    [...m2.variables()].filter(([k]) => k.startsWith(pre)).map(([, v]) => Array.from(v.dataSync()));
  // stage 2 trained the prior only, on the frozen codes
  assert.deepEqual(snap2('enc.'), ae1);
  assert.notDeepEqual(snap2('prior.'), prior0);
  const lines = fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const steps = lines.filter((l) => l.type === 'train');
  assert.ok(steps[0].metrics['autoencoder.perplexity'] >= 1);
  assert.ok(steps[0].metrics['autoencoder.used'] > 0);
  assert.ok('prior.natsPerCode' in steps[steps.length - 1].metrics);
  // the checkpoint restores every variable (EMA state and idle counters included) and the same bound
  const ck2 = loadCheckpoint(dir);
  for (const [k, v] of m2.variables())
    assert.deepEqual(Array.from(ck2.model.variables().get(k)!.dataSync()), Array.from(v.dataSync()), k);
  const r1 = await evaluate(m2, ds, { maxN: 16, batchSize: 16 });
  const r2 = await evaluate(ck2.model, ds, { maxN: 16, batchSize: 16 });
  assert.deepEqual(
    r1.metrics.map((x) => x.name),
    ['elbo', 'elbo-uniform'],
  );
  assert.equal(r1.metrics[0]!.kind, 'bound');
  assert.equal(r1.metrics[0]!.nats, r2.metrics[0]!.nats);
  assert.ok(r1.metrics[0]!.nats > 0);
  m.dispose();
  m2.dispose();
  ck2.model.dispose();
  assert.ok(tf.memory().numTensors <= before + 2, `tensors ${before} -> ${tf.memory().numTensors}`);
});
