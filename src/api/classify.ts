// Bayes-rule classification of a run's test split (src/apps/classify.ts): from one class-conditional run, or
// one run per class (perClass); accuracy and log-loss on the whole test split; a rejection threshold on
// log p(x) calibrated on a seeded share of the test split for a target rejection rate, measured on the rest
// (and on out-of-distribution inputs); the accuracy-coverage curve as report.json and coverage.png.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError, type GenerativeModel } from '../core/model.js';
import { batches, loadDataset } from '../data/index.js';
import { dims } from '../data/spec.js';
import { readTableFor } from '../data/tables.js';
import type { Dataset, DatasetConfig } from '../data/types.js';
import { writeFileAtomic } from '../io/atomic.js';
import { linePlotSpec, savePlot } from '../plot/index.js';
import { loadCheckpoint, readCheckpointConfig, type CheckpointConfig } from '../train/checkpoint.js';
import { PRETRAINED_PREFIX } from '../train/pretrained-ref.js';
import { Progress, type ProgressMode } from '../train/progress.js';
import {
  accuracyLogLoss,
  calibrateThreshold,
  calibrationSplit,
  classLogLik,
  conditionalScorer,
  coverageCurve,
  logPrior,
  lowerCount,
  perClassScorer,
  posterior,
  predictions,
  type CoveragePoint,
  type Inputs,
} from '../apps/classify.js';
import { stderrLog, useBackend, type Log } from './common.js';

export interface ClassifyOptions {
  /** each run is the model of one class, in class order */
  perClass?: boolean;
  /** per-class: the labelled dataset (a name or a .csv file; default the first run's), read with the first
   *  run's data options */
  data?: string;
  /** target share of in-distribution inputs rejected (default 0.05) */
  rejectRate?: number;
  /** share of the test split that calibrates the threshold (default 0.5) */
  calibFraction?: number;
  /** out-of-distribution inputs: a dataset name (images) or a CSV file (tables) */
  ood?: string;
  /** at most this many test (and OOD) inputs (default all) */
  maxN?: number;
  batchSize?: number;
  /** sample count of a bound (IWAE-K) or other estimate that takes one */
  iw?: number;
  seed?: number;
  /** output folder for report.json and coverage.png (default <first run>/classify) */
  out?: string;
  backend?: string;
  useEma?: boolean;
  progress?: ProgressMode;
  log?: Log;
}

export interface ClassifyReport {
  runs: string[];
  mode: 'conditional' | 'per-class';
  estimate: string;
  classes: string[];
  prior: number[];
  test: { n: number; accuracy: number; logLoss: number };
  rejection: {
    targetRate: number;
    /** log p(x) threshold in nats (original data: preprocessing log-det included) */
    threshold: number;
    calibrationN: number;
    evaluation: { n: number; rejected: number; accuracyAccepted: number; accuracyAll: number };
    ood?: { data: string; n: number; rejected: number };
  };
  /** ranked by log p(x) */
  coverage: CoveragePoint[];
  /** ranked by max_y p(y | x) */
  coverageByConfidence: CoveragePoint[];
  seconds: number;
  inputsPerSecond: number;
  files: { report: string; plot: string };
}

/** Model-space inputs and labels of a dataset split (prepared as for evaluation), the first maxN. */
function splitInputs(
  ds: Dataset,
  split: 'train' | 'test',
  maxN: number | undefined,
  bs: number,
): Inputs & { y?: Int32Array } {
  const s = ds[split];
  const n = maxN ? Math.min(maxN, s.n) : s.n;
  const per = dims(ds.spec);
  const x = new Float32Array(n * per);
  let seen = 0;
  for (const b of batches(ds, split, bs, { shuffle: false })) {
    if (seen >= n) break;
    const k = Math.min(b.n, n - seen);
    x.set(b.x.subarray(0, k * per), seen * per);
    seen += k;
  }
  return { n, x, shape: ds.spec.shape, ...(s.y ? { y: s.y.slice(0, n) } : {}) };
}

function oodInputs(
  ood: string,
  data: DatasetConfig,
  ds: Dataset,
  maxN: number | undefined,
  bs: number,
): { inputs: Inputs; logDet?: (x: tf.Tensor) => tf.Tensor1D } {
  const d = dims(ds.spec);
  if (ds.spec.kind === 'vector' && /\.csv(\.gz)?$/i.test(ood)) {
    const t = readTableFor(ood, data, d);
    const n = maxN ? Math.min(maxN, t.n) : t.n;
    return {
      inputs: { n, x: t.x.subarray(0, n * d), shape: ds.spec.shape },
      ...(ds.logDet ? { logDet: ds.logDet } : {}),
    };
  }
  const { dir: _dir, path: _p, label: _l, ...options } = data.options;
  const o = loadDataset({ name: ood, options });
  if (JSON.stringify(o.spec.shape) !== JSON.stringify(ds.spec.shape))
    throw new UserError(
      `--ood ${ood}: its inputs have shape ${JSON.stringify(o.spec.shape)}, the model's ${JSON.stringify(ds.spec.shape)}`,
    );
  return { inputs: splitInputs(o, 'test', maxN, bs), ...(o.logDet ? { logDet: o.logDet.bind(o) } : {}) };
}

function checkRuns(runs: string[], perClass: boolean): CheckpointConfig[] {
  if (runs.length === 0) throw new UserError('classify needs a run directory');
  if (!perClass && runs.length > 1)
    throw new UserError(
      `classify got ${runs.length} runs; several runs are one model per class: add --per-class`,
    );
  const cfgs = runs.map((r) => readCheckpointConfig(r).config);
  cfgs.forEach((c, i) => {
    if (!c.data) throw new UserError(`${runs[i]}: the checkpoint does not record its dataset`);
    if (!perClass && !c.model.taxonomy.conditional)
      throw new UserError(
        `model '${c.model.kind}' of ${runs[i]} is not class-conditional (taxonomy.conditional is false): classify needs p(x | y) (train with --set conditional=true, or give one run per class with --per-class)`,
      );
    if (['none', 'unnormalized'].includes(c.model.taxonomy.density))
      throw new UserError(
        `model '${c.model.kind}' of ${runs[i]} has no likelihood (density ${c.model.taxonomy.density}); classify needs log p(x | y)`,
      );
  });
  if (perClass) {
    // one input space for all: the runs must preprocess the data alike
    const prep = (c: CheckpointConfig) => {
      const { path: _p, limit: _l, label: _b, ...options } = c.data!.options;
      const { classes: _c, numClasses: _n, label: _k, ...stats } = c.data!.stats ?? {};
      return JSON.stringify({ options, stats });
    };
    cfgs.forEach((c, i) => {
      if (prep(c) !== prep(cfgs[0]!))
        throw new UserError(
          `--per-class: run ${runs[i]} preprocesses its data differently from ${runs[0]} (data options or fitted standardization); train every class's run with the same data options (tables: data.standardize=false)`,
        );
    });
  }
  return cfgs;
}

/** The labelled dataset of a per-class classification: --data read with the first run's data options. */
function perClassData(first: DatasetConfig, data: string): DatasetConfig {
  const { path: _p, ...options } = first.options;
  if (/\.csv(\.gz)?$/i.test(data) || data.includes('/'))
    return {
      name: 'csv',
      options: { ...options, path: path.resolve(data) },
      ...(first.stats ? { stats: first.stats } : {}),
    };
  return { name: data, options };
}

/** Classify the test split of the run(s)' dataset by Bayes' rule, with calibrated rejection. */
export async function classifyRuns(runs: string[], opts: ClassifyOptions = {}): Promise<ClassifyReport> {
  const log = opts.log ?? stderrLog;
  const perClass = opts.perClass ?? false;
  const cfgs = checkRuns(runs, perClass);
  if (opts.data !== undefined && !perClass) throw new UserError('--data applies to --per-class runs');
  const data = opts.data !== undefined ? perClassData(cfgs[0]!.data!, opts.data) : cfgs[0]!.data!;
  // a shipped pretrained model's folder is not written into: its report goes to ./classify
  const home = runs[0]!.startsWith(PRETRAINED_PREFIX) ? '.' : runs[0]!;
  const out = path.resolve(opts.out ?? path.join(home, 'classify'));
  const rate = opts.rejectRate ?? 0.05;
  calibrateThreshold([0], rate); // check the rate before loading anything
  const bs = opts.batchSize ?? 256;
  await useBackend(opts.backend);
  const ds = loadDataset(data);
  if (!ds.train.y || !ds.test.y) throw new UserError(`dataset '${data.name}' has no labels to classify`);
  const models: GenerativeModel[] = [];
  try {
    for (const r of runs) models.push(loadCheckpoint(r, { useEma: opts.useEma ?? true }).model);
    const scorer = perClass ? perClassScorer(models, opts.iw) : conditionalScorer(models[0]!, opts.iw);
    const K = scorer.numClasses;
    if (perClass && (ds.spec.numClasses ?? 0) !== K)
      throw new UserError(`--per-class: ${K} runs for a dataset with ${ds.spec.numClasses ?? 0} classes`);
    const prior = logPrior(ds.train.y, K);
    const test = splitInputs(ds, 'test', opts.maxN, bs);
    const ood = opts.ood ? oodInputs(opts.ood, data, ds, opts.maxN, bs) : null;
    const t0 = performance.now();
    await scorer.prepare(opts.seed ?? 0);
    const bar = new Progress(opts.progress ?? 'auto');
    const passes = K * (Math.ceil(test.n / bs) + (ood ? Math.ceil(ood.inputs.n / bs) : 0));
    bar.start(passes, `classify (${K} classes x batches)`);
    let base = 0;
    const step = (i: number) => bar.update(base + i, '');
    const sc = { batchSize: bs, seed: opts.seed ?? 0, onStep: step };
    const ll = await classLogLik(scorer, test, {
      ...sc,
      ...(ds.logDet ? { logDet: ds.logDet.bind(ds) } : {}),
    });
    base += K * Math.ceil(test.n / bs);
    const oodLl = ood
      ? await classLogLik(scorer, ood.inputs, { ...sc, ...(ood.logDet ? { logDet: ood.logDet } : {}) })
      : null;
    bar.stop();
    const seconds = (performance.now() - t0) / 1000;
    const post = posterior(ll, prior);
    const y = test.y!;
    const all = accuracyLogLoss(post, y);
    const { calib, evalIdx } = calibrationSplit(post.n, opts.calibFraction ?? 0.5, opts.seed ?? 0);
    const tau = calibrateThreshold(
      Array.from(calib, (i) => post.logPx[i]!),
      rate,
    );
    const pred = predictions(post);
    const evalPx = Array.from(evalIdx, (i) => post.logPx[i]!);
    const correct = Array.from(evalIdx, (i) => pred[i] === y[i]);
    const conf = Array.from(evalIdx, (i) => Math.exp(post.logPost[i * K + pred[i]!]!));
    const accepted = evalIdx.filter((i) => post.logPx[i]! >= tau);
    const oodPx = oodLl ? posterior(oodLl, prior).logPx : null;
    const evaluation = {
      n: evalIdx.length,
      rejected: 1 - accepted.length / evalIdx.length,
      accuracyAccepted: accepted.length ? accuracyLogLoss(post, y, accepted).accuracy : NaN,
      accuracyAll: accuracyLogLoss(post, y, evalIdx).accuracy,
    };
    const oodConf = oodLl
      ? (() => {
          const p = posterior(oodLl, prior);
          return Array.from(predictions(p), (c, i) => Math.exp(p.logPost[i * K + c]!));
        })()
      : undefined;
    const classes =
      (data.stats?.['classes'] as string[] | undefined) ?? Array.from({ length: K }, (_, c) => String(c));
    const report: ClassifyReport = {
      runs: runs.map((r) => path.resolve(r)),
      mode: perClass ? 'per-class' : 'conditional',
      estimate: scorer.label,
      classes,
      prior: Array.from(prior, Math.exp),
      test: { n: all.n, accuracy: all.accuracy, logLoss: all.logLoss },
      rejection: {
        targetRate: rate,
        threshold: tau,
        calibrationN: calib.length,
        evaluation,
        ...(oodPx
          ? {
              ood: {
                data: opts.ood!,
                n: oodPx.length,
                rejected: lowerCount(Float64Array.from(oodPx).sort(), tau) / oodPx.length,
              },
            }
          : {}),
      },
      coverage: coverageCurve(evalPx, correct, oodPx ?? undefined),
      coverageByConfidence: coverageCurve(conf, correct, oodConf),
      seconds,
      inputsPerSecond: (test.n + (ood?.inputs.n ?? 0)) / seconds,
      files: { report: path.join(out, 'report.json'), plot: path.join(out, 'coverage.png') },
    };
    fs.mkdirSync(out, { recursive: true });
    await savePlot(report.files.plot, coverageSpec(report));
    writeFileAtomic(report.files.report, JSON.stringify(report, null, 2) + '\n');
    log(`wrote ${report.files.report} and ${report.files.plot}`);
    return report;
  } finally {
    for (const m of models) m.dispose();
  }
}

function coverageSpec(r: ClassifyReport) {
  const line = (name: string, pts: CoveragePoint[], f: (p: CoveragePoint) => number | undefined) => ({
    name,
    x: pts.map((p) => p.coverage),
    y: pts.map((p) => f(p) ?? NaN),
  });
  const series = [
    line('accuracy, by p(x)', r.coverage, (p) => p.accuracy),
    line('accuracy, by max p(y|x)', r.coverageByConfidence, (p) => p.accuracy),
  ];
  if (r.rejection.ood) {
    const ood = path.basename(r.rejection.ood.data);
    series.push(line(`${ood} rejected, by p(x)`, r.coverage, (p) => p.oodRejected));
    series.push(line(`${ood} rejected, by max p(y|x)`, r.coverageByConfidence, (p) => p.oodRejected));
  }
  const spec = linePlotSpec(series, {
    title: `Bayes-rule classification (${r.mode}, ${r.estimate}): test accuracy ${(100 * r.test.accuracy).toFixed(2)}%`,
    xlabel: 'coverage (share of in-distribution test inputs accepted)',
    ylabel: 'accuracy / share rejected',
  });
  // the series names are long: let the legend show them whole
  const legend = (spec as { encoding?: { color?: { legend?: Record<string, unknown> } } }).encoding?.color
    ?.legend;
  if (legend) legend['labelLimit'] = 400;
  return spec;
}

/** The report as a short markdown table (what the command prints). */
export function formatClassify(r: ClassifyReport): string {
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const rows = [
    `| test inputs | ${r.test.n} |`,
    `| accuracy | ${pct(r.test.accuracy)} |`,
    `| log-loss (nats) | ${r.test.logLoss.toFixed(4)} |`,
    `| threshold log p(x) (target rejection ${pct(r.rejection.targetRate)}, ${r.rejection.calibrationN} calibration inputs) | ${r.rejection.threshold.toFixed(3)} |`,
    `| rejected of ${r.rejection.evaluation.n} held-out in-distribution inputs | ${pct(r.rejection.evaluation.rejected)} |`,
    `| accuracy on the accepted | ${pct(r.rejection.evaluation.accuracyAccepted)} (all: ${pct(r.rejection.evaluation.accuracyAll)}) |`,
  ];
  if (r.rejection.ood)
    rows.push(
      `| ${r.rejection.ood.data} inputs rejected (n=${r.rejection.ood.n}) | ${pct(r.rejection.ood.rejected)} |`,
    );
  rows.push(`| scoring | ${r.seconds.toFixed(1)} s, ${r.inputsPerSecond.toFixed(1)} inputs/s |`);
  const cov = r.coverage
    .filter((_, i) => i % 4 === 3)
    .map(
      (p) =>
        `| ${pct(p.coverage)} | ${pct(p.accuracy)} |${p.oodRejected !== undefined ? ` ${pct(p.oodRejected)} |` : ''}`,
    );
  const oodHead = r.rejection.ood ? ` ${r.rejection.ood.data} rejected |` : '';
  return [
    `classify (${r.mode}, ${r.estimate}), ${r.classes.length} classes`,
    '',
    '| | |',
    '|---|---|',
    ...rows,
    '',
    `| coverage | accuracy |${oodHead}`,
    `|---|---|${r.rejection.ood ? '---|' : ''}`,
    ...cov,
  ].join('\n');
}
