// The one evaluation entry point. Dispatches on the taxonomy, never on the model's name:
//   density 'exact' -> NLL = -E[log p(x)]                       (nats, bits/dim)
//   density 'bound' -> -ELBO (k=1) and, with iw=K, -IWAE_K      (Burda et al. 2016, eq. 8), upper bounds on NLL
//   density 'none'  -> sample-based metrics (sample-metrics.ts: FID and precision/recall on the features of the
//                      project's MNIST / Fashion-MNIST classifier, mode coverage for 2-D mixtures); any model that
//                      samples gets them too with opts.samples = N
// Likelihoods are reported for the ORIGINAL data: log p(original) = log p_model(x) + ds.logDet(x), where
// ds.logDet accounts for preprocessing (dequantization + scaling + logit for 8-bit images, standardization
// for tables; zero for binarized images and toys). bits/dim = nats / (D ln 2), D = number of data dimensions.
import * as tf from '@tensorflow/tfjs-core';
import { UserError, type GenerativeModel } from '../core/model.js';
import { Rng } from '../core/rng.js';
import { dims } from '../data/spec.js';
import type { Dataset } from '../data/types.js';
import { batches } from '../data/index.js';
import { Progress, type ProgressMode } from '../train/progress.js';
import { formatSampleMetrics, sampleMetrics, type SampleMetrics } from './sample-metrics.js';

export interface EvalOptions {
  split?: 'train' | 'test';
  /** K > 1: also report the importance-weighted bound with K samples (bound models) */
  iw?: number;
  batchSize?: number;
  seed?: number;
  /** evaluate on the first maxN examples of the split (0/undefined: all) */
  maxN?: number;
  progress?: ProgressMode;
  /** sample-based metrics from N samples: always computed for density-'none' models (undefined/0: the default N);
   *  for models with a likelihood only when N > 0 */
  samples?: number;
}

export interface EvalMetric {
  /** 'nll': exact; 'elbo': -ELBO; 'iwae': -IWAE_k. All are (upper bounds on) the negative log-likelihood. */
  name: 'nll' | 'elbo' | 'iwae' | 'ais';
  k?: number;
  /** mean over examples of -log p(x) (or of -bound), in nats */
  nats: number;
  /** standard error of that mean */
  stderr: number;
  bitsPerDim: number;
}

export interface EvalResult {
  split: 'train' | 'test';
  n: number;
  density: GenerativeModel['taxonomy']['density'];
  metrics: EvalMetric[];
  /** why there are no metrics (density 'none') */
  note?: string;
  /** sample-based metrics (FID, precision/recall, modes): see sample-metrics.ts */
  samples?: SampleMetrics;
}

class Acc {
  sum = 0;
  sumSq = 0;
  n = 0;
  add(v: Float32Array | Int32Array | Uint8Array): void {
    for (let i = 0; i < v.length; i++) {
      const x = -v[i]!;
      this.sum += x;
      this.sumSq += x * x;
    }
    this.n += v.length;
  }
  metric(name: EvalMetric['name'], D: number, k?: number): EvalMetric {
    const mean = this.sum / this.n;
    const varc = Math.max(0, this.sumSq / this.n - mean * mean);
    const m: EvalMetric = {
      name,
      nats: mean,
      stderr: Math.sqrt(varc / Math.max(1, this.n - 1)),
      bitsPerDim: mean / (D * Math.LN2),
    };
    if (k !== undefined) m.k = k;
    return m;
  }
}

export async function evaluate(
  model: GenerativeModel,
  ds: Dataset,
  opts: EvalOptions = {},
): Promise<EvalResult> {
  const split = opts.split ?? 'test';
  const density = model.taxonomy.density;
  // stand-in until the Estimate interface lands: 'unnormalized' is scored by samples, 'estimate' by estimates()[0]
  if (density === 'none' || density === 'unnormalized') {
    const samples = await sampleMetrics(model, ds, {
      ...(opts.samples ? { n: opts.samples } : {}),
      seed: opts.seed ?? 0,
    });
    return { split, n: samples.n, density, metrics: [], samples };
  }
  const iw = opts.iw ?? 0;
  type Est = {
    name: string;
    kind: string;
    prepare?: (o: { seed: number }) => Promise<{ stderr?: number } | void>;
    logLik: (x: tf.Tensor, y: tf.Tensor1D | undefined, seed: number) => tf.Tensor1D;
  };
  const est =
    density === 'estimate'
      ? (model as unknown as { estimates?: (o: { iw: number }) => Est[] }).estimates?.({ iw })[0]
      : undefined;
  if (density === 'estimate' && !est)
    throw new Error(`model '${model.kind}' claims an estimate but has no estimates()`);
  const estPrep = est?.prepare ? await est.prepare({ seed: opts.seed ?? 0 }) : undefined;
  if (iw < 0 || !Number.isInteger(iw)) throw new UserError(`--iw must be a positive integer, got ${iw}`);
  if (iw > 1 && density === 'exact')
    throw new UserError(
      `--iw applies to models with a likelihood bound; '${model.kind}' has an exact density`,
    );
  if (density === 'exact' && !model.logProb)
    throw new Error(`model '${model.kind}' claims an exact density but has no logProb`);
  if (density === 'bound' && !model.logProbBound)
    throw new Error(`model '${model.kind}' claims a bound but has no logProbBound`);
  const data = split === 'train' ? ds.train : ds.test;
  const N = opts.maxN && opts.maxN > 0 ? Math.min(opts.maxN, data.n) : data.n;
  const bs = opts.batchSize ?? 256;
  const D = dims(model.spec);
  const rng = new Rng(opts.seed ?? 0);
  const main = new Acc();
  const iwAcc = new Acc();
  const progress = new Progress(opts.progress ?? (N >= 2000 || iw > 1 ? 'auto' : 'none'));
  progress.start(N, `eval ${split}`);
  let seen = 0;
  for (const b of batches(ds, split, bs, { epoch: 0, seed: opts.seed ?? 0, shuffle: false })) {
    if (seen >= N) break;
    const n = Math.min(b.n, N - seen);
    const per = b.x.length / b.n;
    let vals: Float32Array = new Float32Array(0);
    let ivals: Float32Array | null = null;
    tf.tidy(() => {
      const x = tf.tensor(b.x.subarray(0, n * per), [n, ...model.spec.shape]);
      const y = b.y && model.taxonomy.conditional ? tf.tensor1d(b.y.subarray(0, n), 'int32') : undefined;
      const logDet = ds.logDet ? ds.logDet(x) : tf.zeros([n]);
      if (density === 'exact') vals = tf.add(model.logProb!(x, y), logDet).dataSync() as Float32Array;
      else if (est) vals = tf.add(est.logLik(x, y, rng.nextSeed()), logDet).dataSync() as Float32Array;
      else {
        vals = tf
          .add(model.logProbBound!(x, { k: 1, seed: rng.nextSeed(), y }), logDet)
          .dataSync() as Float32Array;
        if (iw > 1)
          ivals = tf
            .add(model.logProbBound!(x, { k: iw, seed: rng.nextSeed(), y }), logDet)
            .dataSync() as Float32Array;
      }
    });
    main.add(vals);
    if (ivals !== null) iwAcc.add(ivals);
    seen += n;
    progress.update(seen, `${density === 'exact' ? 'nll' : '-elbo'} ${(main.sum / main.n).toFixed(3)}`);
    await new Promise<void>((r) => setImmediate(r));
  }
  progress.stop();
  if (seen === 0) throw new UserError(`the ${split} split is empty`);
  const metrics = [
    main.metric(density === 'exact' || est?.kind === 'exact' ? 'nll' : est ? 'ais' : 'elbo', D),
  ];
  if (est && estPrep?.stderr) metrics[0]!.stderr = Math.hypot(metrics[0]!.stderr, estPrep.stderr);
  if (iw > 1) metrics.push(iwAcc.metric('iwae', D, iw));
  if (opts.samples && opts.samples > 0) {
    const samples = await sampleMetrics(model, ds, { n: opts.samples, seed: opts.seed ?? 0 });
    return { split, n: seen, density, metrics, samples };
  }
  return { split, n: seen, density, metrics };
}

export function formatEval(r: EvalResult): string {
  if (r.samples) {
    const s = formatSampleMetrics(r.samples);
    if (r.metrics.length === 0) return s;
    return `${formatEval({ ...r, samples: undefined })}\n${s}`;
  }
  if (r.metrics.length === 0) return `${r.split}: ${r.note ?? 'no metrics'}`;
  const parts = r.metrics.map((m) => {
    const label =
      m.name === 'nll'
        ? 'NLL'
        : m.name === 'ais'
          ? 'NLL (AIS)'
          : m.name === 'elbo'
            ? '-ELBO'
            : `-IWAE(k=${m.k})`;
    return `${label} ${m.nats.toFixed(3)} ± ${m.stderr.toFixed(3)} nats (${m.bitsPerDim.toFixed(4)} bits/dim)`;
  });
  return `${r.split} (n=${r.n}): ${parts.join(', ')}`;
}
