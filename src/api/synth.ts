// genmodels synth: synthetic rows from a model trained on a table (a CSV or a scikit-learn table), in the
// original units and categories, with labels for a conditional model, as a CSV; and their fidelity report
// (src/apps/synth.ts) against the real table the checkpoint records, as JSON and markdown.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/model.js';
import { deriveSeed } from '../data/transforms.js';
import { loadDataset } from '../data/index.js';
import { dims } from '../data/spec.js';
import { csvCell, fitStandardization, tableDecoder, type ColumnSchema } from '../data/tables.js';
import { writeFileAtomic } from '../io/atomic.js';
import { loadCheckpoint, readCheckpointConfig } from '../train/checkpoint.js';
import { NonFiniteSampleError, countNonFinite } from '../train/loop.js';
import { Progress } from '../train/progress.js';
import { fidelity, formatFidelity, synthLabels, type FidelityReport, type LabelMode } from '../apps/synth.js';
import { stderrLog, useBackend, type Log } from './common.js';
import { LIMITS, outputFormat } from './render.js';
import { DEFAULT_SAMPLE_BATCH } from './sample.js';

export interface SynthOptions {
  n: number;
  /** the rows' CSV file */
  out: string;
  /** conditional models: labels cycling over the classes, or drawn from the training frequencies */
  labels?: LabelMode;
  seed?: number;
  temperature?: number;
  batchSize?: number;
  /** where the fidelity JSON goes (default <out without .csv>.fidelity.json); false: no report */
  report?: string | false;
  backend?: string;
  useEma?: boolean;
  log?: Log;
}

export interface SynthResult {
  n: number;
  out: string;
  report?: FidelityReport;
  reportFile?: string;
  markdown?: string;
  seconds: number;
}

/** Sample n rows from a table model into a CSV, then score them against the real table. */
export async function synthToFile(run: string, opts: SynthOptions): Promise<SynthResult> {
  const log = opts.log ?? stderrLog;
  const { config } = readCheckpointConfig(run);
  const data = config.data;
  if (
    config.spec.kind !== 'vector' ||
    !data ||
    data.options['image'] === true ||
    !/^(csv|digits|breast-cancer)$/.test(data.name)
  )
    throw new UserError(
      `${run}: synth needs a model trained on a table (a CSV file, digits or breast-cancer); this one models ${config.spec.kind} data${data ? ` '${data.name}'` : ''}`,
    );
  if (!Number.isInteger(opts.n) || opts.n < 1) throw new UserError(`--n must be a positive integer`);
  if (opts.n > LIMITS.csvRows)
    throw new UserError(`--n ${opts.n}: one call writes at most ${LIMITS.csvRows} CSV rows`);
  if (outputFormat(opts.out) !== 'csv')
    throw new UserError(`--out ${opts.out}: synthetic rows go to a .csv file`);
  const mode = opts.labels ?? 'train';
  if (mode !== 'balanced' && mode !== 'train')
    throw new UserError(`--labels must be balanced or train, got '${String(mode)}'`);
  const d = dims(config.spec);
  await useBackend(opts.backend);
  const ds = loadDataset(data); // the real table: a CSV whose columns changed since training is refused here
  // a run trained before schemas were stored: its table's columns, all numeric
  const stats = ds.describe().stats ?? {};
  const schema = (data.stats?.['schema'] ?? stats['schema']) as ColumnSchema[];
  const decode = tableDecoder({ ...data, stats: { ...data.stats, schema } }, d); // checks it against the model
  const ck = loadCheckpoint(run, { useEma: opts.useEma ?? true });
  const model = ck.model;
  const conditional = model.taxonomy.conditional;
  const K = config.spec.numClasses ?? 0;
  const seed = opts.seed ?? 0;
  const y = conditional ? synthLabels(opts.n, mode, K, ds.train.y!, seed) : undefined;
  const classes = stats['classes'] as string[] | undefined;
  const labelName = (stats['label'] as string | undefined) ?? 'label';
  const header = [...schema.map((c) => c.name), ...(y ? [labelName] : [])];
  const x = new Float32Array(opts.n * d);
  const t0 = performance.now();
  const bar = new Progress('auto');
  bar.start(opts.n, `synth ${opts.n} rows`);
  try {
    const bs = opts.batchSize ?? DEFAULT_SAMPLE_BATCH;
    if (!Number.isInteger(bs) || bs < 1) throw new UserError(`--batch-size must be a positive integer`);
    for (let off = 0, b = 0; off < opts.n; off += bs, b++) {
      const count = Math.min(bs, opts.n - off);
      const t = tf.tidy(() =>
        model.sample(count, {
          seed: b === 0 ? seed : deriveSeed(seed, b),
          ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
          ...(y ? { label: Array.from(y.subarray(off, off + count)) } : {}),
        }),
      );
      const v = (await t.data()) as Float32Array;
      t.dispose();
      if (countNonFinite(v) > 0)
        throw new NonFiniteSampleError(
          `synthetic rows ${off}..${off + count - 1} hold NaN/Inf; nothing written (a lower --temperature may help)`,
        );
      x.set(v, off * d);
      bar.update(off + count, '');
    }
  } finally {
    bar.stop();
    model.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cells = decode(x, opts.n);
  const lines = [header.map(csvCell).join(',')];
  cells.forEach((r, i) => {
    if (y) r.push(classes ? classes[y[i]!]! : String(y[i]));
    lines.push(r.map(csvCell).join(','));
  });
  writeFileAtomic(opts.out, lines.join('\n') + '\n');
  log(`wrote ${opts.n} synthetic rows to ${opts.out} (${seconds.toFixed(1)} s)`);
  if (opts.report === false) return { n: opts.n, out: opts.out, seconds };
  // fidelity in original units: the model's rows de-standardized (one-hot columns as sampled)
  const display = ds.toDisplay(x);
  const st = data.stats ?? {};
  const norm =
    Array.isArray(st['mean']) && Array.isArray(st['std'])
      ? { mean: st['mean'] as number[], std: st['std'] as number[] }
      : fitStandardization(ds.train, d);
  const report = fidelity(
    { n: opts.n, x: display, ...(y ? { y } : {}) },
    { n: ds.train.n, x: ds.train.x, ...(ds.train.y ? { y: ds.train.y } : {}) },
    { n: ds.test.n, x: ds.test.x, ...(ds.test.y ? { y: ds.test.y } : {}) },
    schema,
    norm,
    K,
  );
  const reportFile = opts.report ?? opts.out.replace(/\.csv$/i, '') + '.fidelity.json';
  const body = {
    run: path.resolve(run),
    model: config.model.kind,
    data: data.name,
    labels: y ? mode : null,
    seed,
    ...report,
  };
  fs.mkdirSync(path.dirname(path.resolve(reportFile)), { recursive: true });
  writeFileAtomic(reportFile, JSON.stringify(body, null, 2) + '\n');
  const markdown = formatFidelity(report, `${config.model.kind} on ${data.name}`);
  return { n: opts.n, out: opts.out, report, reportFile, markdown, seconds };
}
