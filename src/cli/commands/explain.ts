// genmodels explain: families/autoregressive/explain.ts explainTable.
import { UserError } from '../../core/model.js';
import { explainTable } from '../../families/autoregressive/explain.js';
import { useBackend } from '../../api/common.js';
import { intArg, parse, printHelp, type Command } from '../args.js';

const help = () => `usage: genmodels explain [--pixels 784]

  Parameters of a distribution over n binary pixels: full joint table (2^n - 1), independent pixels (n),
  a Markov chain (2n - 1), and the autoregressive models as built (default configs, on a square image when
  n is a square), counted from their variables; 'free' = weights that the masks leave trainable.`;

async function run(argv: string[]): Promise<number> {
  const { values: o } = parse(argv, { pixels: { type: 'string' } }, 'explain');
  if (o.help) return printHelp(command);
  const pixels = intArg(o.pixels, '--pixels', 1) ?? 784;
  if (pixels > 4096) throw new UserError(`--pixels must be at most 4096 (got ${pixels})`);
  await useBackend(undefined);
  process.stdout.write(explainTable(pixels) + '\n');
  return 0;
}

export const command: Command = {
  name: 'explain',
  usage: 'explain [--pixels n]',
  summary: 'parameter counts of p(x) factorizations for n binary pixels (full joint .. PixelCNN)',
  help,
  run,
};
