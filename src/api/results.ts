// The README results-table row of an evaluated run, one writer for `reproduce` (result.json, result.md) and
// `eval --row`: a likelihood row (NLL or the tightest bound, bits/dim, -ELBO) or, for a model judged by its
// samples, a sample row (FID with its floor or modes covered, precision / recall, label accuracy).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EvalResult } from '../eval/evaluate.js';
import type { CheckpointConfig } from '../train/checkpoint.js';

export interface ResultContext {
  model: string;
  data: string;
  /** from the checkpoint: epochs, steps, training wall time */
  state: CheckpointConfig['state'] & { elapsedSec?: number };
  backend: string;
  /** the command that reproduces it, e.g. `genmodels reproduce vae-mnist` */
  command: string;
  /** flags that overrode the recipe (the row then says "overridden: quick check"); 'iw' counts only for
   *  likelihood rows */
  overridden?: ('epochs' | 'iw')[];
  target?: { nats?: number; reference?: string };
  /** the same evaluation with other seeds (recipe eval.seeds): their spread goes into result.json */
  repeats?: EvalResult[];
}

export interface ResultTable {
  /** header line and separator line */
  header: string;
  row: string;
}

function wallTime(sec: number | undefined): string {
  const hours = (sec ?? 0) / 3600;
  return hours >= 1 ? `${hours.toFixed(2)} h` : `${(hours * 60).toFixed(1)} min`;
}

/** The table header and row for one evaluation (a sample row when it has sample metrics and no likelihood). */
export function resultTable(r: EvalResult, ctx: ResultContext): ResultTable {
  const over = ctx.overridden ?? [];
  const time = wallTime(ctx.state.elapsedSec);
  const f = (v: number | undefined, d: number) => (v === undefined ? 'n/a' : v.toFixed(d));
  if (r.samples && r.metrics.length === 0) {
    const s = r.samples;
    const quality =
      s.fid !== undefined
        ? `${f(s.fid, 2)} (floor ${f(s.fidFloor, 2)})`
        : s.modes
          ? `modes ${s.modes.covered}/${s.modes.modes}, high-quality ${(100 * s.modes.highQuality).toFixed(1)}%`
          : 'n/a';
    const quick = over.includes('epochs') ? ' (overridden: quick check)' : '';
    return {
      header:
        `| model | data | FID (n=${s.n}, own features) | precision / recall | label acc. | epochs | train wall time | backend | how |\n` +
        '|---|---|---|---|---|---|---|---|---|',
      row:
        `| ${ctx.model} | ${ctx.data} | ${quality} | ${f(s.precision, 3)} / ${f(s.recall, 3)} | ` +
        `${s.labelAccuracy !== undefined ? `${(100 * s.labelAccuracy).toFixed(1)}%` : '—'} | ${ctx.state.epoch} | ` +
        `${time} | ${ctx.backend} | \`${ctx.command}\`${quick} |`,
    };
  }
  const main =
    r.metrics.find((m) => m.name === 'nll') ?? r.metrics.find((m) => m.name === 'iwae') ?? r.metrics[0];
  const elbo = r.metrics.find((m) => m.name === 'elbo');
  const label = main ? (main.name === 'iwae' ? `IWAE-${main.k}` : main.name.toUpperCase()) : 'n/a';
  const quick = over.length > 0 ? ' (overridden: quick check)' : '';
  const t = ctx.target;
  return {
    header:
      '| model | data | test NLL nats | bits/dim | -ELBO nats | epochs | train wall time | backend | target | how |\n' +
      '|---|---|---|---|---|---|---|---|---|---|',
    row:
      `| ${ctx.model} | ${ctx.data} | ${main ? main.nats.toFixed(2) : 'n/a'} (${label}, ${r.split}) | ` +
      `${main ? main.bitsPerDim.toFixed(4) : 'n/a'} | ${elbo ? elbo.nats.toFixed(2) : 'n/a'} | ${ctx.state.epoch} | ` +
      `${time} | ${ctx.backend} | ` +
      `${t?.nats !== undefined ? `<= ${t.nats}` : ''}${t?.reference ? ` (${t.reference})` : ''} | ` +
      `\`${ctx.command}\`${quick} |`,
  };
}

/** What result.json holds. */
export interface ResultRecord {
  recipe: string;
  eval: EvalResult;
  epochs: number;
  steps: number;
  trainSec?: number;
  backend: string;
  row: string;
  /** per metric: its value under each evaluation seed (seed 0 first), their mean and standard deviation */
  seeds?: Record<string, { values: number[]; mean: number; sd: number; info?: Record<string, number>[] }>;
}

/** each metric of r and its repeats: values over the seeds, mean and sample standard deviation */
function seedSpread(r: EvalResult, repeats: EvalResult[]): NonNullable<ResultRecord['seeds']> {
  const out: NonNullable<ResultRecord['seeds']> = {};
  for (const m of r.metrics) {
    const all = [m, ...repeats.map((x) => x.metrics.find((y) => y.name === m.name))].filter(
      (x): x is NonNullable<typeof x> => x !== undefined,
    );
    const values = all.map((x) => x.nats);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1));
    const info = all.map((x) => x.info).filter((x): x is Record<string, number> => x !== undefined);
    out[m.name] = { values, mean, sd, ...(info.length > 0 ? { info } : {}) };
  }
  return out;
}

/** Write DIR/result.json and DIR/result.md (the row); returns the table. */
export function writeResult(outDir: string, name: string, r: EvalResult, ctx: ResultContext): ResultTable {
  const table = resultTable(r, ctx);
  const record: ResultRecord = {
    recipe: name,
    eval: r,
    epochs: ctx.state.epoch,
    steps: ctx.state.step,
    ...(ctx.state.elapsedSec !== undefined ? { trainSec: ctx.state.elapsedSec } : {}),
    backend: ctx.backend,
    row: table.row,
    ...(ctx.repeats && ctx.repeats.length > 0 ? { seeds: seedSpread(r, ctx.repeats) } : {}),
  };
  fs.writeFileSync(path.join(outDir, 'result.json'), JSON.stringify(record, null, 2) + '\n');
  fs.writeFileSync(path.join(outDir, 'result.md'), table.row + '\n');
  return table;
}
