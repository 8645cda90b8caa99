// genmodels reproduce: flags -> api/reproduce.ts reproduce.
import { UserError } from '../../core/model.js';
import { formatEval } from '../../eval/evaluate.js';
import { listRecipes, readRecipe, reproduce } from '../../api/reproduce.js';
import { exitCodeFor } from '../../train/loop.js';
import { intArg, parse, printHelp, type Command } from '../args.js';

const help = () => `usage: genmodels reproduce <recipe> [--out DIR] [--epochs N] [--iw K] [--backend B]

  Trains a model with a recipe from recipes/ (or a recipe .json file), then evaluates it as the recipe says
  (e.g. IWAE-5000 test NLL), and writes DIR/result.json and DIR/result.md (a README results-table row).
  Re-running continues an unfinished run (--resume) and skips training when it is complete.
  --epochs and --iw override the recipe for a quick check (the row then says so).
  recipes: ${listRecipes().join(', ') || '(none)'}`;

async function run(argv: string[]): Promise<number> {
  const { values: o, positionals } = parse(
    argv,
    {
      out: { type: 'string' },
      epochs: { type: 'string' },
      iw: { type: 'string' },
      backend: { type: 'string' },
    },
    'reproduce',
  );
  if (o.help) return printHelp(command);
  if (positionals.length !== 1)
    throw new UserError(`reproduce needs one recipe (recipes: ${listRecipes().join(', ')})`);
  const recipe = readRecipe(positionals[0]!);
  const epochs = intArg(o.epochs, '--epochs', 1);
  const iw = intArg(o.iw, '--iw', 1);
  const res = await reproduce(recipe, {
    ...(o.out !== undefined ? { out: String(o.out) } : {}),
    ...(epochs !== undefined ? { epochs } : {}),
    ...(iw !== undefined ? { iw } : {}),
    ...(o.backend !== undefined ? { backend: String(o.backend) } : {}),
    handleSigint: true,
  });
  if (res.interrupted) return exitCodeFor(res);
  process.stdout.write(formatEval(res.eval) + '\n');
  process.stdout.write(`${res.table.header}\n${res.table.row}\n`);
  return 0;
}

export const command: Command = {
  name: 'reproduce',
  usage: 'reproduce <recipe>',
  summary: 'train + evaluate a published-result recipe (recipes/), print a results row',
  help,
  run,
};
