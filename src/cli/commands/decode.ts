// genmodels decode: flags -> api/tokens.ts decodeToFile.
import { UserError } from '../../core/model.js';
import { decodeToFile } from '../../api/tokens.js';
import { intArg, parse, printHelp, type Command } from '../args.js';

const help =
  () => `usage: genmodels decode <ckpt> <tokens.json|tokens.safetensors> --out images.png|images.csv
                        [--batch-size 256] [--backend B]

  Decodes token grids (the formats 'genmodels encode' writes; integers 0..K-1 of the model's grid shape) to
  the decoder's mean images E[x | z_q]: a PNG grid, or one CSV row of pixel values per image.`;

async function run(argv: string[]): Promise<number> {
  const { values: o, positionals } = parse(
    argv,
    { out: { type: 'string' }, 'batch-size': { type: 'string' }, backend: { type: 'string' } },
    'decode',
  );
  if (o.help) return printHelp(command);
  if (positionals.length !== 2) throw new UserError('decode needs a checkpoint directory and a token file');
  if (o.out === undefined) throw new UserError('decode needs --out images.png or images.csv');
  const batchSize = intArg(o['batch-size'], '--batch-size', 1);
  await decodeToFile(positionals[0]!, positionals[1]!, {
    out: String(o.out),
    ...(batchSize !== undefined ? { batchSize } : {}),
    ...(o.backend !== undefined ? { backend: String(o.backend) } : {}),
  });
  return 0;
}

export const command: Command = {
  name: 'decode',
  usage: 'decode <ckpt> <tokens>',
  summary: 'decode token grids (VQ-VAE codes) to images',
  help,
  run,
};
