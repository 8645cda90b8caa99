// genmodels interpolate: flags -> api/interpolate.ts interpolateToFile.
import { UserError } from '../../core/model.js';
import { interpolateToFile } from '../../api/interpolate.js';
import { LIMITS } from '../../api/render.js';
import { intArg, parse, printHelp, type Command } from '../args.js';

const help = () => `usage: genmodels interpolate <ckpt> --out f.png [--a 0 --b 1 --steps 10] [--batch-size 64]

  Encodes test images a and b, decodes points on the straight line between their latent codes
  (--steps points, 2..${LIMITS.interpolateSteps}, decoded --batch-size at a time). --out f.png: one row x_a, path, x_b;
  --out f.csv: one row of pixel values per image. Needs a latent-variable model.`;

async function run(argv: string[]): Promise<number> {
  const { values: o, positionals } = parse(
    argv,
    {
      a: { type: 'string' },
      b: { type: 'string' },
      steps: { type: 'string' },
      out: { type: 'string' },
      'batch-size': { type: 'string' },
      backend: { type: 'string' },
    },
    'interpolate',
  );
  if (o.help) return printHelp(command);
  if (positionals.length !== 1) throw new UserError('interpolate needs one checkpoint directory');
  if (o.out === undefined) throw new UserError('interpolate needs --out f.png');
  const batchSize = intArg(o['batch-size'], '--batch-size', 1);
  await interpolateToFile(positionals[0]!, {
    out: String(o.out),
    a: intArg(o.a, '--a', 0) ?? 0,
    b: intArg(o.b, '--b', 0) ?? 1,
    steps: intArg(o.steps, '--steps', 2) ?? 10,
    ...(batchSize !== undefined ? { batchSize } : {}),
    ...(o.backend !== undefined ? { backend: String(o.backend) } : {}),
  });
  return 0;
}

export const command: Command = {
  name: 'interpolate',
  usage: 'interpolate <ckpt>',
  summary: 'decode a latent path between two test images',
  help,
  run,
};
