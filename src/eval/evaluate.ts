// The one evaluation entry point. Dispatches on the taxonomy and the model's estimates, never on its name:
// each estimate (estimates.ts: the model's own, else the defaults of its density: exact -> NLL; bound -> -ELBO
// and, with iw=K, -IWAE_K) is reported as -mean log p(x) in nats and bits/dim with its standard error.
// Models with no estimate (density 'none' | 'unnormalized') get sample-based metrics (sample-metrics.ts: FID
// and precision/recall on the features of the project's MNIST / Fashion-MNIST classifier, mode coverage for 2-D
// mixtures); any model that samples gets them too with opts.samples = N.
// Likelihoods are reported for the ORIGINAL data: log p(original) = log p_model(x) + ds.logDet(x), where
// ds.logDet accounts for preprocessing (dequantization + scaling + logit for 8-bit images, standardization
// for tables; zero for binarized images and toys). bits/dim = nats / (D ln 2), D = number of data dimensions.
import * as tf from '@tensorflow/tfjs-core';
import { UserError, type Estimate, type GenerativeModel } from '../core/model.js';
import { Rng } from '../core/rng.js';
import { dims } from '../data/spec.js';
import type { Dataset, Split } from '../data/types.js';
import { batches } from '../data/index.js';
import { Progress, type ProgressMode } from '../train/progress.js';
import { legacyLabel, modelEstimates, type Density } from './estimates.js';
import {
  formatSampleMetrics,
  sampleMetrics,
  type IterativeOptions,
  type SampleMetrics,
} from './sample-metrics.js';
import { withPrecision } from '../backend/torch/precision.js';

export interface EvalOptions {
  split?: 'train' | 'test';
  /** K > 1: the sample count of the estimates that take one (bound models: the importance-weighted bound) */
  iw?: number;
  batchSize?: number;
  seed?: number;
  /** evaluate on the first maxN examples of the split (0/undefined: all) */
  maxN?: number;
  progress?: ProgressMode;
  /** sample-based metrics from N samples: always computed for models without a likelihood estimate
   *  (undefined/0: the default N); for models with one only when N > 0 */
  samples?: number;
  /** iterative samplers of the sample metrics: sampler, steps, DDIM eta, guidance (default: the model's) */
  iterative?: IterativeOptions;
  /**
   * data-parallel: worker `rank` of `size` evaluates every size-th batch and the sums are added over the
   * workers with `sum` (the result is the single-process one, up to the order of float additions)
   */
  shard?: { rank: number; size: number; sum(values: number[]): number[] };
}

export interface EvalMetric {
  /** the estimate's stable key: 'nll' (exact), 'elbo' (-ELBO), 'iwae' (-IWAE_k), or a model's own ('ais', ...) */
  name: string;
  /** shown in tables: 'NLL', '-ELBO', '-IWAE(k=5000)', 'NLL (AIS)', ... */
  label: string;
  kind: Estimate['kind'];
  k?: number;
  /** mean over examples of -log p(x) (or of -bound, -estimate), in nats */
  nats: number;
  /** standard error of that mean, combined with the one `prepare` adds (sqrt(se² + prepareStderr²)) */
  stderr: number;
  bitsPerDim: number;
  /** the standard error the estimate's `prepare` adds to every example (e.g. of an AIS log Z), if any */
  prepareStderr?: number;
  /** extra numbers from the estimate's `prepare` (e.g. { logZ, chains, seconds }) */
  info?: Record<string, number>;
}

export interface EvalResult {
  split: 'train' | 'test';
  n: number;
  density: Density;
  metrics: EvalMetric[];
  /** why there are no metrics */
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
  metric(e: Estimate, D: number, prep: { stderr?: number; info?: Record<string, number> }): EvalMetric {
    const mean = this.sum / this.n;
    const varc = Math.max(0, this.sumSq / this.n - mean * mean);
    const se = Math.sqrt(varc / Math.max(1, this.n - 1));
    const m: EvalMetric = {
      name: e.name,
      label: e.label,
      kind: e.kind,
      nats: mean,
      stderr: prep.stderr !== undefined ? Math.hypot(se, prep.stderr) : se,
      bitsPerDim: mean / (D * Math.LN2),
    };
    if (e.k !== undefined) m.k = e.k;
    if (prep.stderr !== undefined) m.prepareStderr = prep.stderr;
    if (prep.info !== undefined) m.info = prep.info;
    return m;
  }
}

/** UserError when a conditional model would see a label outside its classes 0..C-1 (C = spec.numClasses). */
function checkLabels(model: GenerativeModel, data: Split, n: number, split: string): void {
  if (!model.taxonomy.conditional || !data.y) return;
  const C = model.spec.numClasses ?? 0;
  for (let i = 0; i < n; i++) {
    const l = data.y[i]!;
    if (l < 0 || l >= C)
      throw new UserError(
        `label ${l} of ${split} example ${i} is out of range: model '${model.kind}' has ${C} classes (0..${C - 1})`,
      );
  }
}

/** The headline metric of a result: the exact NLL, else a model's own estimate, else the bound that takes k. */
export function headlineMetric(metrics: EvalMetric[]): EvalMetric | undefined {
  return (
    metrics.find((m) => m.kind === 'exact') ??
    metrics.find((m) => m.kind === 'estimate') ??
    metrics.find((m) => m.k !== undefined) ??
    metrics[0]
  );
}

/** Evaluation runs in fp32 whatever the training precision (src/backend/torch/precision.ts). */
export async function evaluate(
  model: GenerativeModel,
  ds: Dataset,
  opts: EvalOptions = {},
): Promise<EvalResult> {
  return withPrecision('fp32', () => evaluateFp32(model, ds, opts));
}

async function evaluateFp32(model: GenerativeModel, ds: Dataset, opts: EvalOptions): Promise<EvalResult> {
  const split = opts.split ?? 'test';
  const density = model.taxonomy.density as Density;
  const seed = opts.seed ?? 0;
  const iw = opts.iw ?? 0;
  if (iw < 0 || !Number.isInteger(iw)) throw new UserError(`--iw must be a positive integer, got ${iw}`);
  const estimates = modelEstimates(model, iw);
  if (estimates.length === 0) {
    if (iw > 1)
      throw new UserError(
        `--iw applies to likelihood estimates; '${model.kind}' (${density} density) has none`,
      );
    const samples = await sampleMetrics(model, ds, {
      ...(opts.samples ? { n: opts.samples } : {}),
      seed,
      ...(opts.iterative ? { iterative: opts.iterative } : {}),
    });
    return { split, n: samples.n, density, metrics: [], samples };
  }
  if (iw > 1 && !estimates.some((e) => e.k === iw))
    throw new UserError(
      `--iw applies to estimates that take a sample count; '${model.kind}' (${density} density) offers ` +
        `${estimates.map((e) => e.label).join(', ')}, none of which takes one`,
    );
  const data = split === 'train' ? ds.train : ds.test;
  const N = opts.maxN && opts.maxN > 0 ? Math.min(opts.maxN, data.n) : data.n;
  checkLabels(model, data, N, split);
  const bs = opts.batchSize ?? 256;
  const D = dims(model.spec);
  // once before the data pass, with seeds of their own (the data pass's seeds do not depend on them)
  const prepRng = new Rng(seed).fork();
  const prep: { stderr?: number; info?: Record<string, number> }[] = [];
  for (const e of estimates)
    prep.push((e.prepare ? await e.prepare({ seed: prepRng.nextSeed() }) : undefined) ?? {});
  const rng = new Rng(seed);
  const accs = estimates.map(() => new Acc());
  const slow = iw > 1 || estimates.some((e) => e.prepare !== undefined);
  const progress = new Progress(opts.progress ?? (N >= 2000 || slow ? 'auto' : 'none'));
  progress.start(N, `eval ${split}`);
  let seen = 0;
  let batchIndex = 0;
  const shard = opts.shard;
  for (const b of batches(ds, split, bs, { epoch: 0, seed, shuffle: false })) {
    if (seen >= N) break;
    const n = Math.min(b.n, N - seen);
    if (shard && batchIndex++ % shard.size !== shard.rank) {
      for (let i = 0; i < estimates.length; i++) rng.nextSeed(); // another worker's batch: its seeds
      seen += n;
      continue;
    }
    const per = b.x.length / b.n;
    const vals = tf.tidy(() => {
      const x = tf.tensor(b.x.subarray(0, n * per), [n, ...model.spec.shape]);
      const y = b.y && model.taxonomy.conditional ? tf.tensor1d(b.y.subarray(0, n), 'int32') : undefined;
      const logDet = ds.logDet ? ds.logDet(x) : tf.zeros([n]);
      // one seed per estimate and batch, in list order
      return estimates.map((e) => tf.add(e.logLik(x, y, rng.nextSeed()), logDet).dataSync() as Float32Array);
    });
    vals.forEach((v, i) => accs[i]!.add(v));
    seen += n;
    progress.update(seen, `${estimates[0]!.label} ${(accs[0]!.sum / accs[0]!.n).toFixed(3)}`);
    await new Promise<void>((r) => setImmediate(r));
  }
  progress.stop();
  if (shard) {
    const s = shard.sum(accs.flatMap((a) => [a.sum, a.sumSq, a.n]));
    accs.forEach((a, i) => ([a.sum, a.sumSq, a.n] = [s[3 * i]!, s[3 * i + 1]!, s[3 * i + 2]!]));
  }
  if (seen === 0) throw new UserError(`the ${split} split is empty`);
  const metrics = estimates.map((e, i) => accs[i]!.metric(e, D, prep[i]!));
  if (opts.samples && opts.samples > 0) {
    const samples = await sampleMetrics(model, ds, {
      n: opts.samples,
      seed,
      ...(opts.iterative ? { iterative: opts.iterative } : {}),
    });
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
    const info = m.info ? Object.entries(m.info).map(([k, v]) => `${k} ${formatNumber(v)}`) : [];
    if (m.prepareStderr !== undefined) info.unshift(`± ${m.prepareStderr.toFixed(3)} from prepare`);
    return (
      `${m.label ?? legacyLabel(m)} ${m.nats.toFixed(3)} ± ${m.stderr.toFixed(3)} nats ` +
      `(${m.bitsPerDim.toFixed(4)} bits/dim${info.length ? `; ${info.join(', ')}` : ''})`
    );
  });
  return `${r.split} (n=${r.n}): ${parts.join(', ')}`;
}

function formatNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(5);
}
