// The shipped feature classifiers (assets/classifiers/) and the sample metrics built on them
// (src/eval/sample-metrics.ts, through the shared evaluate()): accuracy on real images, the missing-weights
// message, and FID / precision / recall / label accuracy of models whose samples are known.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/index.js';
import { UserError, type GenerativeModel, type SampleOptions } from '../../src/core/model.js';
import { loadDataset, parseDataArg } from '../../src/data/index.js';
import type { Dataset } from '../../src/data/types.js';
import { accuracy, loadClassifier } from '../../src/eval/classifier.js';
import { evaluate, formatEval } from '../../src/eval/evaluate.js';

let ds: Dataset;
before(async () => {
  await initBackend(undefined, { quiet: true });
  ds = loadDataset(parseDataArg('mnist-fixture', { binarize: 'none' }));
});

test('the MNIST classifier: accuracy on real test images, feature shape, recorded test accuracy', async () => {
  const clf = await loadClassifier('mnist');
  assert.ok(clf.testAccuracy > 0.98, `recorded test accuracy ${clf.testAccuracy}`);
  const acc = accuracy(clf, ds.test.x, ds.test.y!);
  assert.ok(acc > 0.96, `fixture accuracy ${acc}`);
  const f = clf.features(tf.tensor4d(ds.test.x.subarray(0, 5 * 784), [5, 28, 28, 1]));
  assert.deepEqual(f.shape, [5, 128]);
  const p = clf.predict(tf.zeros([3, 28, 28, 1]));
  assert.equal(p.dtype, 'int32');
  assert.throws(() => clf.features(tf.zeros([2, 28, 28])), UserError);
  tf.dispose([f, p]);
  clf.dispose();
});

test('missing weights: a UserError naming the command that creates them', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'no-clf-'));
  process.env.GENMODELS_CLASSIFIER_DIR = dir;
  try {
    await assert.rejects(loadClassifier('fashion-mnist'), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /genmodels train-classifier --data fashion-mnist/);
      return true;
    });
  } finally {
    delete process.env.GENMODELS_CLASSIFIER_DIR;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** a stand-in model that "samples" given images (cycling), conditional on their labels when asked */
function replay(images: Float32Array, labels: Int32Array, conditional: boolean): GenerativeModel {
  const n = labels.length;
  let next = Math.min(300, n - 1); // not the training images the floor uses (the first 200)
  return {
    kind: 'replay',
    taxonomy: { family: 'adversarial', density: 'none', sampling: 'direct', latent: false, conditional },
    spec: ds.spec,
    config: {},
    variables: () => new Map(),
    objectives: () => [],
    sample(m: number, opts: SampleOptions = {}) {
      const out = new Float32Array(m * 784);
      for (let i = 0; i < m; i++) {
        // conditional: the next image with the asked label
        const want = Array.isArray(opts.label) ? opts.label[i] : opts.label;
        let j = next++ % n;
        if (conditional && want !== undefined) while (labels[j] !== want) j = (j + 1) % n;
        out.set(images.subarray(j * 784, (j + 1) * 784), i * 784);
      }
      return tf.tensor4d(out, [m, 28, 28, 1]);
    },
    dispose: () => {},
  };
}

test('sample metrics: real images score near the floor; one repeated image scores badly', async () => {
  // "samples" = other training images of the fixture: the same distribution as the test images
  const good = await evaluate(replay(ds.train.x, ds.train.y!, false), ds, { seed: 0 });
  const s = good.samples!;
  assert.equal(s.n, 200);
  assert.ok(s.fid! < 3 * s.fidFloor! + 1, `FID ${s.fid} vs floor ${s.fidFloor}`);
  assert.ok(s.precision! > 0.6 && s.recall! > 0.6, `P ${s.precision} R ${s.recall}`);
  assert.match(formatEval(good), /FID [\d.]+ \(floor: real train vs test [\d.]+;/);
  // one image repeated: mode collapse
  const one = ds.train.x.slice(0, 784);
  const bad = (await evaluate(replay(one, Int32Array.from([ds.train.y![0]!]), false), ds, { seed: 0 }))
    .samples!;
  assert.ok(bad.fid! > 10 * s.fid!, `collapsed FID ${bad.fid} vs ${s.fid}`);
  assert.ok(bad.recall! < 0.05, `collapsed recall ${bad.recall}`);
});

test('conditional models: label accuracy of samples drawn for each label', async () => {
  const right = (await evaluate(replay(ds.train.x, ds.train.y!, true), ds, { seed: 0 })).samples!;
  assert.ok(right.labelAccuracy! > 0.95, `label accuracy ${right.labelAccuracy}`);
  // a "conditional" model that ignores the label: about 1 in 10 right
  const m = replay(ds.train.x, ds.train.y!, false);
  Object.defineProperty(m, 'taxonomy', { value: { ...m.taxonomy, conditional: true } });
  const wrong = (await evaluate(m, ds, { seed: 0 })).samples!;
  assert.ok(wrong.labelAccuracy! < 0.3, `label accuracy ${wrong.labelAccuracy}`);
});
