// genmodels encode: flags -> api/tokens.ts encodeToFile.
import { UserError } from '../../core/model.js';
import { encodeToFile } from '../../api/tokens.js';
import { intArg, parse, printHelp, type Command } from '../args.js';

const help =
  () => `usage: genmodels encode <ckpt> --out tokens.json|tokens.safetensors [--split test|train] [--limit N]
                        [--batch-size 256] [--figure f.png] [--figure-n 16] [--seed N] [--backend B]

  Encodes the images of a split of the checkpoint's dataset to the grids of their nearest codes (a VQ-VAE's
  tokens z_q(x), integers 0..K-1). JSON: {"format", "codes", "shape": [n, h, w], "tokens": n x h x w nested
  lists, "labels"}; .safetensors: I32 tensors 'tokens' [n, h, w] and 'labels' [n], metadata codes.
  Prints the codebook's usage on them (codes used, perplexity exp(H) of the code frequencies), the
  reconstruction MSE per pixel of E[x | z_q] and the mean -log p(x | z_q) in nats.
  --figure f.png also draws three rows of --figure-n images: test images, their reconstructions, and
  samples of the prior (codes drawn by the prior, then decoded).`;

async function run(argv: string[]): Promise<number> {
  const { values: o, positionals } = parse(
    argv,
    {
      out: { type: 'string' },
      split: { type: 'string' },
      limit: { type: 'string' },
      'batch-size': { type: 'string' },
      figure: { type: 'string' },
      'figure-n': { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
    },
    'encode',
  );
  if (o.help) return printHelp(command);
  if (positionals.length !== 1) throw new UserError('encode needs one checkpoint directory');
  if (o.out === undefined) throw new UserError('encode needs --out tokens.json or tokens.safetensors');
  const split = o.split ?? 'test';
  if (split !== 'test' && split !== 'train')
    throw new UserError(`--split must be test or train (got '${split}')`);
  const limit = intArg(o.limit, '--limit', 1);
  const batchSize = intArg(o['batch-size'], '--batch-size', 1);
  const figureN = intArg(o['figure-n'], '--figure-n', 1);
  const seed = intArg(o.seed, '--seed', 0);
  await encodeToFile(positionals[0]!, {
    out: String(o.out),
    split,
    ...(limit !== undefined ? { limit } : {}),
    ...(batchSize !== undefined ? { batchSize } : {}),
    ...(o.figure !== undefined ? { figure: String(o.figure) } : {}),
    ...(figureN !== undefined ? { figureN } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(o.backend !== undefined ? { backend: String(o.backend) } : {}),
  });
  return 0;
}

export const command: Command = {
  name: 'encode',
  usage: 'encode <ckpt>',
  summary: 'encode images to token grids (VQ-VAE codes), JSON or safetensors',
  help,
  run,
};
