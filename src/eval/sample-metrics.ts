// Sample-based metrics for any model that samples (the only metrics of density-'none' models such as GANs):
//   images (MNIST, Fashion-MNIST): FID (fid.ts) and improved precision/recall (precision-recall.ts) on the
//     features of the project's own classifier (classifier.ts), against the real grayscale test images, with
//     the same metrics for the real training images vs the test images as the floor a perfect model would
//     reach with this many samples; conditional models: the fraction of samples classified as the label asked.
//   other vectors: precision/recall in data space (model space) against the test split; 2-D gaussian mixtures
//     (8gaussians, 25gaussians): modes covered and the high-quality fraction (modes.ts).
import * as tf from '@tensorflow/tfjs-core';
import { UserError, type GenerativeModel, type SampleOptions } from '../core/model.js';
import { Rng } from '../core/rng.js';
import { Progress } from '../train/progress.js';
import { dims } from '../data/spec.js';
import { toyModes } from '../data/toy.js';
import type { Dataset } from '../data/types.js';
import { classifierFor, loadClassifier, rawImages, type Classifier } from './classifier.js';
import { fid } from './fid.js';
import { modeStats, type ModeStats } from './modes.js';
import { precisionRecall } from './precision-recall.js';

export interface SampleMetrics {
  /** number of generated samples (and of real examples they are compared with) */
  n: number;
  /** where distances are measured */
  space: 'classifier-features' | 'data';
  classifier?: { dataset: string; testAccuracy: number; featureDim: number };
  /** Fréchet distance of the samples' features to the real test images' features */
  fid?: number;
  /** FID of n real training images to the n test images: the floor for this n */
  fidFloor?: number;
  precision?: number;
  recall?: number;
  /** precision / recall of real training vs real test examples (the floor's counterpart) */
  precisionFloor?: number;
  recallFloor?: number;
  k?: number;
  /** 2-D mixtures */
  modes?: ModeStats;
  /** conditional models: fraction of samples the classifier labels as the class they were drawn for */
  labelAccuracy?: number;
  /** wall-clock seconds spent drawing the n samples, and per 1,000 samples */
  sampleSec?: number;
  secPer1000?: number;
  /** the iterative sampler options the samples were drawn with (as given; unset ones: the model's defaults) */
  sampler?: IterativeOptions;
}

/** options of an iterative sampler (diffusion, energy models): see SampleOptions */
export type IterativeOptions = Pick<SampleOptions, 'sampler' | 'steps' | 'eta' | 'guidance'>;

export interface SampleMetricsOptions {
  /** number of samples (default: 10000 for images, 2500 for 2-D data, else 5000), capped by the test split */
  n?: number;
  seed?: number;
  /** k of the k-NN manifolds */
  k?: number;
  batchSize?: number;
  /** iterative samplers: sampler, steps, DDIM eta, guidance weight (default: the model's own) */
  iterative?: IterativeOptions;
}

/** Draw n samples (labels cycling 0..C-1 for conditional models) as model-space rows, plus the labels. */
async function drawSamples(
  model: GenerativeModel,
  n: number,
  seed: number,
  batchSize: number,
  iterative: IterativeOptions = {},
): Promise<{ x: Float32Array; labels?: Int32Array; sec: number }> {
  const t0 = performance.now();
  const D = dims(model.spec);
  const x = new Float32Array(n * D);
  const C = model.taxonomy.conditional ? (model.spec.numClasses ?? 0) : 0;
  const labels = C > 0 ? Int32Array.from({ length: n }, (_, i) => i % C) : undefined;
  const rng = new Rng(seed ^ 0x5a3b1e);
  // iterative samplers (autoregressive: one network pass per pixel) take minutes per batch
  const progress = new Progress(model.taxonomy.sampling === 'iterative' || n > batchSize ? 'auto' : 'none');
  progress.start(n, 'sampling');
  for (let s = 0; s < n; s += batchSize) {
    const m = Math.min(batchSize, n - s);
    const out = tf.tidy(() =>
      model.sample(m, {
        ...iterative,
        seed: rng.nextSeed(),
        ...(labels ? { label: Array.from(labels.subarray(s, s + m)) } : {}),
      }),
    );
    x.set((await out.data()) as Float32Array, s * D);
    out.dispose();
    progress.update(s + m, '');
    await new Promise<void>((r) => setImmediate(r));
  }
  progress.stop();
  const sec = (performance.now() - t0) / 1e3;
  return labels ? { x, labels, sec } : { x, sec };
}

function features(clf: Classifier, x: Float32Array, n: number): { f: Float32Array; d: number } {
  return tf.tidy(() => {
    const f = clf.features(tf.tensor4d(x, [n, 28, 28, 1]));
    return { f: f.dataSync() as Float32Array, d: f.shape[1] };
  });
}

export async function sampleMetrics(
  model: GenerativeModel,
  ds: Dataset,
  opts: SampleMetricsOptions = {},
): Promise<SampleMetrics> {
  const seed = opts.seed ?? 0;
  const k = opts.k ?? 3;
  const bs = opts.batchSize ?? 500;
  const spec = model.spec;
  const isImage = spec.kind === 'image';
  const clfName = isImage ? classifierFor(ds.name) : null;
  if (isImage && clfName === null)
    throw new UserError(
      `sample metrics for images need a feature classifier; there is none for '${ds.name}' (mnist, fashion-mnist)`,
    );
  const D = dims(spec);
  const defaultN = isImage ? 10000 : D === 2 ? 2500 : 5000;
  const want = opts.n ?? defaultN;
  if (!Number.isInteger(want) || want < k + 2)
    throw new UserError(`the number of samples must be an integer >= ${k + 2} (got ${want})`);

  if (clfName !== null) {
    const dsOpts = ds.describe().options;
    const real = rawImages(ds.name, {
      ...(dsOpts['dir'] !== undefined ? { dir: dsOpts['dir'] } : {}),
      ...(dsOpts['limit'] !== undefined ? { limit: dsOpts['limit'] } : {}),
    });
    const n = Math.min(want, real.test.n, real.train.n);
    const clf = await loadClassifier(clfName);
    try {
      const { x, labels, sec } = await drawSamples(model, n, seed, bs, opts.iterative);
      const shown = ds.toDisplay(x); // model space -> images in [0,1]
      const fake = features(clf, shown, n);
      const test = features(clf, real.test.x.subarray(0, n * D), n);
      const train = features(clf, real.train.x.subarray(0, n * D), n);
      const d = fake.d;
      const pr = precisionRecall(test.f, n, fake.f, n, d, k);
      const prFloor = precisionRecall(test.f, n, train.f, n, d, k);
      const out: SampleMetrics = {
        n,
        space: 'classifier-features',
        classifier: { dataset: clfName, testAccuracy: clf.testAccuracy, featureDim: d },
        fid: fid(fake.f, n, test.f, n, d),
        fidFloor: fid(train.f, n, test.f, n, d),
        precision: pr.precision,
        recall: pr.recall,
        precisionFloor: prFloor.precision,
        recallFloor: prFloor.recall,
        k,
        ...timing(sec, n, opts.iterative),
      };
      if (labels) {
        const pred = tf.tidy(() => clf.predict(tf.tensor4d(shown, [n, 28, 28, 1])).dataSync());
        let ok = 0;
        for (let i = 0; i < n; i++) if (pred[i] === labels[i]) ok++;
        out.labelAccuracy = ok / n;
      }
      return out;
    } finally {
      clf.dispose();
    }
  }

  // vectors: data space (what the model sees), against the test split
  const n = Math.min(want, ds.test.n);
  const testX = ds.prepare(ds.test.x.slice(0, n * D), { split: 'test', epoch: 0, seed, offset: 0 });
  const { x, sec } = await drawSamples(model, n, seed, bs, opts.iterative);
  const pr = precisionRecall(testX, n, x, n, D, k);
  const out: SampleMetrics = {
    n,
    space: 'data',
    precision: pr.precision,
    recall: pr.recall,
    k,
    ...timing(sec, n, opts.iterative),
  };
  const modes = D === 2 ? toyModes(ds.name, ds.describe().options) : null;
  if (modes) out.modes = modeStats(ds.toDisplay(x), n, modes);
  return out;
}

const timing = (sec: number, n: number, iterative: IterativeOptions | undefined) => ({
  sampleSec: sec,
  secPer1000: (1000 * sec) / n,
  ...(iterative && Object.keys(iterative).length ? { sampler: iterative } : {}),
});

export function formatSampleMetrics(s: SampleMetrics): string {
  const parts: string[] = [];
  const f = (v: number | undefined, digits = 3) => (v === undefined ? 'n/a' : v.toFixed(digits));
  if (s.fid !== undefined)
    parts.push(
      `FID ${f(s.fid, 2)} (floor: real train vs test ${f(s.fidFloor, 2)}; features of the ${s.classifier!.dataset} classifier, test accuracy ${(100 * s.classifier!.testAccuracy).toFixed(2)}%)`,
    );
  if (s.precision !== undefined)
    parts.push(
      `precision ${f(s.precision)}, recall ${f(s.recall)} (k=${s.k}${s.precisionFloor !== undefined ? `; real train vs test ${f(s.precisionFloor)} / ${f(s.recallFloor)}` : ''}${s.space === 'data' ? ', data space' : ''})`,
    );
  if (s.modes)
    parts.push(
      `modes covered ${s.modes.covered}/${s.modes.modes} (>= ${s.modes.minCount} samples within 3 std), high-quality ${(100 * s.modes.highQuality).toFixed(1)}%`,
    );
  if (s.labelAccuracy !== undefined)
    parts.push(`samples classified as the asked label: ${(100 * s.labelAccuracy).toFixed(2)}%`);
  if (s.secPer1000 !== undefined) {
    const how = s.sampler
      ? ` (${Object.entries(s.sampler)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')})`
      : '';
    parts.push(`sampling ${f(s.secPer1000, 1)} s per 1,000 samples${how}`);
  }
  return `samples (n=${s.n}): ${parts.join('; ')}`;
}
