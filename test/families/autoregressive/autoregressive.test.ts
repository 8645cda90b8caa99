// Autoregressive family: exact normalization over every 3x3 binary image, exact-zero gradients of each
// conditional with respect to the current and later positions (masks), no blind spot in the gated PixelCNN,
// incremental samplers equal to full passes, and samples that reproduce a trained model's probabilities.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { UserError, modelEntry } from '../../../src/core/model.js';
import type { DataSpec } from '../../../src/data/spec.js';
import type { Autoregressive } from '../../../src/families/autoregressive/index.js';
import { MADE } from '../../../src/families/autoregressive/index.js';
import { allImages, build, setup, totalMass, TINY, trainAdam } from './helpers.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { loadCheckpoint, saveCheckpoint } from '../../../src/train/checkpoint.js';

const bin33: DataSpec = { kind: 'image', shape: [3, 3, 1], domain: 'binary', numClasses: 3 };
const bin44: DataSpec = { kind: 'image', shape: [4, 4, 1], domain: 'binary' };
const NAMES = Object.keys(TINY);

before(setup);

test('registry: every kind and its conditional variant, taxonomy, config rebuild, bad input', () => {
  for (const kind of ['nade', 'made', 'pixelcnn', 'gated-pixelcnn', 'transformer']) {
    for (const k of [kind, `conditional-${kind}`]) {
      const e = modelEntry(k);
      assert.equal(e.family, 'autoregressive');
      const m = e.create({ ...TINY[kind] }, bin33, 0) as Autoregressive;
      assert.deepEqual(m.taxonomy, {
        family: 'autoregressive',
        density: 'exact',
        sampling: 'iterative',
        latent: false,
        conditional: k.startsWith('conditional-'),
      });
      const again = e.create(m.config, bin33, 0);
      assert.deepEqual([...again.variables().keys()], [...m.variables().keys()]);
      m.dispose();
      again.dispose();
    }
    const real: DataSpec = { kind: 'image', shape: [3, 3, 1], domain: 'real' };
    assert.notEqual(modelEntry(kind).accepts(real), null);
    assert.throws(
      () => modelEntry(kind).create({ output: 'bernoulli' }, { ...bin33, domain: 'unit', levels: 256 }, 0),
      UserError,
    );
  }
  assert.notEqual(modelEntry('pixelcnn').accepts({ kind: 'vector', shape: [9], domain: 'binary' }), null);
  assert.equal(modelEntry('made').accepts({ kind: 'vector', shape: [9], domain: 'binary' }), null);
  assert.throws(() => modelEntry('made').create({ hidden: [0] }, bin33, 0), UserError);
  assert.throws(
    () => modelEntry('conditional-made').create({}, { ...bin33, numClasses: undefined }, 0),
    UserError,
  );
});

test('probabilities of all 512 binary 3x3 images sum to 1 (random init), for every architecture', () => {
  const x = allImages([3, 3, 1], 2);
  for (const name of NAMES) {
    const m = build(name, bin33, 3);
    const mass = totalMass(m.logProb(x));
    assert.ok(Math.abs(mass - 1) < 1e-4, `${name}: total mass ${mass}`);
    m.dispose();
  }
  x.dispose();
});

test('conditional models: sum to 1 for every label; 4-level categorical and logistic-mixture heads sum to 1', () => {
  const x = allImages([3, 3, 1], 2);
  for (const name of NAMES) {
    const m = build(name, bin33, 4, { conditional: true });
    for (let label = 0; label < 3; label++) {
      const y = tf.fill([512], label, 'int32') as tf.Tensor1D;
      const mass = totalMass(m.logProb(x, y));
      assert.ok(Math.abs(mass - 1) < 1e-4, `${name} label ${label}: total mass ${mass}`);
      y.dispose();
    }
    m.dispose();
  }
  x.dispose();
  // 4 levels on a 2x2 image: 256 images
  const spec4: DataSpec = { kind: 'image', shape: [2, 2, 1], domain: 'unit', levels: 4 };
  const x4 = allImages([2, 2, 1], 4);
  for (const output of ['categorical', 'logistic']) {
    for (const name of NAMES) {
      const m = build(name, spec4, 5, { output, mixtures: 2 });
      const mass = totalMass(m.logProb(x4));
      assert.ok(Math.abs(mass - 1) < 1e-4, `${name} ${output}: total mass ${mass}`);
      m.dispose();
    }
  }
  x4.dispose();
});

/** |d sum(w * params_i) / d x_j| for every output position i and input position j: [T][T] */
function jacobianPattern(m: Autoregressive, x: tf.Tensor): number[][] {
  const { T } = m;
  const rows: number[][] = [];
  for (let i = 0; i < T; i++) {
    const g = tf.tidy(() => {
      const w = tf.randomNormal([1, 1, m.C, m.head.P], 0, 1, 'float32', 100 + i);
      const f = (z: tf.Tensor) =>
        tf.sum(tf.mul(tf.slice(m.params(z, null), [0, i, 0, 0], [1, 1, -1, -1]), w));
      const dx = tf.grad(f)(x);
      return tf.sum(tf.abs(tf.reshape(dx, [T, -1])), 1).arraySync() as number[];
    });
    rows.push(g);
  }
  return rows;
}

test('masks: d params_i / d x_j is exactly 0 for every j at or after i (in each model order)', () => {
  for (const name of NAMES) {
    for (const spec of [bin33, bin44]) {
      const m = build(name, spec, 7);
      const x = tf.randomUniform([1, ...spec.shape], 0, 1, 'float32', 9);
      const J = jacobianPattern(m, x);
      const orders = m instanceof MADE ? m.orders() : [m.order()];
      // for a multi-mask MADE, params() is mask 0's network
      const rank = new Array<number>(m.T);
      orders[0]!.forEach((t, s) => (rank[t] = s));
      for (let i = 0; i < m.T; i++)
        for (let j = 0; j < m.T; j++)
          if (rank[j]! >= rank[i]!)
            assert.equal(J[i]![j], 0, `${name} ${spec.shape}: d out${i} / d x${j} = ${J[i]![j]}`);
      // NADE (sigmoid units), the gated PixelCNN and the Transformer see the whole past; PixelCNN has a blind
      // spot (below), MADE's paths through few ReLU units of one degree can be dead at a random init
      if (['nade', 'gated-pixelcnn', 'transformer'].includes(name))
        for (let i = 0; i < m.T; i++)
          for (let j = 0; j < m.T; j++)
            if (rank[j]! < rank[i]!)
              assert.ok(J[i]![j]! > 0, `${name} ${spec.shape}: out${i} does not see x${j}`);
      x.dispose();
      m.dispose();
    }
  }
});

test('gated PixelCNN has no blind spot where a PixelCNN with 3x3 masks has one', () => {
  const x = tf.randomUniform([1, 4, 4, 1], 0, 1, 'float32', 3);
  const pc = build('pixelcnn', bin44, 2);
  const J = jacobianPattern(pc, x);
  // pixel (1,0) = 4 cannot see (0,2) = 2 or (0,3) = 3: the masked 3x3 stack never reaches up-right beyond c+1
  assert.equal(J[4]![2], 0);
  assert.equal(J[4]![3], 0);
  assert.ok(J[4]![1]! > 0 && J[4]![0]! > 0);
  const gated = build('gated-pixelcnn', bin44, 2);
  const G = jacobianPattern(gated, x);
  assert.ok(G[4]![2]! > 0 && G[4]![3]! > 0, `gated: ${G[4]}`);
  tf.dispose(x);
  pc.dispose();
  gated.dispose();
});

test('incremental samplers (running sums, row cropping, key/value cache) equal full passes', () => {
  // 4x4, and 12x2 where the convolutional samplers crop a window of rows (receptive field < image height)
  const tall: DataSpec = { kind: 'image', shape: [12, 2, 1], domain: 'binary', numClasses: 3 };
  const cases = [
    ...NAMES.map((name) => ({ name, spec: { ...bin44, numClasses: 3 } as DataSpec })),
    { name: 'pixelcnn', spec: tall },
    { name: 'gated-pixelcnn', spec: tall },
  ];
  for (const { name, spec } of cases) {
    const m = build(name, spec, 11, { conditional: true });
    if (spec === tall) {
      const R = (m as unknown as { receptiveRows(): number }).receptiveRows();
      assert.ok(R < 11, `${name}: receptive field ${R} rows covers the image; the window is not exercised`);
    }
    const x = tf.tidy(() =>
      tf.cast(tf.greater(tf.randomUniform([3, ...spec.shape], 0, 1, 'float32', 4), 0.5), 'float32'),
    );
    const yOh = tf.oneHot(tf.tensor1d([0, 2, 1], 'int32'), 3) as tf.Tensor2D;
    const full = m.params(x, yOh);
    const session = m.beginSampling(3, yOh);
    for (const t of m.order()) {
      const diff = tf.tidy(() => {
        const step = session.next(x, t);
        const ref = tf.squeeze(tf.slice(full, [0, t, 0, 0], [-1, 1, -1, -1]), [1]);
        return tf.max(tf.abs(tf.sub(step, ref))).dataSync()[0]!;
      });
      assert.ok(diff < 1e-4, `${name} position ${t}: ${diff}`);
    }
    session.dispose();
    tf.dispose([x, yOh, full]);
    m.dispose();
  }
});

test('a model trained on 3 patterns (0.5/0.3/0.2) samples them at the frequencies logProb gives', () => {
  const patterns = [
    [1, 0, 1, 0, 1, 0, 1, 0, 1],
    [0, 1, 0, 1, 1, 1, 0, 1, 0],
    [1, 1, 1, 0, 0, 0, 1, 1, 1],
  ];
  const rows = [...Array(5).fill(patterns[0]), ...Array(3).fill(patterns[1]), ...Array(2).fill(patterns[2])];
  const data = tf.tensor(rows.flat(), [10, 3, 3, 1]);
  const pats = tf.tensor(patterns.flat(), [3, 3, 3, 1]);
  const N = 2000;
  for (const name of NAMES) {
    const m = build(name, bin33, 13);
    const before = tf.tidy(() => tf.neg(tf.mean(m.logProb(data))).dataSync()[0]!);
    const loss = trainAdam(m, data, name === 'nade' ? 400 : 250, 0.02);
    assert.ok(loss < before, `${name}: training did not reduce the loss (${before} -> ${loss})`);
    const p = Array.from(m.logProb(pats).dataSync(), Math.exp);
    // the model learned the frequencies (roughly) ...
    [0.5, 0.3, 0.2].forEach((f, k) => assert.ok(Math.abs(p[k]! - f) < 0.08, `${name}: p = ${p}`));
    // ... and its samples follow its own probabilities (binomial tolerance, 4.5 sigma)
    const s = m.sample(N, { seed: 21 });
    const v = s.dataSync();
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < N; i++) {
      const img = Array.from(v.subarray(i * 9, i * 9 + 9));
      const k = patterns.findIndex((q) => q.every((b, j) => b === img[j]));
      counts[k < 0 ? 3 : k]!++;
    }
    const probs = [...p, 1 - p[0]! - p[1]! - p[2]!];
    probs.forEach((q, k) => {
      const tol = 4.5 * Math.sqrt(Math.max(q * (1 - q), 1e-4) / N) + 1e-3;
      assert.ok(
        Math.abs(counts[k]! / N - q) < tol,
        `${name}: pattern ${k} sampled ${counts[k]! / N}, p ${q}`,
      );
    });
    s.dispose();
    m.dispose();
  }
  tf.dispose([data, pats]);
});

test('conditional sampling draws the requested class: label -> its own pattern', () => {
  const patterns = [
    [1, 0, 1, 0, 1, 0, 1, 0, 1],
    [0, 1, 0, 1, 1, 1, 0, 1, 0],
    [1, 1, 1, 0, 0, 0, 1, 1, 1],
  ];
  const data = tf.tensor(patterns.flat(), [3, 3, 3, 1]);
  const y = tf.tensor1d([0, 1, 2], 'int32');
  for (const name of ['made', 'pixelcnn', 'gated-pixelcnn', 'transformer']) {
    const m = build(name, bin33, 17, { conditional: true });
    trainAdam(m, data, 250, 0.02, y);
    const s = m.sample(30, { label: 2, seed: 3 }).dataSync();
    let hits = 0;
    for (let i = 0; i < 30; i++) if (patterns[2]!.every((b, j) => b === s[i * 9 + j])) hits++;
    assert.ok(hits >= 27, `${name}: ${hits}/30 samples of label 2 are its pattern`);
    assert.throws(() => m.sample(2, { label: 3 }), UserError);
    m.dispose();
  }
  tf.dispose([data, y]);
});

test('training step and sampling leave no tensors behind', () => {
  for (const name of NAMES) {
    const m = build(name, bin33, 19);
    const x = tf.tidy(() =>
      tf.cast(tf.greater(tf.randomUniform([4, 3, 3, 1], 0, 1, 'float32', 1), 0.5), 'float32'),
    );
    trainAdam(m, x, 1, 0.01);
    const before = tf.memory().numTensors;
    trainAdam(m, x, 3, 0.01);
    tf.dispose(m.sample(2, { seed: 1 }));
    tf.dispose(m.logProb(x));
    assert.equal(tf.memory().numTensors, before, `${name} leaks tensors`);
    x.dispose();
    m.dispose();
  }
});

test('a conditional checkpoint saved before the class map existed loads as it was trained (classMap 0)', () => {
  for (const name of ['pixelcnn', 'gated-pixelcnn']) {
    const m = build(`conditional-${name}`, bin33, 5, { ...TINY[name], classMap: 0 });
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gm-ar-ckpt-')), 'checkpoint');
    const state = { epoch: 1, step: 1, stepInEpoch: 0, rng: new Rng(5).state(), optim: {} };
    saveCheckpoint(dir, { model: m, data: null, train: { seed: 5 }, state, backend: tf.getBackend() });
    // the config as an older version wrote it: no classMap key
    const cfgFile = path.join(dir, 'config.json');
    const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
    delete cfg.model.config.classMap;
    fs.writeFileSync(cfgFile, JSON.stringify(cfg));
    const loaded = loadCheckpoint(dir).model as Autoregressive;
    assert.equal(loaded.config.classMap, 0, name);
    const x = allImages([3, 3, 1], 2);
    const y = tf.oneHot(tf.fill([x.shape[0]], 2, 'int32'), 3) as tf.Tensor2D;
    const [a, b] = [m, loaded].map((mm) => mm.logProbTerms(x, y));
    assert.ok(tf.max(tf.abs(tf.sub(a!, b!))).dataSync()[0]! < 1e-6, name);
    tf.dispose([x, y, a!, b!]);
    m.dispose();
    loaded.dispose();
  }
});
