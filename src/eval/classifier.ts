// The project's own MNIST / Fashion-MNIST classifier: its penultimate layer is the feature space of the
// sample metrics (FID, precision/recall; src/eval/fid.ts, precision-recall.ts) and its labels check what a
// conditional model was asked for. Following the FID recipe of Heusel et al. (2017) with a small
// task-specific network instead of Inception (as is usual for MNIST-like data).
//   x [n,28,28,1] -conv3x3(16) relu maxpool2-> [14,14,16] -conv3x3(32) relu maxpool2-> [7,7,32]
//     -> flatten 1568 -> dense 128 relu (= features) -> dense 10 (logits)
// Trained by `genmodels train-classifier --data mnist|fashion-mnist` (trainClassifier below) on the real
// training split with Adam, half of the images of each batch binarized at random (so that binary samples of
// models trained on binarized data are in-distribution). Weights ship in assets/classifiers/<dataset>/.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/model.js';
import { Rng } from '../core/rng.js';
import { loadDataset, normalizeOptions } from '../data/index.js';
import type { Dataset } from '../data/types.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../io/safetensors.js';
import { Adam, ADAM_DEFAULTS, learningRate } from '../train/optim.js';

export type ClassifierDataset = 'mnist' | 'fashion-mnist';
export const CLASSIFIER_DATASETS: readonly ClassifierDataset[] = ['mnist', 'fashion-mnist'];

export interface Classifier {
  /** argmax labels, int32 [n]; x [n,28,28,1] in [0,1] */
  predict(x: tf.Tensor): tf.Tensor1D;
  /** penultimate-layer features [n, 128] */
  features(x: tf.Tensor): tf.Tensor2D;
  /** accuracy on the real (grayscale) test split, measured when the weights were trained */
  testAccuracy: number;
  dispose(): void;
}

/** What classifier.json records next to the weights. */
export interface ClassifierInfo {
  dataset: ClassifierDataset;
  arch: string;
  featureDim: number;
  testAccuracy: number;
  /** accuracy on the dynamically binarized test split (one fixed binarization) */
  testAccuracyBinarized: number;
  trained: Record<string, unknown>;
  command: string;
}

const CH = [16, 32] as const;
const FEATURES = 128;
const CLASSES = 10;
const ARCH =
  'conv3x3(16)-relu-maxpool2, conv3x3(32)-relu-maxpool2, dense(1568->128)-relu [features], dense(128->10)';

/** Repository root (this file is <root>/{dist,.build-*}/src/eval/classifier.js or <root>/src/eval/...). */
function assetsRoot(): string {
  if (process.env.GENMODELS_CLASSIFIER_DIR) return process.env.GENMODELS_CLASSIFIER_DIR;
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    const dir = path.resolve(here, up, 'assets/classifiers');
    if (fs.existsSync(dir)) return dir;
  }
  return path.resolve(here, '../../..', 'assets/classifiers');
}

export function classifierDir(dataset: ClassifierDataset): string {
  return path.join(assetsRoot(), dataset);
}

/** Which classifier applies to a dataset name (mnist-fixture is MNIST), or null. */
export function classifierFor(datasetName: string): ClassifierDataset | null {
  if (datasetName === 'mnist' || datasetName === 'mnist-fixture') return 'mnist';
  if (datasetName === 'fashion-mnist') return 'fashion-mnist';
  return null;
}

/** The network: named variables, logits and features. */
export class ClassifierNet {
  readonly variables = new Map<string, tf.Variable>();

  constructor(seed: number) {
    const rng = new Rng(seed);
    // He et al. (2015) init for the ReLU layers, Glorot for the logits
    const he = (shape: number[], fanIn: number) =>
      tf.variable(tf.tidy(() => tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', rng.nextSeed())));
    const z = (n: number) => tf.variable(tf.zeros([n]));
    this.variables.set('conv1.w', he([3, 3, 1, CH[0]], 9));
    this.variables.set('conv1.b', z(CH[0]));
    this.variables.set('conv2.w', he([3, 3, CH[0], CH[1]], 9 * CH[0]));
    this.variables.set('conv2.b', z(CH[1]));
    this.variables.set('fc1.w', he([7 * 7 * CH[1], FEATURES], 7 * 7 * CH[1]));
    this.variables.set('fc1.b', z(FEATURES));
    this.variables.set(
      'fc2.w',
      tf.variable(
        tf.tidy(() =>
          tf.randomNormal(
            [FEATURES, CLASSES],
            0,
            Math.sqrt(2 / (FEATURES + CLASSES)),
            'float32',
            rng.nextSeed(),
          ),
        ),
      ),
    );
    this.variables.set('fc2.b', z(CLASSES));
  }

  private v(name: string): tf.Variable {
    return this.variables.get(name)!;
  }

  features(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      if (x.rank !== 4 || x.shape[1] !== 28 || x.shape[2] !== 28 || x.shape[3] !== 1)
        throw new UserError(`the classifier takes images [n, 28, 28, 1] (got [${x.shape.join(', ')}])`);
      let h = x as tf.Tensor4D;
      for (const l of [1, 2]) {
        const pre = tf.add(
          tf.conv2d(h, this.v(`conv${l}.w`) as tf.Tensor4D, 1, 'same'),
          this.v(`conv${l}.b`),
        );
        h = tf.relu(pre) as tf.Tensor4D;
        h = tf.maxPool(h, 2, 2, 'valid');
      }
      const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
      return tf.relu(tf.add(tf.matMul(flat, this.v('fc1.w') as tf.Tensor2D), this.v('fc1.b'))) as tf.Tensor2D;
    });
  }

  logits(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(
      () =>
        tf.add(tf.matMul(this.features(x), this.v('fc2.w') as tf.Tensor2D), this.v('fc2.b')) as tf.Tensor2D,
    );
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
  }
}

/** Apply fn to x in chunks of `chunk` rows and concatenate (bounds memory for 10k-image sets). */
function chunked<T extends tf.Tensor>(x: tf.Tensor, chunk: number, fn: (xb: tf.Tensor) => T): T {
  const n = x.shape[0]!;
  if (n <= chunk) return fn(x);
  const parts: T[] = [];
  for (let i = 0; i < n; i += chunk) {
    const m = Math.min(chunk, n - i);
    parts.push(tf.tidy(() => fn(tf.slice(x, [i], [m]))));
  }
  const out = tf.concat(parts, 0) as T;
  tf.dispose(parts);
  return out;
}

function wrap(net: ClassifierNet, testAccuracy: number): Classifier {
  return {
    predict: (x) =>
      chunked(x, 1000, (xb) => tf.tidy(() => tf.cast(tf.argMax(net.logits(xb), 1), 'int32') as tf.Tensor1D)),
    features: (x) => chunked(x, 1000, (xb) => net.features(xb)),
    testAccuracy,
    dispose: () => net.dispose(),
  };
}

/** Load the shipped classifier of a dataset; UserError naming the command that creates it when missing. */
export async function loadClassifier(dataset: ClassifierDataset): Promise<Classifier> {
  if (!CLASSIFIER_DATASETS.includes(dataset))
    throw new UserError(`no classifier for '${dataset}' (known: ${CLASSIFIER_DATASETS.join(', ')})`);
  const dir = classifierDir(dataset);
  const wFile = path.join(dir, 'classifier.safetensors');
  const jFile = path.join(dir, 'classifier.json');
  if (!fs.existsSync(wFile) || !fs.existsSync(jFile))
    throw new UserError(
      `the ${dataset} feature classifier is missing (${wFile}); create it with \`genmodels train-classifier --data ${dataset}\``,
    );
  const info = JSON.parse(fs.readFileSync(jFile, 'utf8')) as ClassifierInfo;
  const { tensors } = readSafetensors(wFile);
  const net = new ClassifierNet(0);
  for (const [name, v] of net.variables) {
    const t = tensors.get(name);
    if (!t || t.dtype !== 'F32' || t.shape.join() !== v.shape.join())
      throw new UserError(
        `${wFile}: tensor '${name}' is missing or has the wrong shape; retrain with \`genmodels train-classifier --data ${dataset}\``,
      );
    tf.tidy(() => v.assign(tf.tensor(t.data as Float32Array, v.shape, 'float32')));
  }
  return wrap(net, info.testAccuracy);
}

// ------------------------------------------------------------------ training

export interface ClassifierTrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** train on the first `limit` training images (0 = all) */
  limit: number;
  log: (line: string) => void;
}

export const CLASSIFIER_TRAIN_DEFAULTS: Omit<ClassifierTrainOptions, 'log'> = {
  epochs: 6,
  batchSize: 128,
  lr: 1e-3,
  seed: 0,
  limit: 0,
};

/** The grayscale images of a dataset (no binarization / dequantization): what the classifier is trained on. */
export function rawImages(name: string, extra: Record<string, unknown> = {}): Dataset {
  return loadDataset({ name, options: normalizeOptions(name, { binarize: 'none', ...extra }) });
}

/** Accuracy of a classifier on n images x (flat, [0,1]) with labels y. */
export function accuracy(clf: Pick<Classifier, 'predict'>, x: Float32Array, y: Int32Array): number {
  const n = y.length;
  const pred = tf.tidy(() => clf.predict(tf.tensor4d(x, [n, 28, 28, 1])).dataSync());
  let ok = 0;
  for (let i = 0; i < n; i++) if (pred[i] === y[i]) ok++;
  return ok / n;
}

/**
 * Train the classifier on `dataset`'s real training split: Adam, softmax cross-entropy; in each batch every
 * image is, with probability 1/2, replaced by a random binarization (x_ij ~ Bernoulli(x_ij)).
 */
export function trainClassifier(
  dataset: ClassifierDataset,
  o: ClassifierTrainOptions,
): { net: ClassifierNet; info: ClassifierInfo } {
  const ds = rawImages(dataset);
  const n = o.limit > 0 ? Math.min(o.limit, ds.train.n) : ds.train.n;
  const D = 28 * 28;
  const net = new ClassifierNet(o.seed);
  const optCfg = { ...ADAM_DEFAULTS, lr: o.lr, schedule: 'cosine' as const };
  const opt = new Adam(net.variables, optCfg);
  const totalSteps = o.epochs * Math.ceil(n / o.batchSize);
  const rng = new Rng(o.seed ^ 0xc1a55);
  const vars = [...net.variables.values()];
  const nameOf = new Map([...net.variables].map(([k, v]) => [v.name, k]));
  const t0 = Date.now();
  let step = 0;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const perm = rng.permutation(n);
    let lossSum = 0;
    let batchesSeen = 0;
    for (let s = 0; s < n; s += o.batchSize) {
      const m = Math.min(o.batchSize, n - s);
      const xb = new Float32Array(m * D);
      const yb = new Int32Array(m);
      for (let i = 0; i < m; i++) {
        const j = perm[s + i]!;
        xb.set(ds.train.x.subarray(j * D, (j + 1) * D), i * D);
        yb[i] = ds.train.y![j]!;
      }
      const seedMask = rng.nextSeed();
      const seedBin = rng.nextSeed();
      const lossV = tf.tidy(() => {
        const x = tf.tensor4d(xb, [m, 28, 28, 1]);
        const pick = tf.less(tf.randomUniform([m, 1, 1, 1], 0, 1, 'float32', seedMask), 0.5);
        const bin = tf.cast(
          tf.less(tf.randomUniform([m, 28, 28, 1], 0, 1, 'float32', seedBin), x),
          'float32',
        );
        const xAug = tf.where(tf.broadcastTo(pick, [m, 28, 28, 1]), bin, x);
        const yOh = tf.oneHot(tf.tensor1d(yb, 'int32'), CLASSES);
        const { value, grads } = tf.variableGrads(() => {
          const logits = net.logits(xAug);
          // cross-entropy: -sum_k y_k log softmax(logits)_k
          return tf.neg(tf.mean(tf.sum(tf.mul(yOh, tf.logSoftmax(logits)), 1))) as tf.Scalar;
        }, vars);
        const g = new Map<string, tf.Tensor>();
        for (const [k, t] of Object.entries(grads)) g.set(nameOf.get(k)!, t);
        opt.apply(g, learningRate(optCfg, step, totalSteps));
        return value.dataSync()[0]!;
      });
      lossSum += lossV;
      batchesSeen++;
      step++;
      if (step % 100 === 0)
        o.log(
          `epoch ${epoch + 1}/${o.epochs} step ${step}: loss ${(lossSum / batchesSeen).toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
        );
    }
    const clf = wrap(net, NaN);
    const acc = accuracy(clf, ds.test.x, ds.test.y!);
    o.log(
      `epoch ${epoch + 1}/${o.epochs}: train loss ${(lossSum / batchesSeen).toFixed(4)}, test accuracy ${(100 * acc).toFixed(2)}%`,
    );
  }
  opt.dispose();
  const clf = wrap(net, NaN);
  const testAccuracy = accuracy(clf, ds.test.x, ds.test.y!);
  const binDs = loadDataset({ name: dataset, options: normalizeOptions(dataset, { binarize: 'dynamic' }) });
  const testAccuracyBinarized = accuracy(clf, binDs.test.x, binDs.test.y!);
  const info: ClassifierInfo = {
    dataset,
    arch: ARCH,
    featureDim: FEATURES,
    testAccuracy,
    testAccuracyBinarized,
    trained: {
      data: `${dataset} train split (${n} images), grayscale x/255, each image binarized at random w.p. 1/2`,
      optimizer: 'Adam (betas 0.9, 0.999), cosine learning-rate decay, softmax cross-entropy',
      epochs: o.epochs,
      batchSize: o.batchSize,
      lr: o.lr,
      seed: o.seed,
      backend: tf.getBackend(),
      seconds: Math.round((Date.now() - t0) / 1000),
    },
    command: `genmodels train-classifier --data ${dataset}${o.epochs !== CLASSIFIER_TRAIN_DEFAULTS.epochs ? ` --epochs ${o.epochs}` : ''}${o.seed ? ` --seed ${o.seed}` : ''}`,
  };
  return { net, info };
}

/** Write weights (safetensors) and classifier.json into dir (atomically, file by file). */
export function saveClassifier(dir: string, net: ClassifierNet, info: ClassifierInfo): void {
  fs.mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, SafeTensor>();
  for (const [name, v] of net.variables)
    tensors.set(name, { dtype: 'F32', shape: v.shape, data: v.dataSync() as Float32Array });
  writeSafetensors(path.join(dir, 'classifier.safetensors'), tensors, {
    format: 'genmodels-classifier',
    dataset: info.dataset,
  });
  writeFileAtomic(path.join(dir, 'classifier.json'), JSON.stringify(info, null, 2) + '\n');
}
