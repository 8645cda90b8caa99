// genmodels sample: flags -> api/sample.ts sampleToFile.
import { UserError } from '../../core/model.js';
import { LIMITS } from '../../api/render.js';
import { DEFAULT_SAMPLE_BATCH, sampleToFile } from '../../api/sample.js';
import { TRAJECTORY_FRAMES } from '../../api/trajectory.js';
import {
  ITERATIVE_FLAGS,
  ITERATIVE_HELP,
  intArg,
  iterativeArgs,
  numArg,
  parse,
  printHelp,
  type Command,
} from '../args.js';

const help =
  () => `usage: genmodels sample <ckpt> [--n 64] [--label k] [--seed N] [--temperature T] [--out samples.png]
                        [--batch-size N] [--backend B] [--sampler S] [--steps N] [--eta E] [--guidance W]
                        [--save-trajectory FILE.png [--trajectory-frames F]]

  <ckpt> is a run directory (runs/NAME) or its checkpoint/ folder.
  The format follows --out's extension: .png gives a grid of images (image data) or a scatter (2-D data),
  .csv one row of values per sample (any data). Default: samples.png for images and 2-D data, CSV on stdout
  for other tables. Table rows are in the original units (the standardization stored in the checkpoint).
  Samples are drawn --batch-size at a time (default ${DEFAULT_SAMPLE_BATCH}) and written batch by batch; one call
  writes at most ${LIMITS.gridImages} images to a PNG grid, ${LIMITS.scatterPoints} points to a scatter PNG and
  ${LIMITS.csvRows} rows to a CSV. Batch b > 0 is drawn with a seed derived from (--seed, b).
  --temperature T scales the latent noise (flows: z ~ N(0, T^2 I)). NaN/Inf samples are reported (exit 1)
  and no file is written.
  Iterative samplers (diffusion, energy models) show a progress bar with ETA and take:
${ITERATIVE_HELP}
  --save-trajectory FILE.png
                  also draw the chain: the state x_t of the first batch's chains at F evenly spaced steps
                  (start and end included; --trajectory-frames F, default ${TRAJECTORY_FRAMES.default}); images: one row per
                  chain (up to 8), 2-D data: one scatter per step`;

async function run(argv: string[]): Promise<number> {
  const { values: o, positionals } = parse(
    argv,
    {
      n: { type: 'string' },
      label: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      temperature: { type: 'string' },
      'batch-size': { type: 'string' },
      backend: { type: 'string' },
      ...ITERATIVE_FLAGS,
      'save-trajectory': { type: 'string' },
      'trajectory-frames': { type: 'string' },
    },
    'sample',
  );
  if (o.help) return printHelp(command);
  if (positionals.length !== 1) throw new UserError('sample needs one checkpoint directory');
  const label = intArg(o.label, '--label', 0);
  const temperature = numArg(o.temperature, '--temperature');
  const frames = intArg(o['trajectory-frames'], '--trajectory-frames', 2);
  if (frames !== undefined && o['save-trajectory'] === undefined)
    throw new UserError('--trajectory-frames goes with --save-trajectory FILE.png');
  const iterative = iterativeArgs(o);
  await sampleToFile(positionals[0]!, {
    n: intArg(o.n, '--n', 1) ?? 64,
    seed: intArg(o.seed, '--seed', 0) ?? 0,
    batchSize: intArg(o['batch-size'], '--batch-size', 1) ?? DEFAULT_SAMPLE_BATCH,
    ...(label !== undefined ? { label } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    iterative,
    ...(o.out !== undefined ? { out: String(o.out) } : {}),
    ...(o.backend !== undefined ? { backend: String(o.backend) } : {}),
    ...(o['save-trajectory'] !== undefined
      ? { trajectory: { out: String(o['save-trajectory']), ...(frames !== undefined ? { frames } : {}) } }
      : {}),
  });
  return 0;
}

export const command: Command = {
  name: 'sample',
  usage: 'sample <ckpt>',
  summary: 'draw samples from a checkpoint into a PNG or CSV',
  help,
  run,
};
