// genmodels synth: flags -> api/synth.ts synthToFile.
import { UserError } from '../../core/model.js';
import { synthToFile } from '../../api/synth.js';
import type { LabelMode } from '../../apps/synth.js';
import { intArg, numArg, parse, printHelp, type Command } from '../args.js';

const help = () => `usage: genmodels synth <run> --n N --out rows.csv [options]

  Synthetic rows from a model trained on a table (a CSV file, or the digits / breast-cancer tables): in the
  original units (the checkpoint's standardization undone), categorical columns as their original strings,
  and, from a class-conditional model, a label column (the training label names).
  Then a fidelity report against the real table the run was trained on (its CSV must still have the same
  columns), printed as markdown and written as JSON:
    column shapes            per column 1 - KS statistic (numeric) or 1 - total variation (categorical)
    correlation similarity   1 - mean over column pairs of |r_real - r_synth| / 2 (Pearson r)
    TSTR                     accuracy on the real test split of a softmax regression trained on the synthetic
                             rows, against the same classifier trained on the real training rows
    DCR                      distance of each synthetic row to its closest training row against the same for
                             held-out real rows (privacy: a ratio well below 1 means copied records)

  --n N            rows (required)
  --out FILE.csv   the rows (required)
  --labels L       conditional models: balanced (cycling over the classes) | train (drawn from the training
                   label frequencies; default)
  --report FILE    the fidelity JSON (default <out>.fidelity.json); --no-report: rows only
  --seed N         (default 0)
  --temperature T  scales the latent noise (flows, VAEs)
  --batch-size N   rows per model call (default 256)
  --backend B      torch | wasm | cpu`;

async function run(argv: string[]): Promise<number> {
  const { values: o, positionals } = parse(
    argv,
    {
      n: { type: 'string' },
      out: { type: 'string' },
      labels: { type: 'string' },
      report: { type: 'string' },
      'no-report': { type: 'boolean' },
      seed: { type: 'string' },
      temperature: { type: 'string' },
      'batch-size': { type: 'string' },
      backend: { type: 'string' },
    },
    'synth',
  );
  if (o.help) return printHelp(command);
  if (positionals.length !== 1)
    throw new UserError('synth needs one run directory (see genmodels synth --help)');
  const n = intArg(o.n, '--n', 1);
  if (n === undefined) throw new UserError('synth needs --n N');
  if (o.out === undefined) throw new UserError('synth needs --out rows.csv');
  const temperature = numArg(o.temperature, '--temperature');
  const seed = intArg(o.seed, '--seed', 0);
  const bs = intArg(o['batch-size'], '--batch-size', 1);
  const r = await synthToFile(positionals[0]!, {
    n,
    out: String(o.out),
    ...(o.labels !== undefined ? { labels: String(o.labels) as LabelMode } : {}),
    ...(o['no-report']
      ? { report: false as const }
      : o.report !== undefined
        ? { report: String(o.report) }
        : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(bs !== undefined ? { batchSize: bs } : {}),
    ...(o.backend !== undefined ? { backend: String(o.backend) } : {}),
  });
  if (r.markdown) process.stdout.write(r.markdown + '\n');
  if (r.reportFile) process.stderr.write(`fidelity report: ${r.reportFile}\n`);
  return 0;
}

export const command: Command = {
  name: 'synth',
  usage: 'synth <run> --n N --out f.csv',
  summary: 'synthetic table rows (with labels) and their fidelity report',
  help,
  run,
};
