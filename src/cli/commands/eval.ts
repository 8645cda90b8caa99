// genmodels eval: flags -> api/evaluate.ts evalCheckpoint (and api/results.ts for --row).
import { UserError } from '../../core/model.js';
import { formatEval } from '../../eval/evaluate.js';
import { evalCheckpoint } from '../../api/evaluate.js';
import { resultTable } from '../../api/results.js';
import {
  ITERATIVE_FLAGS,
  ITERATIVE_HELP,
  intArg,
  iterativeArgs,
  parse,
  printHelp,
  type Command,
} from '../args.js';

const help =
  () => `usage: genmodels eval <ckpt> [--iw K] [--split test|train] [--limit N] [--batch-size N] [--seed N]
                      [--samples N [--sampler S] [--steps N] [--eta E] [--guidance W]] [--no-ema]
                      [--json] [--row]

  exact-density models: NLL; bound models: -ELBO, and -IWAE with K importance samples (--iw K).
  Reported in nats per example and bits/dim.
  Models without a likelihood (GANs), and any model with --samples N: sample metrics from N samples:
  MNIST / Fashion-MNIST: FID and precision/recall (k=3) on the features of the project's classifier
  (assets/classifiers/), beside the floor (real train vs real test images); conditional models: the share
  of samples classified as the label asked. 2-D mixtures: modes covered and high-quality fraction.
  Default N: 10000 images, 2500 2-D points, 5000 other vectors. The time spent sampling is reported
  (seconds per 1,000 samples). Iterative samplers (diffusion, energy models) take, for the samples:
${ITERATIVE_HELP}
  --no-ema evaluates the raw weights of a run trained with an EMA (default: the averaged weights).
  --row also prints the README results-table row (as genmodels reproduce writes it).`;

async function run(argv: string[]): Promise<number> {
  const { values: o, positionals } = parse(
    argv,
    {
      iw: { type: 'string' },
      split: { type: 'string' },
      limit: { type: 'string' },
      'batch-size': { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
      row: { type: 'boolean' },
      backend: { type: 'string' },
      samples: { type: 'string' },
      'no-ema': { type: 'boolean' },
      ...ITERATIVE_FLAGS,
    },
    'eval',
  );
  if (o.help) return printHelp(command);
  if (positionals.length !== 1) throw new UserError('eval needs one checkpoint directory');
  const split = (o.split ?? 'test') as string;
  if (split !== 'test' && split !== 'train')
    throw new UserError(`--split must be test or train, got '${split}'`);
  const iw = intArg(o.iw, '--iw', 1);
  const maxN = intArg(o.limit, '--limit', 1);
  const samples = intArg(o.samples, '--samples', 5);
  const iterative = iterativeArgs(o);
  if (Object.keys(iterative).length && samples === undefined)
    throw new UserError(
      `--${Object.keys(iterative)[0]} sets the sampler of the sample metrics: add --samples N`,
    );
  const ckpt = positionals[0]!;
  const {
    result: r,
    config,
    backend,
  } = await evalCheckpoint(ckpt, {
    split,
    iw,
    maxN,
    batchSize: intArg(o['batch-size'], '--batch-size', 1) ?? 256,
    seed: intArg(o.seed, '--seed', 0) ?? 0,
    ...(samples !== undefined ? { samples } : {}),
    ...(Object.keys(iterative).length ? { iterative } : {}),
    ...(o.backend !== undefined ? { backend: String(o.backend) } : {}),
    useEma: !o['no-ema'],
  });
  process.stdout.write((o.json ? JSON.stringify(r) : formatEval(r)) + '\n');
  if (o.row) {
    const t = resultTable(r, {
      model: config.model.kind,
      data: config.data?.name ?? 'n/a',
      state: config.state,
      backend,
      command: `genmodels eval ${argv.filter((a) => a !== '--row').join(' ')}`,
    });
    process.stdout.write(`${t.header}\n${t.row}\n`);
  }
  return 0;
}

export const command: Command = {
  name: 'eval',
  usage: 'eval <ckpt>',
  summary: 'test-set likelihood (exact NLL, or -ELBO / -IWAE bounds)',
  help,
  run,
};
