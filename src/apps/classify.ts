// Bayes-rule classification with a density model, and rejection of inputs that belong to no class.
//   p(y | x) = p(x | y) p(y) / p(x),   log p(x) = logsumexp_y [log p(x | y) + log p(y)]
// log p(x | y) is the model's headline likelihood estimate (src/eval/estimates.ts: exact log p for flows and
// autoregressive models, the ELBO / IWAE bound for VAEs), from one class-conditional model (K passes over each
// batch, one per class label) or from K unconditional models, one per class. p(y): the training labels'
// frequencies with add-one smoothing, (n_y + 1) / (n + K), so that no class has prior zero.
// Rejection: an input is refused when log p(x) < tau, tau the r-quantile of log p(x) over held-out
// in-distribution data (target rejection rate r). The accuracy-coverage curve sorts inputs by log p(x) (or by
// max_y p(y | x), the usual confidence), accepts the top share c, and reports the accuracy on them and, with
// out-of-distribution inputs, the share of those below the same threshold.
import * as tf from '@tensorflow/tfjs-core';
import { UserError, type Estimate, type GenerativeModel } from '../core/model.js';
import { Rng } from '../core/rng.js';
import { modelEstimates } from '../eval/estimates.js';

/** log p(x | y = c) per example of a model-space batch, for each class c. */
export interface ClassScorer {
  numClasses: number;
  /** the estimate used, e.g. 'NLL' (exact) or '-ELBO' (a bound) */
  label: string;
  kind: Estimate['kind'];
  /** once before scoring (e.g. AIS for log Z) */
  prepare(seed: number): Promise<void>;
  logLik(x: tf.Tensor, c: number, seed: number): tf.Tensor1D;
}

/** The estimate classification uses: exact, else the model's own estimate, else the bound taking K, else the first. */
function headline(model: GenerativeModel, iw: number): Estimate {
  const list = modelEstimates(model, iw);
  const e =
    list.find((m) => m.kind === 'exact') ??
    list.find((m) => m.kind === 'estimate') ??
    list.find((m) => m.k !== undefined) ??
    list[0];
  if (!e)
    throw new UserError(
      `model '${model.kind}' has no likelihood (its taxonomy says density ${model.taxonomy.density}); Bayes-rule classification needs log p(x | y)`,
    );
  return e;
}

function prepareAll(es: Estimate[]): (seed: number) => Promise<void> {
  return async (seed) => {
    const rng = new Rng(seed);
    for (const e of es) if (e.prepare) await e.prepare({ seed: rng.nextSeed() });
  };
}

/** One class-conditional model: log p(x | y = c) with the label c given to every example. */
export function conditionalScorer(model: GenerativeModel, iw = 1): ClassScorer {
  if (!model.taxonomy.conditional)
    throw new UserError(
      `model '${model.kind}' is not class-conditional (taxonomy.conditional is false): classify needs p(x | y); give one run per class with --per-class`,
    );
  const K = model.spec.numClasses ?? 0;
  if (K < 2) throw new UserError(`model '${model.kind}' has ${K} classes; classification needs at least 2`);
  const e = headline(model, iw);
  return {
    numClasses: K,
    label: e.label,
    kind: e.kind,
    prepare: prepareAll([e]),
    logLik: (x, c, seed) =>
      tf.tidy(() => e.logLik(x, tf.fill([x.shape[0]!], c, 'int32') as tf.Tensor1D, seed)),
  };
}

/** K unconditional models over the same data, model c giving p(x | y = c). */
export function perClassScorer(models: GenerativeModel[], iw = 1): ClassScorer {
  if (models.length < 2)
    throw new UserError(`--per-class needs one run per class, at least 2; got ${models.length}`);
  const shape = JSON.stringify(models[0]!.spec.shape);
  models.forEach((m, i) => {
    if (JSON.stringify(m.spec.shape) !== shape)
      throw new UserError(
        `--per-class: run ${i + 1} models data of shape ${JSON.stringify(m.spec.shape)}, run 1 ${shape}`,
      );
  });
  const es = models.map((m) => headline(m, iw));
  const kinds = new Set(es.map((e) => e.kind));
  return {
    numClasses: models.length,
    label: [...new Set(es.map((e) => e.label))].join(' / '),
    kind: kinds.size === 1 ? es[0]!.kind : 'bound',
    prepare: prepareAll(es),
    logLik: (x, c, seed) => es[c]!.logLik(x, undefined, seed),
  };
}

/** log p(y): (n_y + 1) / (n + K) from training labels. */
export function logPrior(y: Int32Array, K: number): Float64Array {
  const count = new Float64Array(K);
  for (const v of y) {
    if (v < 0 || v >= K) throw new UserError(`training label ${v} is not a class 0..${K - 1}`);
    count[v]!++;
  }
  return count.map((c) => Math.log((c + 1) / (y.length + K)));
}

export interface Posterior {
  n: number;
  K: number;
  /** log p(y | x), n * K row-major */
  logPost: Float64Array;
  /** log p(x) = logsumexp_y [log p(x | y) + log p(y)] */
  logPx: Float64Array;
}

/** Bayes' rule over per-class log-likelihoods (n * K row-major). */
export function posterior(logLik: Float64Array, prior: Float64Array): Posterior {
  const K = prior.length;
  const n = logLik.length / K;
  const logPost = new Float64Array(n * K);
  const logPx = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let c = 0; c < K; c++) m = Math.max(m, logLik[i * K + c]! + prior[c]!);
    let s = 0;
    for (let c = 0; c < K; c++) s += Math.exp(logLik[i * K + c]! + prior[c]! - m);
    const lse = m + Math.log(s);
    logPx[i] = lse;
    for (let c = 0; c < K; c++) logPost[i * K + c] = logLik[i * K + c]! + prior[c]! - lse;
  }
  return { n, K, logPost, logPx };
}

/** argmax_y p(y | x) per example. */
export function predictions(p: Posterior): Int32Array {
  const out = new Int32Array(p.n);
  for (let i = 0; i < p.n; i++) {
    let b = 0;
    for (let c = 1; c < p.K; c++) if (p.logPost[i * p.K + c]! > p.logPost[i * p.K + b]!) b = c;
    out[i] = b;
  }
  return out;
}

/** Accuracy and log-loss (mean -log p(y_true | x), nats) over examples idx (default all). */
export function accuracyLogLoss(
  p: Posterior,
  y: Int32Array,
  idx?: ArrayLike<number>,
): { accuracy: number; logLoss: number; n: number } {
  const pred = predictions(p);
  const rows = idx ?? Array.from({ length: p.n }, (_, i) => i);
  let hit = 0;
  let loss = 0;
  for (let j = 0; j < rows.length; j++) {
    const i = rows[j]!;
    if (pred[i] === y[i]) hit++;
    loss -= p.logPost[i * p.K + y[i]!]!;
  }
  return { accuracy: hit / rows.length, logLoss: loss / rows.length, n: rows.length };
}

/** tau such that a share `rate` of the calibration values lies below it (the empirical rate-quantile). */
export function calibrateThreshold(logPx: ArrayLike<number>, rate: number): number {
  if (!(rate >= 0 && rate < 1)) throw new UserError(`--reject-rate must be in [0, 1), got ${rate}`);
  if (logPx.length === 0) throw new UserError('no held-out data to calibrate the rejection threshold on');
  const s = Float64Array.from(logPx).sort();
  const k = Math.floor(rate * s.length);
  // reject the k lowest: tau is the (k+1)-th smallest; rate 0 rejects nothing seen
  return k === 0 ? s[0]! - 1e-9 * Math.max(1, Math.abs(s[0]!)) : s[k]!;
}

export interface CoveragePoint {
  coverage: number;
  /** accepted when log p(x) >= threshold (by 'density'), or max p(y|x) >= threshold (by 'confidence') */
  threshold: number;
  accuracy: number;
  /** share of the out-of-distribution inputs below the same threshold */
  oodRejected?: number;
}

/**
 * Accuracy on the accepted share c of inputs, for c on a grid (ranked by `score`, higher = kept first), and,
 * with oodScore, the share of out-of-distribution inputs whose score is below the coverage's threshold.
 */
export function coverageCurve(
  score: ArrayLike<number>,
  correct: ArrayLike<boolean>,
  oodScore?: ArrayLike<number>,
  steps = 20,
): CoveragePoint[] {
  const n = score.length;
  if (n === 0) return [];
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[b]! - score[a]!);
  const ood = oodScore ? Float64Array.from(oodScore).sort() : null;
  const out: CoveragePoint[] = [];
  for (let s = 1; s <= steps; s++) {
    const m = Math.max(1, Math.round((s / steps) * n));
    let hit = 0;
    for (let j = 0; j < m; j++) if (correct[order[j]!]) hit++;
    const threshold = score[order[m - 1]!]!;
    const p: CoveragePoint = { coverage: m / n, threshold, accuracy: hit / m };
    if (ood) p.oodRejected = lowerCount(ood, threshold) / ood.length;
    out.push(p);
  }
  return out;
}

/** how many of the sorted values are < t */
export function lowerCount(sorted: Float64Array, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Seeded split of 0..n-1 into calibration (share `fraction`) and evaluation indices, each sorted. */
export function calibrationSplit(
  n: number,
  fraction: number,
  seed: number,
): { calib: Int32Array; evalIdx: Int32Array } {
  if (!(fraction > 0 && fraction < 1))
    throw new UserError(`--calib-fraction must be in (0, 1), got ${fraction}`);
  const perm = new Rng(seed).permutation(n);
  const k = Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  return { calib: perm.slice(0, k).sort(), evalIdx: perm.slice(k).sort() };
}

/** Model-space inputs to score: n examples of `shape`, row-major. */
export interface Inputs {
  n: number;
  x: Float32Array;
  shape: number[];
}

/**
 * log p(x | y = c) + logDet(x) for every example and class (n * K row-major): K passes over each batch, with
 * the same seed for every class (common random numbers: a bound's noise does not decide the class).
 * onStep(done, total) after each pass, total = K * batches.
 */
export async function classLogLik(
  scorer: ClassScorer,
  inputs: Inputs,
  opts: {
    batchSize?: number;
    seed?: number;
    logDet?: (x: tf.Tensor) => tf.Tensor1D;
    onStep?: (done: number, total: number) => void;
  } = {},
): Promise<Float64Array> {
  const K = scorer.numClasses;
  const bs = opts.batchSize ?? 256;
  const per = inputs.shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(inputs.n * K);
  const rng = new Rng(opts.seed ?? 0);
  const nb = Math.ceil(inputs.n / bs);
  let done = 0;
  for (let start = 0; start < inputs.n; start += bs) {
    const n = Math.min(bs, inputs.n - start);
    const seed = rng.nextSeed();
    const x = tf.tensor(inputs.x.subarray(start * per, (start + n) * per), [n, ...inputs.shape]);
    try {
      const logDet = opts.logDet ? await opts.logDet(x).data() : null;
      for (let c = 0; c < K; c++) {
        const t = tf.tidy(() => scorer.logLik(x, c, seed));
        const v = await t.data();
        t.dispose();
        for (let i = 0; i < n; i++) {
          const l = v[i]! + (logDet ? logDet[i]! : 0);
          if (Number.isNaN(l)) throw new UserError(`log p(x | y=${c}) of input ${start + i} is NaN`);
          out[(start + i) * K + c] = l;
        }
        opts.onStep?.(++done, nb * K);
      }
    } finally {
      x.dispose();
    }
  }
  return out;
}
