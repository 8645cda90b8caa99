// genmodels classify: flags -> api/classify.ts classifyRuns.
import { UserError } from '../../core/model.js';
import { classifyRuns, formatClassify } from '../../api/classify.js';
import { intArg, numArg, parse, printHelp, type Command } from '../args.js';

const help = () => `usage: genmodels classify <run> [options]
       genmodels classify --per-class <run-class-0> <run-class-1> ... [options]

  Bayes-rule classification with a density model: p(y | x) = p(x | y) p(y) / p(x), p(y) the training label
  frequencies (add-one smoothed), log p(x | y) the model's likelihood (exact, or its bound / estimate).
  <run> is a class-conditional run (taxonomy.conditional; e.g. trained with --set conditional=true); with
  --per-class, one unconditional run per class, in class order, over the same labelled dataset.
  Reports accuracy and log-loss on the test split of the run's dataset. Rejection: inputs with
  log p(x) = logsumexp_y [log p(x|y) + log p(y)] below a threshold are refused; the threshold is calibrated
  on a seeded share of the test split (--calib-fraction) for the target rejection rate and measured on the
  rest, with an accuracy-coverage curve (coverage.png) and report.json in --out.
  Scoring costs one model pass per class per batch (a progress bar with ETA shows them).

  --data D             --per-class: the labelled dataset (name or .csv; default the first run's), read with the
                       first run's data options; the runs must preprocess data alike
  --reject-rate R      target share of in-distribution inputs rejected (default 0.05)
  --calib-fraction F   share of the test split that calibrates the threshold (default 0.5)
  --ood D              inputs that should be rejected: a dataset name of the same shape (e.g. fashion-mnist
                       for an MNIST model, read with the run's data options) or, for tables, a CSV file with
                       the training table's columns; reports the share rejected at each coverage
  --max-n N            at most N test (and N out-of-distribution) inputs
  --batch-size N       (default 256)
  --iw K               the sample count of a bound / estimate that takes one (e.g. IWAE-K for a VAE)
  --seed N             seed of the calibration split and of stochastic bounds (default 0)
  --out DIR            where report.json and coverage.png go (default <run>/classify)
  --backend B          torch | wasm | cpu`;

async function run(argv: string[]): Promise<number> {
  const { values: o, positionals } = parse(
    argv,
    {
      'per-class': { type: 'boolean' },
      'reject-rate': { type: 'string' },
      'calib-fraction': { type: 'string' },
      ood: { type: 'string' },
      data: { type: 'string' },
      'max-n': { type: 'string' },
      'batch-size': { type: 'string' },
      iw: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      backend: { type: 'string' },
    },
    'classify',
  );
  if (o.help) return printHelp(command);
  if (positionals.length === 0)
    throw new UserError('classify needs a run directory (see genmodels classify --help)');
  const num = (k: string) => numArg(o[k], `--${k}`);
  const int = (k: string, min: number) => intArg(o[k], `--${k}`, min);
  const report = await classifyRuns(positionals, {
    perClass: o['per-class'] === true,
    ...(num('reject-rate') !== undefined ? { rejectRate: num('reject-rate')! } : {}),
    ...(num('calib-fraction') !== undefined ? { calibFraction: num('calib-fraction')! } : {}),
    ...(o.ood !== undefined ? { ood: String(o.ood) } : {}),
    ...(o.data !== undefined ? { data: String(o.data) } : {}),
    ...(int('max-n', 1) !== undefined ? { maxN: int('max-n', 1)! } : {}),
    ...(int('batch-size', 1) !== undefined ? { batchSize: int('batch-size', 1)! } : {}),
    ...(int('iw', 1) !== undefined ? { iw: int('iw', 1)! } : {}),
    ...(int('seed', 0) !== undefined ? { seed: int('seed', 0)! } : {}),
    ...(o.out !== undefined ? { out: String(o.out) } : {}),
    ...(o.backend !== undefined ? { backend: String(o.backend) } : {}),
  });
  process.stdout.write(formatClassify(report) + '\n');
  return 0;
}

export const command: Command = {
  name: 'classify',
  usage: 'classify <run> [--per-class]',
  summary: 'Bayes-rule classification with rejection from a conditional density model',
  help,
  run,
};
