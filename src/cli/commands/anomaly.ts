// genmodels anomaly: flags -> api/anomaly.ts anomalyRun.
import { UserError } from '../../core/model.js';
import { anomalyRun, formatAnomaly } from '../../api/anomaly.js';
import { SCORE_METHODS, type ScoreMethod } from '../../apps/scores.js';
import { intArg, numArg, parse, printHelp, type Command } from '../args.js';

const help =
  () => `usage: genmodels anomaly <ckpt> [--data D] [--split test|train] [--ood D2] [--out scores.csv]
                         [--score nll|ratio|complexity] [--background <run>] [--iw K]
                         [--labels COLUMN] [--anomaly-class k[,k...]] [--normal-class k[,k...]]
                         [--calibrate] [--fpr 0.05] [--threshold T] [--roc F.png] [--hist F.png]
                         [--boot 1000] [--limit N] [--batch-size N] [--seed N] [--no-ema] [--json]

  Scores each input with the model by its taxonomy, higher = more anomalous: exact density: -log p(x);
  bound: -ELBO (-IWAE with --iw K); estimate (an RBM): -log p(x) with log Z by AIS; all in nats of the
  original data (the data transform's log-det included). Unnormalized (deep EBM): the energy. No density:
  the discriminator's -logit (GANs) or a reconstruction error when the model offers one. A conditional model
  scores the marginal -log (1/C) sum_y p(x|y).
  --data D      a dataset (split --split, default test; other image sets go through the model's image
                transform) or a CSV file with the training table's columns (standardized with its statistics).
                Default: the checkpoint's dataset.
  --score       nll (default); ratio: -log p(x) + log p_bg(x) against --background <run> (Ren et al. 2019);
                complexity: -log p(x) - L(x) ln 2, L(x) the PNG size of the 8-bit image in bits (Serra et al.
                2020); every score in nats.
  Writes id,score,flag (flag 1 = above the threshold; empty without one) to --out or stdout; the summary
  goes to stderr (stdout with --out).
  Labels (then AUROC and AUPRC with 95% stratified bootstrap intervals, a ROC curve and score histograms:
  --roc / --hist, default <out>-roc.png and <out>-hist.png):
  --anomaly-class k     rows of these classes are the anomalies (class indices, or names of CSV labels)
  --normal-class k      rows of these classes are normal, all others anomalies
  --ood D2              the rows of D2 (same split) are the anomalies, those of --data normal
  --labels COLUMN       a CSV's column of 0/1 anomaly labels (or of classes, with --anomaly-class)
  --calibrate           pick the threshold flagging --fpr (default 0.05) of the normal inputs (all inputs
                        when no labels are given), store it in <run>/anomaly.json and flag with it; later
                        runs with the same --score flag with the stored threshold.`;

function list(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  const parts = String(v)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0) throw new UserError(`expected a class list, got '${String(v)}'`);
  return parts;
}

async function run(argv: string[]): Promise<number> {
  const { values: o, positionals } = parse(
    argv,
    {
      data: { type: 'string' },
      split: { type: 'string' },
      ood: { type: 'string' },
      out: { type: 'string' },
      score: { type: 'string' },
      background: { type: 'string' },
      iw: { type: 'string' },
      labels: { type: 'string' },
      'anomaly-class': { type: 'string' },
      'normal-class': { type: 'string' },
      calibrate: { type: 'boolean' },
      fpr: { type: 'string' },
      threshold: { type: 'string' },
      roc: { type: 'string' },
      hist: { type: 'string' },
      boot: { type: 'string' },
      limit: { type: 'string' },
      'batch-size': { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
      'no-ema': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    'anomaly',
  );
  if (o.help) return printHelp(command);
  if (positionals.length !== 1) throw new UserError('anomaly needs one checkpoint directory');
  const split = (o.split ?? 'test') as string;
  if (split !== 'test' && split !== 'train')
    throw new UserError(`--split must be test or train, got '${split}'`);
  const score = (o.score ?? 'nll') as string;
  if (!(SCORE_METHODS as readonly string[]).includes(score))
    throw new UserError(`--score must be one of ${SCORE_METHODS.join(', ')}, got '${score}'`);
  const str = (v: unknown) => (v === undefined ? undefined : String(v));
  const opt = <T>(k: string, v: T | undefined) => (v === undefined ? {} : { [k]: v });
  const r = await anomalyRun(positionals[0]!, {
    ...opt('data', str(o.data)),
    split,
    ...opt('ood', str(o.ood)),
    ...opt('out', str(o.out)),
    score: score as ScoreMethod,
    ...opt('background', str(o.background)),
    ...opt('iw', intArg(o.iw, '--iw', 1)),
    ...opt('labels', str(o.labels)),
    ...opt('anomalyClasses', list(o['anomaly-class'])),
    ...opt('normalClasses', list(o['normal-class'])),
    calibrate: o.calibrate === true,
    ...opt('fpr', numArg(o.fpr, '--fpr')),
    ...opt('threshold', numArg(o.threshold, '--threshold')),
    ...opt('roc', str(o.roc)),
    ...opt('hist', str(o.hist)),
    ...opt('boot', intArg(o.boot, '--boot', 0)),
    ...opt('maxN', intArg(o.limit, '--limit', 1)),
    ...opt('batchSize', intArg(o['batch-size'], '--batch-size', 1)),
    ...opt('seed', intArg(o.seed, '--seed', 0)),
    ...opt('backend', str(o.backend)),
    useEma: !o['no-ema'],
  });
  const summary = o.json
    ? JSON.stringify({ ...r, report: r.report && { ...r.report, roc: undefined } })
    : formatAnomaly(r);
  (o.out !== undefined ? process.stdout : process.stderr).write(summary + '\n');
  return 0;
}

export const command: Command = {
  name: 'anomaly',
  usage: 'anomaly <ckpt>',
  summary: 'anomaly scores (likelihood, ratio, complexity), AUROC, calibrated flags',
  help,
  run,
};
